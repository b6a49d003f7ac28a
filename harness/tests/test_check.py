"""scripts/check.sh's stages, run on a tree whose every step is a stub:
every stage is recorded and counted, the verdict fails closed when one
fails, and a stage that needs an earlier one's build is not run without it."""

import os
import shutil
import subprocess
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Every command check.sh runs, by path; each appends its name to calls.log
# and, for a stage, writes the results file check.sh expects of it.
STUBS = {
    # STUB_EDIT_CHECK: check.sh is edited in place (same inode) while it runs
    "setup/deps.sh": '[ -z "${STUB_EDIT_CHECK:-}" ] || { c=$(dirname "$0")/../scripts/check.sh; '
                     '{ printf "#%.0s" $(seq 300); echo; cat "$c"; } > "$c.tmp"; cat "$c.tmp" > "$c"; }',
    "setup/source.sh": "", "setup/build-selftests.sh": "",
    "setup/bochs-deps.sh": "",
    "setup/build-kernel.sh": 'case "$1" in *obj-debug) exit "${STUB_DEBUG_RC:-0}";; esac',
    "scripts/vm.py": "",
    "scripts/matrix.py": 'case "$*" in *--name\\ debug*) r=debug;; *) r=matrix;; esac; res "$r"',
    "scripts/qemu-guests.sh": "res qemu", "scripts/kut.sh": "res kut",
    "scripts/intel-matrix.py": "res intel",
    "scripts/debian-modules.sh": "",
    "tests/debian-dkms-test.sh": 'res "$([ "$1" = install ] && echo dkms || echo dkms-remove)"',
    "tests/debian-modules-test.sh": "res debian-modules",
    "scripts/hygiene.sh": 'res hygiene "${STUB_HYGIENE:-pass}"; [ "${STUB_HYGIENE:-pass}" = pass ]',
}
PRELUDE = """#!/bin/bash
echo "$(basename "$0") $*" >> "$(dirname "$0")/../calls.log"
res() { printf '%s\\t%s\\t\\n' "${2:-pass}" "$1 stub" > "$(dirname "$0")/../build/results/$1.results"; }
"""

# the selfcheck logs how it was called; its --unit run fails with
# STUB_UNIT_RC, and with STUB_UNIT_WAIT when build-selftests.sh has not run
# within 20 s (the unit tests run next to the builds, not before them)
SELFCHECK = """import os, sys, time
calls = os.path.join(os.path.dirname(__file__), "../calls.log")
with open(calls, "a") as f:
    f.write(" ".join(["selfcheck"] + sys.argv[1:]) + "\\n")
if os.environ.get("STUB_UNIT_WAIT") and "--unit" in sys.argv:
    for _ in range(200):
        if "build-selftests.sh" in open(calls).read():
            break
        time.sleep(0.1)
    else:
        sys.exit(1)
sys.exit(int(os.environ.get("STUB_UNIT_RC", "0")) if "--unit" in sys.argv else 0)
"""


