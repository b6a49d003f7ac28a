"""harness/selfcheck.py: the test a mutation names only saves time.

Only paths that never run the whole suite: it holds these tests too."""

import unittest

from harness import selfcheck


class NamedTest(unittest.TestCase):
    def test_a_named_test_that_does_not_exist_is_stale(self):
        path, what, verdict = selfcheck.try_mutation(
            "harness/retry.py", "MAX_RUNS = 2", "MAX_RUNS = 5", "more retries", "test_no_such_test_anywhere")
        self.assertEqual(verdict, "STALE")
        self.assertIn("no test is named test_no_such_test_anywhere", what)

    def test_a_mutation_its_named_test_misses_is_killed_by_the_others_and_says_so(self):
        # the named test (of the console) passes with retry.py's slip; the
        # module's own tests kill it
        path, what, verdict = selfcheck.try_mutation(
            "harness/retry.py", "MAX_RUNS = 2", "MAX_RUNS = 5", "more retries",
            "test_splat_before_any_test_is_the_boots")
        self.assertEqual(verdict, "killed")
        self.assertIn("(not by test_splat_before_any_test_is_the_boots)", what)


if __name__ == "__main__":
    unittest.main()
