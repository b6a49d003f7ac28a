import contextlib
import io
import os
import tempfile
import unittest

from harness import kut, kut_tap

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
                         {"access": "pass", "emulator": "fail", "pku": "skip", "svm_npt": "timeout",
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

    def test_dead_vm_line_is_lost_and_done_markers_are_ignored(self):
        res = kut.parse_tap("ok 1 - x2apic: a\n# done x2apic seconds=20 timeout=180s\n"
                            "not ok 0 - emulator: the test VM died in it (see console.log)\n"
                            "# done emulator\n# done sieve seconds=40 timeout=180s\n")
        self.assertEqual({t: s for t, (s, _) in res.items()}, {"x2apic": "pass", "emulator": "lost"})
        self.assertIn("test VM died", res["emulator"][1])

    def test_lines_of_a_test_no_vm_gave_a_verdict_for_are_lost(self):
        res = kut.parse_tap("ok 1 - a: x\nnot ok 0 - a: the test VM died in it (c)\n"
                            "not ok 0 - b: not run, the test VM stopped before it (c)\n"
                            "not ok 0 - c: not run, 5 test VMs died\n"
                            "not ok 0 - d: no result from its test VM (c)\n"
                            "not ok 1 - f: timeout; duration=180s\n")
        self.assertEqual({t: s for t, (s, _) in res.items()},
                         {"a": "lost", "b": "lost", "c": "lost", "d": "lost", "f": "timeout"})

    def test_flaky_marker_never_hides_a_failure(self):
        res = kut.parse_tap("not ok 1 - pku: timeout\n# flaky pku l1-state-in-l2 (run 2)\n")
        self.assertEqual(res["pku"][0], "timeout")
        res = kut.parse_tap("not ok 1 - pku: x\n# flaky pku l1-state-in-l2 (run 2)\n")
        self.assertEqual(res["pku"][0], "fail")


class TapOf(unittest.TestCase):
    """run_tests.sh without -t: the checks of the log plus its verdict line."""

    def status(self, test, tap):
        return kut.parse_tap("\n".join(tap))[test]

    def test_checks_then_a_shutdown_fail(self):
        tap = kut_tap.tap_of("pku", "cmdline\nPASS: a\nPASS: b\n", "\x1b[31mFAIL\x1b[0m pku \n")
        self.assertEqual(tap[:2], ["ok 1 - pku: a", "ok 2 - pku: b"])
        self.assertTrue(tap[2].startswith("not ok 3 - pku: failed with no FAIL line"))
        self.assertEqual(self.status("pku", tap)[0], "fail")

    def test_a_crash_after_a_fail_line_is_a_line_of_its_own(self):
        log = "PASS: a\nFAIL: nmi-after-sti\nUnhandled exception 13 #GP at ip 0000000000401234\n"
        tap = kut_tap.tap_of("x2apic", log, "FAIL x2apic \n")
        self.assertEqual(len(tap), 3)
        self.assertTrue(tap[2].startswith("not ok 3 - x2apic: failed with 1 FAIL line(s) and no summary"))
        # nor is it excused as a known flaky check
        self.assertEqual(kut.parse_tap("\n".join(tap), {"x2apic": [("nmi-after-sti", None)]})["x2apic"][0], "fail")
        # with KUT's summary, its FAIL lines are all of it
        log += "SUMMARY: 2 tests, 1 unexpected failures, 1 skipped\n"
        self.assertEqual(len(kut_tap.tap_of("x2apic", log, "FAIL x2apic (2 tests, 1 unexpected failures, "
                                                             "1 skipped)\n")), 2)
        # an unexpected failure without a FAIL line (an XPASS) is one of its own
        self.assertEqual(len(kut_tap.tap_of("x2apic", log, "FAIL x2apic (3 tests, 2 unexpected failures)\n")), 3)

    def test_an_abort_is_a_failed_check(self):
        log = "PASS: a\nFAIL: nmi-after-sti\nABORT: apic: no x2apic\nSUMMARY: 2 tests, 1 unexpected failures\n"
        tap = kut_tap.tap_of("x2apic", log, "FAIL x2apic (2 tests, 1 unexpected failures)\n")
        self.assertIn("not ok 3 - x2apic: aborted: apic: no x2apic", tap)
        self.assertEqual(kut.parse_tap("\n".join(tap), {"x2apic": [("nmi-after-sti", None)]})["x2apic"][0], "fail")

    def test_timeout_is_a_line_of_its_own(self):
        tap = kut_tap.tap_of("access", "FAIL: e\n", "FAIL access (timeout; duration=90s)")
        self.assertEqual(tap, ["not ok 1 - access: e", "not ok 2 - access: timeout; duration=90s"])

    def test_failed_checks_need_no_extra_line(self):
        tap = kut_tap.tap_of("e", "PASS: a\nFAIL: b\n", "FAIL e (2 tests, 1 unexpected failures)")
        self.assertEqual(tap, ["ok 1 - e: a", "not ok 2 - e: b"])

    def test_skip_verdicts_and_skipped_checks(self):
        self.assertEqual(self.status("cmpxchg8b", kut_tap.tap_of(
            "cmpxchg8b", "", "other line\n\x1b[33mSKIP\x1b[0m cmpxchg8b (i386 only)")), ("skip", "i386 only"))
        self.assertEqual(kut_tap.tap_of("m", "SKIP: pcommit\nPASS: x\n", "PASS m (2 tests, 1 skipped)"),
                         ["ok 1 - m: pcommit # skip", "ok 2 - m: x"])

    def test_a_skip_by_qemu_failing_to_start_fails(self):
        # KUT's premature_failure: QEMU's last line as a SKIP reason
        tap = kut_tap.tap_of("pku", "", "SKIP pku (qemu-system-x86_64: failed to initialize kvm: "
                                    "Operation not supported)")
        self.assertEqual(self.status("pku", tap)[0], "fail")
        self.assertIn("failed to initialize kvm", tap[0])
        tap = kut_tap.tap_of("pku", "", "SKIP pku (Test file 'x86/pku.flat' not found)")
        self.assertEqual(self.status("pku", tap)[0], "fail")

    def test_skips_for_test_conditions(self):
        for reason in ("i386 only", "kvm only, but ACCEL=tcg", "test marked as manual run only",
                       "disabled because: no PKS", "/sys/module/kvm_intel/parameters/ept not equal to Y",
                       "1 tests, 1 skipped", "0 tests"):
            self.assertEqual(self.status("t", kut_tap.tap_of("t", "", "SKIP t (%s)" % reason)),
                             ("skip", reason), reason)

    def test_nested_parentheses_in_a_reason(self):
        tap = kut_tap.tap_of("t", "", "SKIP t (disabled because: (a (b)))")
        self.assertEqual(tap, ["ok 1 - t: disabled because: (a (b)) # skip"])

    def test_pass_without_checks_and_no_verdict(self):
        self.assertEqual(self.status("sieve", kut_tap.tap_of("sieve", "x", "PASS sieve "))[0], "pass")
        self.assertEqual(self.status("sieve", kut_tap.tap_of("sieve", "PASS: a\n", "PASS other (1 tests)"))[0],
                         "fail")


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

    def test_report_fails_on_an_empty_tap(self):
        # nothing is worse when nothing ran: the empty runs themselves fail it
        with tempfile.TemporaryDirectory() as d:
            write_runs(d, {"base@c@on": "# done a\n", "series@c@on": "# start a\n"})
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                self.assertEqual(kut.main(["report", d]), 1)
        self.assertIn("EMPTY series@c@on.tap", out.getvalue())
        self.assertIn("EMPTY base@c@on.tap", out.getvalue())

    def test_a_lost_test_is_worse_than_a_base_failure_and_a_new_failure_counts(self):
        runs = {("base", "c", "on"): {"a": ("fail", ""), "b": ("pass", "")},
                ("series", "c", "on"): {"a": ("lost", "died"), "b": ("pass", ""), "test-vm-splat": ("fail", "")}}
        self.assertEqual([(t, b, s) for t, _, _, b, s, _ in kut.worse(runs)],
                         [("a", "fail", "lost"), ("test-vm-splat", "missing", "fail")])
        # only a verdict of the base excuses: its own lost test does not
        runs[("base", "c", "on")]["a"] = ("lost", "died")
        runs[("series", "c", "on")]["a"] = ("fail", "")
        self.assertEqual([(t, b, s) for t, _, _, b, s, _ in kut.worse(runs)],
                         [("a", "lost", "fail"), ("test-vm-splat", "missing", "fail")])

    def test_a_timeout_is_worse_than_a_base_failure_and_better_than_a_lost_test(self):
        # svm in svm-tdp-mmu, 2026-12-06: the base failed 8 checks and ran to
        # its end; the series with the quirk off reached the 600 s timeout
        with tempfile.TemporaryDirectory() as d:
            write_runs(d, {"base@c@on": "ok 1 - a: x\nnot ok 2 - a: y\nnot ok 3 - b: timeout; duration=60s\n",
                           "series@c@on": "not ok 1 - a: y\nnot ok 2 - a: timeout; duration=60s\n"
                                          "not ok 3 - b: y\n",
                           "series@c@off": "not ok 1 - a: the test VM died in it\n"
                                           "not ok 2 - b: the test VM died in it\n"})
            runs = kut.load(d)
        self.assertEqual(runs[("series", "c", "on")]["a"],
                         ("timeout", "1 of 2 checks failed, then timeout; duration=60s"))
        self.assertEqual([(t, m, b, s) for t, _, m, b, s, _ in kut.worse(runs)],
                         [("a", "off", "fail", "lost"), ("b", "off", "timeout", "lost"),
                          ("a", "on", "fail", "timeout")])
        by = {n: s for s, n, _ in (l.split("\t") for l in kut.results_lines(runs))}
        self.assertEqual(by["kut a@c quirk=on"], "fail")
        # the base's timeout excuses a failure of the series, not a timeout
        self.assertEqual(by["kut b@c quirk=on"], "skip")
        self.assertEqual(kut.table(runs)[-3].split(), ["=", "timeout", "1", "0", "1"])

    def test_a_test_a_run_has_no_result_for_is_missing(self):
        self.assertEqual(kut.missing(self.runs), [("series@c@on", "d")])
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            kut.main(["report", self.dir.name])
        self.assertIn("MISSING d in series@c@on.tap", out.getvalue())

    def test_a_missing_result_alone_fails_the_report(self):
        # nothing is worse (the series passes b), but the base has no result for b
        with tempfile.TemporaryDirectory() as d:
            write_runs(d, {"base@c@on": "ok 1 - a: x\n", "series@c@on": "ok 1 - a: x\nok 2 - b: x\n"})
            self.assertEqual(kut.worse(kut.load(d)), [])
            with contextlib.redirect_stdout(io.StringIO()) as out:
                self.assertEqual(kut.main(["report", d]), 1)
        self.assertIn("MISSING b in base@c@on.tap", out.getvalue())

    def test_a_lost_result_is_a_failure_in_make_checks_lines(self):
        runs = {("series", "c", "on"): {"a": ("lost", "the test VM died in it")}}
        self.assertEqual(kut.results_lines(runs), ["fail\tkut a@c quirk=on\tthe test VM died in it"])

    def test_report_exit_status(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            self.assertEqual(kut.main(["report", self.dir.name]), 1)
        self.assertIn("WORSE a@c quirk=off: base pass, series fail", out.getvalue())


class Known(unittest.TestCase):
    KNOWN = {"x2apic": [("nmi-after-sti", None)]}

    def test_only_a_test_whose_every_failed_check_is_listed_is_known(self):
        tap = "ok 1 - x2apic: a\nnot ok 2 - x2apic: nmi-after-sti\n"
        self.assertEqual(kut.parse_tap(tap, self.KNOWN)["x2apic"][0], "known")
        self.assertEqual(kut.parse_tap(tap)["x2apic"][0], "fail")
        self.assertEqual(kut.parse_tap(tap + "not ok 3 - x2apic: TMCCT reset\n", self.KNOWN)["x2apic"][0], "fail")
        self.assertEqual(kut.parse_tap(tap + "not ok 3 - x2apic: timeout; duration=360s\n",
                                       self.KNOWN)["x2apic"][0], "timeout")
        self.assertEqual(kut.parse_tap(tap + "not ok 0 - x2apic: the test VM died in it (c)\n",
                                       self.KNOWN)["x2apic"][0], "lost")
        self.assertEqual(kut.parse_tap("not ok 1 - xapic: nmi-after-sti\n", self.KNOWN)["xapic"][0], "fail")
        # the whole name, after any prefix; not a part of it
        self.assertEqual(kut.parse_tap("not ok 1 - x2apic: apic: nmi-after-sti\n", self.KNOWN)["x2apic"][0],
                         "known")
        self.assertEqual(kut.parse_tap("not ok 1 - x2apic: nmi-after-sti-2\n", self.KNOWN)["x2apic"][0], "fail")

    def test_a_line_for_one_configuration_covers_only_it(self):
        known = kut.known_checks("x2apic@svm-tdp-mmu nmi-after-sti seen there only\n")
        tap = "not ok 1 - x2apic: nmi-after-sti\n"
        self.assertEqual(kut.parse_tap(tap, known, "svm-tdp-mmu")["x2apic"][0], "known")
        self.assertEqual(kut.parse_tap(tap, known, "svm-shadow")["x2apic"][0], "fail")

    def test_known_is_no_worse_than_a_pass_and_a_skip_with_its_reason_in_make_check(self):
        with tempfile.TemporaryDirectory() as d:
            write_runs(d, {"base@c@on": "ok 1 - x2apic: nmi-after-sti\n",
                           "series@c@on": "not ok 1 - x2apic: nmi-after-sti\n"})
            with open(os.path.join(d, "known"), "w") as f:
                f.write("# comment\nx2apic nmi-after-sti flaky on both kernels, 5 of 6\n")
            with contextlib.redirect_stdout(io.StringIO()) as out:
                self.assertEqual(kut.main(["report", d]), 1)
                self.assertEqual(kut.main(["report", d, os.path.join(d, "known")]), 0)
            self.assertIn("= known", out.getvalue())
            self.assertEqual(kut.main(["results", d, os.path.join(d, "res"), os.path.join(d, "known")]), 0)
            with open(os.path.join(d, "res")) as f:
                st, name, detail = f.read().rstrip("\n").split("\t")
        self.assertEqual((st, name), ("skip", "kut x2apic@c quirk=on"))
        self.assertIn("known flaky", detail)

    def test_a_line_without_a_reason_or_with_an_empty_config_is_an_error(self):
        for line in ("x2apic nmi-after-sti\n", "x2apic@ nmi-after-sti a reason\n", "@c nmi-after-sti a reason\n"):
            with self.assertRaises(ValueError):
                kut.known_checks(line)

    def test_a_check_with_spaces_is_named_in_double_quotes_and_whole(self):
        check = "TMCCT should not be reset to TMICT value"
        known = kut.known_checks('x2apic@svm-shadow "%s" timing, seen on both kernels\n' % check)
        self.assertEqual(known, {"x2apic": [(check, "svm-shadow")]})
        tap = "ok 1 - x2apic: a\nnot ok 2 - x2apic: %s\n" % check
        self.assertEqual(kut.parse_tap(tap, known, "svm-shadow")["x2apic"][0], "known")
        self.assertEqual(kut.parse_tap(tap, known, "svm-tdp-mmu")["x2apic"][0], "fail")
        self.assertEqual(kut.parse_tap("not ok 1 - x2apic: TMCCT should not be reset\n", known,
                                       "svm-shadow")["x2apic"][0], "fail")
        self.assertEqual(kut.parse_tap("not ok 1 - x2apic: TMCCT\n", known, "svm-shadow")["x2apic"][0], "fail")

    def test_an_unclosed_or_empty_quoted_check_or_one_without_a_reason_is_an_error(self):
        for line in ('x2apic "TMCCT should not be reset a reason\n', 'x2apic "" a reason\n',
                     'x2apic "TMCCT should not be reset"\n', 'x2apic "TMCCT"reason\n'):
            with self.assertRaises(ValueError, msg=line):
                kut.known_checks(line)

    def test_a_known_hang_ranks_its_timeout_as_a_failure_in_its_configuration_only(self):
        known = kut.known_checks("debug@svm-tdp-legacy <timeout> the #UD loop, on both kernels\n")
        self.assertEqual(known, {"debug": [(kut.KNOWN_HANG, "svm-tdp-legacy")]})
        tap = "ok 1 - debug: a\nnot ok 2 - debug: b\nnot ok 3 - debug: timeout; duration=90s\n"
        st, detail = kut.parse_tap(tap, known, "svm-tdp-legacy")["debug"]
        self.assertEqual(st, "fail")
        self.assertIn("a known hang", detail)
        self.assertEqual(kut.parse_tap(tap, known, "svm-shadow")["debug"][0], "timeout")
        # it excuses no check: the failed ones are still failures, and no
        # hang of another test
        self.assertEqual(kut.parse_tap("not ok 1 - debug: b\n", known, "svm-tdp-legacy")["debug"][0], "fail")
        self.assertEqual(kut.parse_tap("not ok 1 - umip: timeout; duration=90s\n", known,
                                       "svm-tdp-legacy")["umip"][0], "timeout")
        # not worse than the base's failure, worse than its pass
        series = kut.parse_tap(tap, known, "svm-tdp-legacy")
        self.assertEqual(kut.worse({("base", "svm-tdp-legacy", "on"): {"debug": ("fail", "")},
                                    ("series", "svm-tdp-legacy", "on"): series}), [])
        self.assertEqual(len(kut.worse({("base", "svm-tdp-legacy", "on"): {"debug": ("pass", "")},
                                        ("series", "svm-tdp-legacy", "on"): series})), 1)

    def test_the_projects_list_parses(self):
        with open(os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
                               "tests", "kut-known")) as f:
            self.assertIn("nmi-after-sti", [k for k, _ in kut.known_checks(f.read())["x2apic"]])


class Table(unittest.TestCase):
    def test_a_long_test_name_stays_apart_from_its_result(self):
        name = "svm_unsupported_instruction_intercept_test"
        runs = {("base", "c", "on"): {name: ("fail", ""), "a": ("pass", "")}}
        lines = kut.table(runs)
        self.assertEqual(lines[1].split(), ["a", "pass"])
        self.assertEqual(lines[2].split(), [name, "fail"])
        self.assertEqual(lines[0].index("c base"), lines[2].index("fail"))
        self.assertEqual([l.split() for l in lines[3:]],
                         [["=", "pass", "1"], ["=", "flaky", "0"], ["=", "known", "0"], ["=", "fail", "1"],
                          ["=", "timeout", "0"], ["=", "skip", "0"], ["=", "lost", "0"]])

    def test_each_runs_seconds_are_its_tests_done_lines_summed(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "base@c@on.tap"), "w") as f:
                f.write("# start a\nok 1 - a: x\n# done a seconds=30 timeout=180s\n"
                        "# start b\nnot ok 2 - b: timeout; duration=600s\n# done b seconds=1207 timeout=600s\n"
                        "ok 3 - c: seconds=99\n")
            with open(os.path.join(d, "series@c@on.tap"), "w") as f:
                f.write("# start a\nnot ok 0 - a: the test VM died in it\n")
            times = kut.suite_seconds(d)
            self.assertEqual(times, {("base", "c", "on"): 1237, ("series", "c", "on"): 0})
            lines = kut.table(kut.load(d), times)
        self.assertEqual(lines[-1].split(), ["=", "seconds", "1237", "0"])


