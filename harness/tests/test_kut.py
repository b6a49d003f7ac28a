import contextlib
import io
import os
import tempfile
import unittest

from harness import kut

TAP = """TAP version 13
ok 1 - access: 3 tests
ok 2 - emulator: Skipping tests that require forced emulation # skip
ok 3 - emulator: mov reg, r/m (1)
not ok 4 - emulator: non-canonical rsp-based access, should #SS(0), got #GP(0)
ok 5 - emulator: ltr
ok 6 - pku: PKU not enabled # skip
not ok 7 - svm_npt: timeout; duration=180s
ok 8 - memory: pcommit # skip
ok 9 - memory: clflush
"""


def write_runs(d, runs):
    for name, text in runs.items():
        with open(os.path.join(d, name + ".tap"), "w") as f:
            f.write(text)


class Parse(unittest.TestCase):
    def test_statuses(self):
        res = kut.parse_tap(TAP)
        self.assertEqual({t: s for t, (s, _) in res.items()},
                         {"access": "pass", "emulator": "fail", "pku": "skip", "svm_npt": "fail",
                          "memory": "pass"})
        self.assertEqual(res["pku"][1], "PKU not enabled")
        self.assertIn("timeout; duration=180s", res["svm_npt"][1])

    def test_one_failed_check_fails_the_test(self):
        self.assertEqual(kut.parse_tap(TAP)["emulator"],
                         ("fail", "1 of 4 checks failed, first: non-canonical rsp-based access, "
                                  "should #SS(0), got #GP(0)"))

    def test_flaky_marker_makes_a_passing_test_flaky(self):
        res = kut.parse_tap("ok 1 - svm_npt: a\nok 2 - svm_npt: b\n"
                            "# flaky svm_npt l1-state-in-l2 (run 2; run 1 timeout)\n")
        self.assertEqual(res["svm_npt"][0], "flaky")
        self.assertIn("l1-state-in-l2 (run 2", res["svm_npt"][1])

    def test_flaky_marker_never_hides_a_failure(self):
        res = kut.parse_tap("not ok 1 - pku: timeout\n# flaky pku l1-state-in-l2 (run 2)\n")
        self.assertEqual(res["pku"][0], "fail")


class Compare(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        write_runs(self.dir.name, {
            "base@c@on": "ok 1 - a: x\nnot ok 2 - b: y\nok 3 - c: z\nok 4 - d: s # skip\n",
            "series@c@on": "ok 1 - a: x\nnot ok 2 - b: y\nok 3 - c: z\n",
            "series@c@off": "not ok 1 - a: x\nnot ok 2 - b: y\nok 3 - c: z\nok 4 - d: s # skip\n",
        })
        self.runs = kut.load(self.dir.name)

    def tearDown(self):
        self.dir.cleanup()

    def test_worse_is_base_pass_series_fail_or_missing(self):
        got = {(t, m, s) for t, _, m, _, s, _ in kut.worse(self.runs)}
        self.assertEqual(got, {("a", "off", "fail"), ("d", "on", "missing")})

    def test_base_failure_is_a_skip_with_reason_in_results(self):
        lines = [l.split("\t") for l in kut.results_lines(self.runs)]
        by = {n: (s, d) for s, n, d in lines}
        self.assertEqual(by["kut b@c quirk=on"][0], "skip")
        self.assertIn("unpatched base", by["kut b@c quirk=on"][1])
        self.assertEqual(by["kut a@c quirk=off"][0], "fail")

    def test_without_base_a_failure_fails(self):
        os.remove(os.path.join(self.dir.name, "base@c@on.tap"))
        lines = [l.split("\t") for l in kut.results_lines(kut.load(self.dir.name))]
        self.assertIn(("fail", "kut b@c quirk=on"), {(s, n) for s, n, _ in lines})

    def test_flaky_is_no_worse_and_reported_as_flaky(self):
        with open(os.path.join(self.dir.name, "series@c@on.tap"), "a") as f:
            f.write("ok 4 - d: s\n# flaky d l1-state-in-l2 (run 2)\n")
        runs = kut.load(self.dir.name)
        self.assertNotIn("d", {t for t, *_ in kut.worse(runs)})
        by = {n: s for s, n, _ in (l.split("\t") for l in kut.results_lines(runs))}
        self.assertEqual(by["kut d@c quirk=on"], "flaky")

    def test_report_exit_status(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            self.assertEqual(kut.main(["report", self.dir.name]), 1)
        self.assertIn("WORSE a@c quirk=off: base pass, series fail", out.getvalue())


if __name__ == "__main__":
    unittest.main()
