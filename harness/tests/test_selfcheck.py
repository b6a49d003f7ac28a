"""harness/selfcheck.py: the test a mutation names only saves time.

Only paths that never run the whole suite: it holds these tests too."""

import io
import os
import unittest
from unittest import mock

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


def empty_tree(root):
    for d in ("harness", "harness/tests"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
        open(os.path.join(root, d, "__init__.py"), "w").close()


class Baseline(unittest.TestCase):
    def test_unit_fails_when_no_test_ran(self):
        with mock.patch.object(selfcheck, "copy_tree", empty_tree), \
                mock.patch("sys.stderr", io.StringIO()), mock.patch("sys.stdout", io.StringIO()):
            self.assertEqual(selfcheck.unit(), 125)

    def test_the_baseline_runs_unless_told_it_just_did(self):
        runs = []
        with mock.patch.object(selfcheck, "MUTATIONS", []), mock.patch.object(selfcheck, "SCRIPT_MUTATIONS", []), \
                mock.patch.object(selfcheck, "copy_tree", empty_tree), \
                mock.patch.object(selfcheck, "run_tests", lambda root, *a, **k: runs.append(root) or 1), \
                mock.patch("sys.stdout", io.StringIO()):
            self.assertEqual(selfcheck.main([]), 1)     # the baseline failed
            self.assertEqual(len(runs), 1)
            self.assertEqual(selfcheck.main(["--no-baseline"]), 0)
            self.assertEqual(len(runs), 1)


if __name__ == "__main__":
    unittest.main()
