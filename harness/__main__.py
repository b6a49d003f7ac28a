"""python3 -m harness JOB [ARGS...]: see harness/cli.py."""
import sys

from harness.cli import main

sys.exit(main())