class Settings(unittest.TestCase):
    ARGS = """# comment
access 600 its 4 KiB and 2 MiB page walks # trailing comment
svm 900 args=-latency_*,-x the latency tests run 1,000,000 VMRUNs
"""

    def test_a_line_gives_seconds_and_args_else_the_default(self):
        self.assertEqual(kut.settings(self.ARGS, "access", 180), (600, []))
        self.assertEqual(kut.settings(self.ARGS, "svm", 180), (900, ["-latency_*", "-x"]))
        self.assertEqual(kut.settings(self.ARGS, "debug", 180), (180, []))

    def test_malformed_lines_are_errors(self):
        for bad in ("debug", "debug ten why", "debug 60", "debug 0 why", "svm 60 args= why", "svm 60 args=-x"):
            with self.assertRaisesRegex(ValueError, "line 1: want"):
                kut.settings(bad + "\n", "other", 180)
        for bad in ("svm 60 args=$(reboot) why", "svm 60 args='x' why", 'svm 60 args="x why'):
            with self.assertRaisesRegex(ValueError, "line 1: .* letters, digits"):
                kut.settings(bad + "\n", "other", 180)
        with self.assertRaisesRegex(ValueError, "line 2: svm has a line already"):
            kut.settings("svm 60 why\nsvm 90 why\n", "other", 180)

    def test_cli_prints_seconds_tab_args(self):
        with tempfile.NamedTemporaryFile("w", suffix=".args") as f:
            f.write(self.ARGS)
            f.flush()
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                self.assertEqual(kut.main(["settings", f.name, "180", "svm", "debug"]), 0)
                self.assertEqual(kut.main(["settings", f.name, "180"]), 0)
        self.assertEqual(out.getvalue(), "svm\t900\t-latency_* -x\ndebug\t180\t\n")


