"""harness/faults.py: the fail-nth sweep's lines -> results, and what else fails it."""
import os
import shutil
import tempfile
import unittest

from harness import console, faults
from harness.tests.common import text

ALLOC_FAILURE = text("console-alloc-failure.log").splitlines()


def names(res):
    return [n for _, n, _ in res]


def failed(res):
    return [(n, d) for st, n, d in res if st == "fail"]


class Parse(unittest.TestCase):
    def setUp(self):
        self.tap = text("faults-sweep.tap")

    def test_thirteen_lines_thirteen_results(self):
        res = faults.parse(self.tap, "svm-shadow")
        self.assertEqual(len(res), 13)
        self.assertEqual(res[0][:2], ("pass", "faults CREATE, quirk on@svm-shadow"))
        self.assertTrue(res[0][2].startswith("56 faults injected (n = 1..56)"))
        self.assertEqual(res[5][1], "faults KVM_ENABLE_CAP(SLOT_ZAP_ALL off), quirk on@svm-shadow")
        self.assertEqual(res[-1][1], "faults kmemleak@svm-shadow")

    def test_not_ok_fails(self):
        res = faults.parse("not ok kmemleak: 2 new unreferenced object(s)\n", "c")
        self.assertEqual(res, [("fail", "faults kmemleak@c", "2 new unreferenced object(s)")])

    def test_comments_are_not_results(self):
        self.assertEqual(faults.parse("# Totals: pass:12 fail:0\n# ok 1 a: b\nTAP version 13\n", "c"), [])


class Results(unittest.TestCase):
    def setUp(self):
        self.tap = text("faults-sweep.tap")

    def test_a_clean_sweep_is_its_thirteen_results(self):
        res = faults.results("c", self.tap, 0)
        self.assertEqual(len(res), 13)
        self.assertEqual(failed(res), [])

    def test_a_missing_result_is_a_named_failure(self):
        tap = self.tap.replace("ok kmemleak", "# kmemleak")
        res = faults.results("c", tap, 0)
        self.assertEqual([n for n, _ in failed(res)], ["faults@c"])
        self.assertIn("12 of 13 results", failed(res)[0][1])

    def test_a_sweep_that_did_not_finish_fails(self):
        res = faults.results("c", "", None)
        self.assertEqual(names(res), ["faults@c", "faults@c"])
        self.assertIn("did not run to its end", res[0][2])
        self.assertIn("0 of 13", res[1][2])

    def test_run_sh_failing_without_a_failed_result_fails(self):
        res = faults.results("c", self.tap, 139)
        self.assertEqual(failed(res), [("faults@c", "tests/faults/run.sh exited 139; see its output")])

    def test_a_failed_result_explains_run_sh_failing(self):
        tap = self.tap.replace("ok kmemleak", "not ok kmemleak")
        self.assertEqual([n for n, _ in failed(faults.results("c", tap, 1))], ["faults kmemleak@c"])

    def test_a_splat_fails_even_next_to_a_failed_result(self):
        tap = self.tap.replace("ok kmemleak", "not ok kmemleak")
        res = faults.results("c", tap, 1, splat="[ 9.0] BUG: KASAN: use-after-free")
        self.assertEqual([n for n, _ in failed(res)], ["faults kmemleak@c", "faults@c"])
        self.assertIn("KASAN", failed(res)[1][1])

    def test_the_vm_failing_fails(self):
        res = faults.results("c", self.tap, 0, vm_status=126)
        self.assertIn("vm.py exit 126", failed(res)[0][1])

    def test_the_assertion_is_named(self):
        out = ("TAP version 13\n1..12\n==== Test Assertion Failure ====\n"
               "  memslot_failnth_test.c:327: points > 0\n  pid=71 tid=71 errno=0 - Success\n"
               "     1\t0x0000000000402a4b: main at memslot_failnth_test.c:345\n"
               "  CREATE, quirk on: no allocation failed\n")
        res = faults.results("c", out, 254)
        self.assertIn("memslot_failnth_test.c:327: points > 0: CREATE, quirk on: no allocation failed",
                      failed(res)[-1][1])


class Judge(unittest.TestCase):
    """judge() on a VM's output directory, the console's allowance confined to the sweep."""

    def setUp(self):
        self.dir = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.dir)

    def write(self, name, body):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write(body)

    def vm(self, console_lines, status="0\n"):
        self.write("faults.tap", text("faults-sweep.tap"))
        if status is not None:
            self.write("faults.status", status)
        self.write("console.log", "\n".join(console_lines) + "\n")
        return faults.judge("c", self.dir)

    def test_the_sweeps_alloc_failures_are_allowed(self):
        res = self.vm(["# RUN memslot_zap_test", "# RUN faults"] + ALLOC_FAILURE)
        self.assertEqual(failed(res), [])

    def test_a_splat_while_the_sweep_ran_fails_it(self):
        res = self.vm(["# RUN faults"] + ALLOC_FAILURE + ["[  149.0] BUG: KASAN: slab-out-of-bounds"])
        self.assertEqual([n for n, _ in failed(res)], ["faults@c"])
        self.assertIn("KASAN", failed(res)[0][1])

    def test_no_status_file_fails(self):
        res = self.vm(["# RUN faults"] + ALLOC_FAILURE, status=None)
        self.assertIn("did not run to its end", failed(res)[0][1])

    def test_run_sh_status_is_read(self):
        self.assertIn("exited 2", failed(self.vm(["# RUN faults"] + ALLOC_FAILURE, "2\n"))[0][1])


class Confined(unittest.TestCase):
    """console.blame(injected=(TEST, COMM)): the allowance holds while TEST runs only."""

    def test_alloc_failure_in_another_test_is_its_splat(self):
        lines = ["# RUN faults", "# RUN smm_test"] + ALLOC_FAILURE
        self.assertEqual(list(console.blame(lines, ("faults", "memslot_failnth"))), ["smm_test"])

    def test_alloc_failure_before_the_test_is_a_splat(self):
        lines = ["# RUN smm_test"] + ALLOC_FAILURE + ["# RUN faults"]
        self.assertEqual(list(console.blame(lines, ("faults", "memslot_failnth"))), ["smm_test"])

    def test_kmemleak_line_outside_the_test_is_a_splat(self):
        lines = ["[    1.0] Linux version 6.1.192", "# RUN smm_test",
                 "[  300.5] kmemleak: 3 new suspected memory leaks (see /sys/kernel/debug/kmemleak)",
                 "# RUN faults",
                 "[  400.5] kmemleak: 1 new suspected memory leaks (see /sys/kernel/debug/kmemleak)"]
        self.assertEqual(console.blame(lines, ("faults", "memslot_failnth")),
                         {"smm_test": lines[2].strip()})

    def test_never_started_allows_nothing(self):
        self.assertEqual(console.running(["# RUN a", "x"], "faults"), (0, 0))
        self.assertEqual(list(console.blame(ALLOC_FAILURE, ("faults", "memslot_failnth"))), ["boot"])

    def test_the_region_ends_at_the_next_test(self):
        self.assertEqual(console.running(["x", "# RUN faults", "y", "# RUN b", "z"], "faults"), (1, 3))
        self.assertEqual(console.running(["# RUN faults", "y"], "faults"), (0, 2))

    def test_without_injection_nothing_is_allowed(self):
        self.assertEqual(list(console.blame(["# RUN faults"] + ALLOC_FAILURE)), ["faults"])


if __name__ == "__main__":
    unittest.main()
