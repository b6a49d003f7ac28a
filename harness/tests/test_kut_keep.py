"""scripts/kut.sh run: what 'make kut' keeps between runs, with the test VMs
stubbed out (suite) so that only the keeping logic runs."""

import os
import subprocess
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# kut.sh up to its command dispatch, with build, base_kernel, suite and the
# report stubbed: suite writes a one-line TAP, logs its call, and reports a
# dead test VM for svm-shadow with the quirk off.
DRIVER = r'''
set -uo pipefail
eval "$(sed '/^case \${1:-} in/,$d' "$TOP/scripts/kut.sh" | sed 's|^\. "\$(dirname "\$0")/lib.sh"|. "$TOP/scripts/lib.sh"|')"
KUT_DIR=$WORK; RESULTS=$WORK/results; BUILD=$WORK/b; OBJ_TEST=$BUILD/obj-test
build() { :; }
base_kernel() { echo 6.1.192-3; }
suite() { mkdir -p "$3"; echo "ok 1 - t" > "$3/$4.tap"; echo "suite $2 $4 ${1#$BUILD/}" >> "$WORK/calls"
	[ "$2" != svm-shadow ] || [ "$4" != off ]; }
python3() { ls "$4" > "$WORK/reported"; }
run
'''


class Keep(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp()
        for d in ("b/obj-test/arch/x86/boot", "b/obj-base/arch/x86/boot"):
            os.makedirs(os.path.join(self.work, d))
        self.kernel("k1")
        with open(os.path.join(self.work, "src.stamp"), "w") as f:
            f.write("kut\n")

    def kernel(self, text):
        with open(os.path.join(self.work, "b/obj-test/arch/x86/boot/bzImage"), "w") as f:
            f.write(text)

    def run_kut(self):
        calls = os.path.join(self.work, "calls")
        if os.path.exists(calls):
            os.unlink(calls)
        env = dict(os.environ, TOP=TOP, WORK=self.work,
                   SLOTZAP_KUT_CONFIGS="svm-shadow,svm-tdp-mmu")
        subprocess.run(["bash", "-c", DRIVER], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(os.path.join(self.work, "reported")) as f:
            reported = f.read().split()
        try:
            with open(calls) as f:
                return f.read().splitlines(), reported
        except FileNotFoundError:
            return [], reported

    def test_kept_runs_are_reused_and_a_dead_vm_is_not(self):
        calls, reported = self.run_kut()
        self.assertEqual(len(calls), 6)
        self.assertEqual(len(reported), 6)
        # again: only the run whose test VM died runs again
        calls, reported = self.run_kut()
        self.assertEqual(calls, ["suite svm-shadow off obj-test/arch/x86/boot/bzImage"])
        self.assertEqual(len(reported), 6)

    def test_a_new_test_kernel_runs_the_series_again_not_the_base(self):
        self.run_kut()
        self.kernel("k2")
        calls, _ = self.run_kut()
        self.assertEqual(sorted(c.split()[2] for c in calls), ["off", "off", "on", "on"])
        self.assertFalse([c for c in calls if "obj-base" in c])


if __name__ == "__main__":
    unittest.main()