class SplitTap(unittest.TestCase):
    SUITE = """# start a
ok 1 - a: x
# flaky a sig (run 2)
# done a seconds=3 timeout=180s
# start b
ok 2 - b: half a li
not ok 0 - b: the test VM died in it (build/kut/vm/x/console.log)
# done b
not ok 0 - c: not run, the test VM stopped before it (build/kut/vm/x/console.log)
"""

    def test_each_test_gets_its_lines_and_only_a_finished_one_is_kept(self):
        parts = kut.split_tap(self.SUITE)
        self.assertEqual(sorted(parts), ["a", "b", "c"])
        self.assertEqual(parts["a"], (["# start a", "ok 1 - a: x", "# flaky a sig (run 2)",
                                       "# done a seconds=3 timeout=180s"], True))
        self.assertFalse(parts["b"][1])
        self.assertEqual(len(parts["b"][0]), 4)
        self.assertEqual(parts["c"], (["not ok 0 - c: not run, the test VM stopped before it "
                                       "(build/kut/vm/x/console.log)"], False))

    def test_only_the_expected_timeout_and_args_finish(self):
        text = ("# start a\nok 1 - a: x\n# done a seconds=3 timeout=180s\n"
                "# start s\nok 1 - s: x\n# done s seconds=9 timeout=600s args=-latency_*\n")
        parts = kut.split_tap(text, {"a": kut.done_tail(180, []), "s": kut.done_tail(600, ["-latency_*"])})
        self.assertEqual({t: f for t, (_, f) in parts.items()}, {"a": True, "s": True})
        parts = kut.split_tap(text, {"a": kut.done_tail(300, []), "s": kut.done_tail(600, [])})
        self.assertEqual({t: f for t, (_, f) in parts.items()}, {"a": False, "s": False})

    def test_a_test_started_twice_or_blamed_outside_its_lines_never_finishes(self):
        text = ("# start a\nok 1 - a: x\n# done a seconds=3 timeout=180s\n"
                "# start b\n# done a seconds=3 timeout=180s\nok 1 - b: x\n# done b seconds=3 timeout=180s\n"
                "not ok 0 - b: not run, 5 test VMs died\n"
                "# start a\nok 1 - a: y\n# done a seconds=3 timeout=180s\n")
        parts = kut.split_tap(text)
        self.assertEqual({t: f for t, (_, f) in parts.items()}, {"a": False, "b": False})
        self.assertEqual(len(parts["a"][0]), 6)
        self.assertEqual(len(parts["b"][0]), 5)

    def test_pieces_parse_as_the_whole_did(self):
        parts = kut.split_tap(self.SUITE)
        whole = kut.parse_tap(self.SUITE)
        pieced = {}
        for lines, _ in parts.values():
            pieced.update(kut.parse_tap("\n".join(lines)))
        self.assertEqual(pieced, whole)

    def test_cli_writes_pieces_and_prints_the_finished(self):
        with tempfile.TemporaryDirectory() as d:
            tap = os.path.join(d, "on.tap")
            with open(tap, "w") as f:
                f.write(self.SUITE)
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                self.assertEqual(kut.main(["split", tap, os.path.join(d, "parts")]), 0)
            self.assertEqual(out.getvalue(), "a\n")
            self.assertEqual(sorted(os.listdir(os.path.join(d, "parts"))), ["a.tap", "b.tap", "c.tap"])


if __name__ == "__main__":
    unittest.main()
