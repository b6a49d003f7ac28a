import io
import os
import tempfile
import unittest
from contextlib import redirect_stdout

from harness import results


class Verdict(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()

    def write(self, name, body):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write(body)

    def run_verdict(self):
        out = io.StringIO()
        with redirect_stdout(out):
            rc = results.main(["verdict", self.dir])
        return rc, out.getvalue().splitlines()

    def test_all_pass(self):
        self.write("a.results", "pass\tt1@c\t\npass\tt2@c\t\nskip\tt3@c\twhy\n")
        self.write("stages.tsv", "a\t0\t10\ta.results\n")
        rc, lines = self.run_verdict()
        self.assertEqual((rc, lines[-1]), (0, "2 passed, 0 failed, 1 skipped"))

    def test_stage_that_dies_before_writing_results_fails(self):
        self.write("a.results", "pass\tt1@c\t\n")
        self.write("stages.tsv", "a\t0\t10\ta.results\nqemu\t1\t5\tqemu.results\n")
        rc, lines = self.run_verdict()
        self.assertEqual(rc, 1)
        self.assertEqual(lines[-1], "1 passed, 1 failed, 0 skipped")
        self.assertTrue(any("stage qemu" in l and "[crashed]" in l for l in lines))

    def test_stage_that_exits_nonzero_with_only_passes_fails(self):
        self.write("m.results", "pass\tt1@c\t\n")
        self.write("stages.tsv", "matrix\t1\t10\tm.results\n")
        self.assertEqual(self.run_verdict()[0], 1)

    def test_stage_that_exits_zero_without_results_fails(self):
        self.write("stages.tsv", "hygiene\t0\t10\thygiene.results\n")
        rc, lines = self.run_verdict()
        self.assertEqual(rc, 1)
        self.assertIn("wrote no results", "\n".join(lines))

    def test_a_row_cut_short_is_a_crashed_stage(self):
        self.write("a.results", "pass\tt1@c\t\n")
        self.write("stages.tsv", "a\t0\t10\ta.results\nhygiene\t0\t10\n")
        rc, lines = self.run_verdict()
        self.assertEqual(rc, 1)
        self.assertEqual(lines[-1], "1 passed, 1 failed, 0 skipped")
        self.assertTrue(any("row 2 of stages.tsv" in l and "[crashed]" in l for l in lines))

    def test_timeout_is_named(self):
        self.write("stages.tsv", "intel\t124\t1800\tintel.results\n")
        self.assertIn("timed out", "\n".join(self.run_verdict()[1]))

    def test_failed_result_counts_once(self):
        self.write("m.results", "fail\tt1@c\tboom\npass\tt2@c\t\n")
        self.write("stages.tsv", "matrix\t1\t10\tm.results\n")
        rc, lines = self.run_verdict()
        self.assertEqual(lines[-1], "1 passed, 1 failed, 0 skipped")
        self.assertIn("FAILED: t1@c (boom)", lines)

    def test_flaky_line_before_the_final_line(self):
        self.write("m.results", "flaky\tselftest memslot_torture_test@svm-tdp-mmu\tflaky=x\npass\tt@c\t\n")
        self.write("stages.tsv", "matrix\t0\t10\tm.results\n")
        rc, lines = self.run_verdict()
        self.assertEqual(rc, 0)
        self.assertTrue(lines[-2].startswith("flaky: 1 (platform signature matched: "
                                             "selftest memslot_torture_test@svm-tdp-mmu"))
        self.assertEqual(lines[-1], "1 passed, 0 failed, 0 skipped")

    def test_unknown_status_is_a_failure(self):
        self.write("m.results", "passed\tt@c\t\n")
        self.write("stages.tsv", "matrix\t0\t10\tm.results\n")
        self.assertEqual(self.run_verdict()[0], 1)

    def test_results_not_named_in_stages_are_not_read(self):
        self.write("old.results", "pass\tstale@c\t\n")
        self.write("a.results", "pass\tt@c\t\n")
        self.write("stages.tsv", "a\t0\t1\ta.results\n")
        self.assertEqual(self.run_verdict()[1][-1], "1 passed, 0 failed, 0 skipped")

    def test_no_stages_file_fails(self):
        rc, lines = self.run_verdict()
        self.assertEqual((rc, lines[-1]), (1, "0 passed, 1 failed, 0 skipped"))


if __name__ == "__main__":
    unittest.main()
