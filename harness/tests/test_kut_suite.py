"""scripts/kut.sh's suite(): a dead test VM fails the test it died in and a
new VM runs the rest. The functions run in bash with vmrun() replaced by a
fake VM that dies in the tests named in DIE_IN (after their '# start'
line, without a newline at the end), or before any test with DIE_EARLY."""

import os
import subprocess
import tempfile
import unittest

from harness import kut

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

HARNESS = r'''
warn() { :; }; die() { echo "DIE: $*"; exit 1; }
source <(sed -n '/^remaining() {/,/^}/p;/^suite() {/,/^}/p' "$TOP/scripts/kut.sh")
vmrun() {
	local out=$3 mode=$4 t; shift 5; mkdir -p "$out"; : > "$out/$mode.tap"
	echo "[    0.000000] Linux version 6.1.192 (fake)" > "$out/console.log"
	[ -n "${CONSOLE_SPLAT:-}" ] && echo "[    1.000000] WARNING: CPU: 0 PID: 1 at arch/x86/kvm/mmu/mmu.c:1 f" >> "$out/console.log"
	[ -n "${DIE_EARLY:-}" ] && return 1
	for t in "$@"; do
		printf '# start %s\n' "$t" >> "$out/$mode.tap"
		case " $DIE_IN " in *" $t "*) printf 'ok 1 - %s: half a li' "$t" >> "$out/$mode.tap"; return 1 ;; esac
		# stopped by hand: run()'s trap sets KUT_STOPPED, the VM ends
		case " ${STOP_IN:-} " in *" $t "*) KUT_STOPPED=1; return 1 ;; esac
		printf 'ok 1 - %s: fine\n# done %s seconds=1\n' "$t" "$t" >> "$out/$mode.tap"
	done
	echo 1..9 >> "$out/$mode.tap"
	[ -z "${SPLAT:-}" ] || return 126
}
suite bzImage cfg "$OUTDIR" on "$@"
'''


def run_suite(tests, die_in, early=False, stop_in="", splat=False, console_splat=False):
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, TOP=TOP, OUTDIR=d, DIE_IN=" ".join(die_in), DIE_EARLY="1" if early else "",
                   STOP_IN=stop_in, SPLAT="1" if splat else "", CONSOLE_SPLAT="1" if console_splat else "",
                   PYTHONPATH=TOP)
        p = subprocess.run(["bash", "-c", HARNESS, "suite"] + tests, env=env,
                           capture_output=True, text=True)
        with open(os.path.join(d, "on.tap")) as f:
            tap = f.read()
        return p.returncode, tap, sorted(os.listdir(d))


class Suite(unittest.TestCase):
    def test_dead_vm_fails_its_test_and_a_new_vm_runs_the_rest(self):
        rc, tap, dirs = run_suite(list("abcde"), ["b", "d"])
        self.assertEqual(rc, 1)
        res = kut.parse_tap(tap)
        self.assertEqual({t: s for t, (s, _) in res.items()},
                         {"a": "pass", "b": "lost", "c": "pass", "d": "lost", "e": "pass"})
        self.assertIn("the test VM died in it (", res["b"][1])
        self.assertNotIn("1..", tap)
        self.assertEqual(dirs, ["on-vm1", "on-vm2", "on-vm3", "on.tap"])

    def test_all_passing_in_one_vm_returns_0(self):
        rc, tap, dirs = run_suite(list("abc"), [])
        self.assertEqual((rc, dirs), (0, ["on-vm1", "on.tap"]))

    def test_a_vm_that_stops_before_any_test_fails_them_all_unrun(self):
        rc, tap, dirs = run_suite(list("abc"), [], early=True)
        self.assertEqual((rc, dirs), (1, ["on-vm1", "on.tap"]))
        self.assertEqual(tap.count("not run, the test VM stopped before it"), 3)

    def test_five_dead_vms_fail_the_rest_unrun(self):
        rc, tap, _ = run_suite(list("abcdefg"), list("abcdef"))
        self.assertEqual(rc, 1)
        self.assertIn("not ok 0 - e: the test VM died in it", tap)
        self.assertIn("not ok 0 - f: not run, 5 test VMs died", tap)
        self.assertIn("not ok 0 - g: not run, 5 test VMs died", tap)

    def test_a_vm_that_dies_in_the_last_test_fails_it(self):
        rc, tap, _ = run_suite(list("ab"), ["b"])
        self.assertEqual(rc, 1)
        self.assertIn("not ok 0 - b: the test VM died in it", tap)


    def test_a_kernel_splat_is_a_failed_result_and_fails_the_suite(self):
        rc, tap, dirs = run_suite(list("ab"), [], splat=True)
        self.assertEqual((rc, dirs), (1, ["on-vm1", "on.tap"]))
        self.assertEqual(kut.parse_tap(tap)["test-vm-splat"][0], "fail")
        self.assertIn("on-vm1/console.log", tap)

    def test_a_stop_by_hand_boots_no_new_vm_and_blames_no_test(self):
        rc, tap, dirs = run_suite(list("abc"), [], stop_in="b")
        # 2: stopped in its first VM, with a clean console
        self.assertEqual((rc, dirs), (2, ["on-vm1", "on.tap"]))
        self.assertEqual(kut.split_tap(tap)["a"][1], True)
        self.assertNotIn("not ok", tap)


    def test_a_stop_after_a_dead_vm_or_a_splat_is_not_clean(self):
        rc, _, dirs = run_suite(list("abcd"), ["b"], stop_in="d")
        self.assertEqual((rc, dirs), (1, ["on-vm1", "on-vm2", "on.tap"]))
        rc, _, _ = run_suite(list("abc"), [], stop_in="b", console_splat=True)
        self.assertEqual(rc, 1)


class Script(unittest.TestCase):
    def test_every_job_and_helper_is_defined(self):
        # every top-level function of the script, as bash reads them
        script = r'''
source <(sed -n '/^[a-z_]*() {/,/^}/p' "$TOP/scripts/kut.sh")
declare -F build base_kernel vmrun remaining suite run_part run check
'''
        p = subprocess.run(["bash", "-c", script], env=dict(os.environ, TOP=TOP),
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(p.stdout.split(), ["build", "base_kernel", "vmrun", "remaining", "suite", "run_part", "run",
                                            "check"])


if __name__ == "__main__":
    unittest.main()
