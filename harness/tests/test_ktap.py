import unittest

from harness import ktap
from harness.tests.common import data


class Parse(unittest.TestCase):
    def setUp(self):
        self.text = ktap.read(data("results-nonutf8.tap"))
        self.res = ktap.parse(self.text)

    def test_statuses(self):
        self.assertEqual({t: s for t, (s, _) in self.res.items()},
                         {"a": "pass", "b": "skip", "c": "fail", "d": "flaky"})

    def test_hash_in_skip_reason_is_kept(self):
        self.assertEqual(self.res["b"][1], "TCG lacks NRIP save (#BP intercept)")

    def test_non_utf8_output_is_read(self):
        self.assertIn("garbage", self.res["c"][1])

    def test_planned(self):
        self.assertEqual(ktap.planned(self.text), ["a", "b", "c", "d"])
        self.assertIsNone(ktap.planned("TAP version 13\n"))

    def test_missing_file_is_empty(self):
        self.assertEqual(ktap.read(data("nonexistent.tap")), "")

    def test_not_ok_with_flaky_word_is_a_failure(self):
        self.assertEqual(ktap.parse_line("not ok 1 t # exit=1 flaky=x")[1], "fail")

    def test_skip_only_as_the_directive(self):
        self.assertEqual(ktap.parse_line("ok 1 t # time=2.0s after SKIP of t2")[1], "pass")

    def test_diagnostics_are_not_results(self):
        self.assertIsNone(ktap.parse_line("#   ok 1 looks like a result"))


if __name__ == "__main__":
    unittest.main()
