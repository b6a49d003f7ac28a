"""The harness's unit tests. Every temporary file or directory they make,
in Python or in the scripts they run (TMPDIR), goes into one directory of
this run that is removed when the run ends, whether or not a test cleaned
up after itself: harness/selfcheck.py runs the tests some sixty times."""

import atexit
import os
import shutil
import tempfile

_RUN_TMP = tempfile.mkdtemp(prefix="slotzap-unit-")
tempfile.tempdir = _RUN_TMP
os.environ["TMPDIR"] = _RUN_TMP
atexit.register(shutil.rmtree, _RUN_TMP, True)
