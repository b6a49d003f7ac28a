"""tests/debian-modules-test.sh's failure line: where the hung guest's
vCPU was, from vm.py's register dump, and nothing when there is none."""

import os
import subprocess
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(TOP, "tests", "debian-modules-test.sh")

DUMP = """=== sample 1 at 17:00:54

CPU#0
RIP=000000000040182e RFL=00000246 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=0
=== sample 2 at 17:00:55

CPU#0
RIP=000000000040182e RFL=00000246 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=0
"""


def cpus_at_timeout(path):
    """Run the script's cpus_at_timeout() alone on PATH."""
    return subprocess.run(
        ["bash", "-c", 'source <(sed -n "/^cpus_at_timeout()/,/^}/p" "$1"); cpus_at_timeout "$2"',
         "-", SCRIPT, path],
        env=dict(os.environ, TOP=TOP), capture_output=True, text=True, check=True).stdout


class CpusAtTimeout(unittest.TestCase):
    def test_a_dump_names_each_sample_and_the_nested_guest(self):
        with tempfile.NamedTemporaryFile("w", suffix=".txt") as f:
            f.write(DUMP)
            f.flush()
            got = cpus_at_timeout(f.name)
        self.assertTrue(got.startswith(", vCPUs at the hang: every vCPU in a nested guest"), got)
        self.assertIn("CPU#0 rip=40182e cpl=0; CPU#0 rip=40182e cpl=0", got)

    def test_no_dump_adds_nothing(self):
        with tempfile.TemporaryDirectory() as d:
            self.assertEqual(cpus_at_timeout(os.path.join(d, "cpus-at-timeout.txt")), "")
            self.assertEqual(cpus_at_timeout(d), "")
            empty = os.path.join(d, "empty.txt")
            open(empty, "w").close()
            self.assertEqual(cpus_at_timeout(empty), "")


if __name__ == "__main__":
    unittest.main()
