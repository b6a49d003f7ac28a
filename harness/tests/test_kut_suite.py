"""scripts/kut.sh's suite(): a dead test VM fails the test it died in and a
new VM runs the rest. The functions run in bash with vmrun() replaced by a
fake VM that dies in the tests named in DIE_IN."""

import os
import subprocess
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

HARNESS = r'''
warn() { :; }; die() { echo "DIE: $*"; exit 1; }
source <(sed -n '/^remaining() {/,/^}/p;/^suite() {/,/^}/p' "$TOP/scripts/kut.sh")
vmrun() {
	local out=$3 mode=$4 t; shift 4; mkdir -p "$out"; : > "$out/$mode.tap"
	for t in "$@"; do
		case " $DIE_IN " in *" $t "*) return 1 ;; esac
		printf 'ok 1 - %s: fine\n# done %s seconds=1\n' "$t" "$t" >> "$out/$mode.tap"
	done
}
suite bzImage cfg "$OUTDIR" on "$@"
'''


def run_suite(tests, die_in):
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, TOP=TOP, OUTDIR=d, DIE_IN=" ".join(die_in))
        p = subprocess.run(["bash", "-c", HARNESS, "suite"] + tests, env=env,
                           capture_output=True, text=True)
        with open(os.path.join(d, "on.tap")) as f:
            tap = f.read()
        return p.returncode, tap, sorted(os.listdir(d))


class Suite(unittest.TestCase):
    def test_dead_vm_fails_its_test_and_a_new_vm_runs_the_rest(self):
        rc, tap, dirs = run_suite(list("abcde"), ["b", "d"])
        self.assertEqual(rc, 0)
        lines = [l for l in tap.splitlines() if not l.startswith("#")]
        self.assertEqual([l.split(" - ")[1].split(":")[0] for l in lines], list("abcde"))
        self.assertEqual([l.startswith("not ok") for l in lines], [False, True, False, True, False])
        self.assertIn("the test VM died in it (", lines[1])
        self.assertEqual(dirs, ["on-vm1", "on-vm2", "on-vm3", "on.tap"])

    def test_five_dead_vms_fail_the_rest_unrun(self):
        rc, tap, _ = run_suite(list("abcdefg"), list("abcdef"))
        self.assertEqual(rc, 1)
        self.assertIn("not ok 0 - f: not run, 5 test VMs died", tap)
        self.assertIn("not ok 0 - g: not run, 5 test VMs died", tap)

    def test_a_vm_that_dies_in_the_last_test_fails_it(self):
        rc, tap, _ = run_suite(list("ab"), ["b"])
        self.assertEqual(rc, 1)
        self.assertIn("not ok 0 - b: the test VM died in it", tap)


class Script(unittest.TestCase):
    def test_every_job_and_helper_is_defined(self):
        # every top-level function of the script, as bash reads them
        script = r'''
source <(sed -n '/^[a-z_]*() {/,/^}/p' "$TOP/scripts/kut.sh")
declare -F build base_kernel vmrun remaining suite run check
'''
        p = subprocess.run(["bash", "-c", script], env=dict(os.environ, TOP=TOP),
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(p.stdout.split(), ["build", "base_kernel", "vmrun", "remaining", "suite", "run",
                                            "check"])


if __name__ == "__main__":
    unittest.main()
