"""The harness's unit tests. Every temporary file or directory they make,
in Python or in the scripts they run (TMPDIR), goes into one directory of
this run that is removed when the run ends, whether or not a test cleaned
up after itself: harness/selfcheck.py runs the tests some sixty times.

The scripts they run start 'python3' as the interpreter that runs the
tests, not through a version manager's shim (pyenv's costs 0.3 s a start,
and test_kut_keep alone starts it some two hundred times)."""

import atexit
import os
import shutil
import sys
import tempfile

os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")

_RUN_TMP = tempfile.mkdtemp(prefix="slotzap-unit-")
tempfile.tempdir = _RUN_TMP
os.environ["TMPDIR"] = _RUN_TMP
atexit.register(shutil.rmtree, _RUN_TMP, True)
