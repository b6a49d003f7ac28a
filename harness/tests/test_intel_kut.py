"""scripts/intel-kut.py's own logic: KUT's command line, the guest script,
and the verdict read off a Bochs console."""

import importlib.util
import os
import subprocess
import tempfile
import unittest

from harness import kut

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
spec = importlib.util.spec_from_file_location("intel_kut", os.path.join(TOP, "scripts/intel-kut.py"))
ik = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ik)

CFG = """# comment
[pcid-enabled]
file = pcid.flat
qemu_params = -cpu qemu64,+pcid,+invpcid
arch = x86_64

[args]
file = a.flat
smp = 2
test_args = "-x -y"
"""


class IntelKut(unittest.TestCase):
    def test_qemu_args_follow_the_cfg(self):
        cfg = ik.sections(CFG)
        self.assertEqual(ik.qemu_args(cfg["pcid-enabled"]),
                         ["-kernel", "/kut/pcid.flat", "-smp", "1", "-cpu", "qemu64,+pcid,+invpcid"])
        self.assertEqual(ik.qemu_args(cfg["args"]), ["-kernel", "/kut/a.flat", "-smp", "2", "-append", "-x -y"])

    def test_the_guest_script_runs_each_test_in_each_mode_and_is_valid_sh(self):
        s = ik.guest_script([("t1", 60, ["-kernel", "/kut/t1.flat", "-append", "-x -y"])], ["on", "off"])
        self.assertEqual(s.count("KUT-START t1"), 2)
        self.assertIn("env SLOTZAP_QUIRK=off SLOTZAP_REPORT=/tmp/preload LD_PRELOAD=/kut/libslotzap-preload.so "
                      "timeout 60 /usr/bin/qemu-system-x86_64", s)
        self.assertEqual(s.count("KUT-PRELOAD"), 1)
        self.assertIn("-append '-x -y'", s)
        self.assertEqual(subprocess.run(["sh", "-n"], input=s, text=True).returncode, 0)

    def test_verdicts_as_run_tests_makes_them(self):
        log = "PASS: a\nSUMMARY: 1 tests"
        self.assertEqual(ik.verdict_line("t", log, 1, 5, 60), "PASS t (1 tests)")
        self.assertEqual(ik.verdict_line("t", "SKIP: no pku\nSUMMARY: 0 tests", 77, 5, 60),
                         "SKIP t (0 tests)")
        # exit status 1 with an error on QEMU's stderr is QEMU's own
        # failure (a warning is not one); without one, a pass with or
        # without KUT's summary (rmap_chain prints a bare PASS)
        self.assertEqual(ik.verdict_line("t", "", 1, 1, 60, ["qemu-system-x86_64: could not load kernel"]),
                         "FAIL t (QEMU: qemu-system-x86_64: could not load kernel)")
        self.assertEqual(ik.verdict_line("t", "PASS", 1, 1, 60), "PASS t (exit status 0)")
        self.assertTrue(ik.verdict_line("t", "", 0, 1, 60).startswith("FAIL t (QEMU exit status 0"))
        self.assertEqual(ik.verdict_line("t", log, 1, 5, 60, ["qemu-system-x86_64: oops"]),
                         "FAIL t (QEMU: qemu-system-x86_64: oops)")
        self.assertEqual(ik.verdict_line("t", log, 1, 5, 60, ["qemu-system-x86_64: warning: x"]),
                         "PASS t (1 tests)")
        self.assertEqual(ik.verdict_line("t", "PASS: a", 143, 60, 60), "FAIL t (timeout; duration=60s)")
        self.assertEqual(ik.verdict_line("t", "FAIL: a\nSUMMARY: 1 tests, 1 unexpected failures", 3, 5, 60),
                         "FAIL t (1 tests, 1 unexpected failures)")

    def test_a_console_gives_each_run_its_tap_and_a_run_cut_short_fails(self):
        console = "\n".join([
            "KUT-START t1 on", "[   12.345678] kvm: a kernel line", "PASS: check one", "SUMMARY: 1 tests",
            "KUT-END t1 on rc=1 seconds=9",
            "KUT-START t1 off", "PASS: check one", "FAIL: check two", "SUMMARY: 2 tests, 1 unexpected failures",
            "KUT-PRELOAD quirk=off creates=1", "KUT-END t1 off rc=3 seconds=9",
            "KUT-START t2 off", "PASS: fine", "SUMMARY: 1 tests", "KUT-END t2 off rc=1 seconds=9",
            "KUT-START t2 on", "PASS: half"])
        got = ik.parse_console(console, {"t1": 60, "t2": 60})
        self.assertEqual(got[("t1", "on")], ["ok 1 - t1: check one"])
        self.assertEqual(got[("t1", "off")], ["ok 1 - t1: check one", "not ok 2 - t1: check two"])
        # off without the preload library's word that the quirk was off fails
        self.assertEqual(got[("t2", "off")][-1], "not ok 0 - t2: the preload library did not report the quirk off "
                                                 "(no report)")
        # a run cut short is lost, as make kut writes it (harness/kut.py)
        self.assertEqual(got[("t2", "on")], ["not ok 0 - t2: the test VM died in it (see its console.log)"])
        self.assertEqual(kut.parse_tap("\n".join(got[("t2", "on")]))["t2"][0], "lost")

    def test_the_list_wants_a_timeout(self):
        with tempfile.NamedTemporaryFile("w", suffix="kut-intel") as f:
            f.write("# c\nt1 60 why\nt2 why\n")
            f.flush()
            with self.assertRaisesRegex(ValueError, "line 3: want TEST SECONDS"):
                ik.listed(f.name)
        self.assertTrue(all(s > 0 for _, s in ik.listed()))


if __name__ == "__main__":
    unittest.main()