class CheckStages(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        for d in ("scripts", "setup", "tests", "harness/tests"):
            os.makedirs(os.path.join(self.dir, d))
        for f in ("scripts/check.sh", "scripts/lib.sh", "harness/results.py",
                  "harness/__init__.py"):
            shutil.copy(os.path.join(TOP, f), os.path.join(self.dir, f))
        open(os.path.join(self.dir, "harness/tests/__init__.py"), "w").close()
        with open(os.path.join(self.dir, "harness/plan.py"), "w") as f:
            f.write("")
        with open(os.path.join(self.dir, "harness/selfcheck.py"), "w") as f:
            f.write(SELFCHECK)
        with open(os.path.join(self.dir, "tests/debug-tests"), "w") as f:
            f.write("smm_test  # a test\n")
        for path, body in STUBS.items():
            p = os.path.join(self.dir, path)
            with open(p, "w") as f:
                f.write(PRELUDE + body + "\n")
            os.chmod(p, 0o755)

    def check(self, timeout=120, **env):
        e = dict(os.environ, SLOTZAP_CHECK_WATCH="0", **env)
        p = subprocess.run(["bash", os.path.join(self.dir, "scripts/check.sh")], env=e,
                           capture_output=True, text=True, timeout=timeout)
        with open(os.path.join(self.dir, "build/results/stages.tsv")) as f:
            stages = {line.split("\t")[0]: line.split("\t")[1] for line in f}
        return p, stages

    def calls(self):
        with open(os.path.join(self.dir, "calls.log")) as f:
            return [line.split()[0] for line in f]

    def test_all_pass(self):
        p, stages = self.check()
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        for name in ("unit", "kernel", "matrix", "kut", "intel", "dkms", "debug-kern", "debug", "hygiene"):
            self.assertEqual(stages.get(name), "0", name)
        # one result per stage, each of them counted
        self.assertEqual(p.stdout.splitlines()[-1], "%d passed, 0 failed, 0 skipped" % len(stages))
        self.assertIn("stage times: ", p.stdout)

    def test_the_selfcheck_skips_its_baseline_only_after_the_unit_tests_passed(self):
        self.check()
        with open(os.path.join(self.dir, "calls.log")) as f:
            calls = [line.strip() for line in f if line.startswith("selfcheck")]
        self.assertEqual(calls, ["selfcheck --unit", "selfcheck --no-baseline"])
        os.unlink(os.path.join(self.dir, "calls.log"))
        p, stages = self.check(STUB_UNIT_RC="1")
        with open(os.path.join(self.dir, "calls.log")) as f:
            calls = [line.strip() for line in f if line.startswith("selfcheck")]
        self.assertEqual(calls, ["selfcheck --unit", "selfcheck"])
        self.assertEqual(stages["unit"], "1")
        self.assertNotEqual(p.returncode, 0)

    def test_an_edit_of_check_sh_while_it_runs_changes_nothing(self):
        # read as it goes, the shifted script runs stages again, or never ends
        p, stages = self.check(timeout=40, STUB_EDIT_CHECK="1")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        with open(os.path.join(self.dir, "build/results/stages.tsv")) as f:
            names = [line.split("\t")[0] for line in f]
        self.assertEqual(sorted(names), sorted(set(names)))
        self.assertEqual(len(names), len(stages))
        self.assertEqual(p.stdout.splitlines()[-1], "%d passed, 0 failed, 0 skipped" % len(stages))

    def test_a_failed_stage_fails_the_check(self):
        p, stages = self.check(STUB_HYGIENE="fail")
        self.assertNotEqual(p.returncode, 0)
        self.assertEqual(stages["hygiene"], "1")
        self.assertIn("1 failed", p.stdout.splitlines()[-1])

    def test_a_stage_that_fails_with_only_passes_written_fails_the_check(self):
        with open(os.path.join(self.dir, "scripts/hygiene.sh"), "w") as f:
            f.write(PRELUDE + "res hygiene pass; exit 3\n")
        p, stages = self.check()
        self.assertNotEqual(p.returncode, 0)
        self.assertEqual(stages["hygiene"], "3")
        self.assertNotIn(" 0 failed", p.stdout.splitlines()[-1])

    def test_failed_debug_kernel_skips_the_debug_stage(self):
        p, stages = self.check(STUB_DEBUG_RC="2")
        self.assertNotEqual(p.returncode, 0)
        self.assertEqual(stages["debug-kern"], "2")
        self.assertNotIn("debug", stages)
        self.assertIn("FAILED", p.stdout)

    def test_the_unit_tests_run_next_to_the_builds_and_their_output_is_printed(self):
        p, stages = self.check(STUB_UNIT_WAIT="1")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual((stages["unit"], stages["unit-mutants"], stages["kernel"]), ("0", "0", "0"))
        self.assertIn("unit (ran in the background): its output", p.stderr)

    def test_a_lane_that_dies_fails_its_stages(self):
        # the unit lane dies in its first stage: its second never starts
        with open(os.path.join(self.dir, "harness/selfcheck.py"), "w") as f:
            f.write("import os, signal\nos.kill(int(open('/proc/%d/stat' % os.getppid()).read().split()[3]), "
                    "signal.SIGKILL)\n" + SELFCHECK)
        p, stages = self.check()
        self.assertNotEqual(p.returncode, 0)
        self.assertEqual(stages["unit"], "125")
        self.assertEqual(stages["unit-mutants"], "125")
        self.assertIn("stage unit-mutants", p.stdout)
        self.assertEqual(stages["hygiene"], "0")

    def test_a_stage_without_results_is_a_failure(self):
        # the matrix exits 0 but writes no results file
        with open(os.path.join(self.dir, "scripts/matrix.py"), "w") as f:
            f.write(PRELUDE)
        p, stages = self.check()
        self.assertNotEqual(p.returncode, 0)
        self.assertEqual(stages["matrix"], "0")


if __name__ == "__main__":
    unittest.main()
