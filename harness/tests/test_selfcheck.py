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

    def test_every_mutation_names_a_test_or_has_a_test_file_of_its_own(self):
        # otherwise it runs the whole suite up to its first failure: 25-28 s
        # a mutation, where a named test takes under a second
        mutations = [("harness/" + m[0],) + m[1:] for m in selfcheck.MUTATIONS] + selfcheck.SCRIPT_MUTATIONS
        costly = [m[3] for m in mutations if not (len(m) > 4 and m[4]) and not selfcheck.tests_of(m[0])]
        self.assertEqual(costly, [])


def empty_tree(root):
    for d in ("harness", "harness/tests"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
        open(os.path.join(root, d, "__init__.py"), "w").close()


def tree_with(body):
    """A copy_tree that makes a tree whose one unit test runs BODY."""
    def make(root):
        empty_tree(root)
        with open(os.path.join(root, "harness/tests/test_one.py"), "w") as f:
            f.write("import os, time, unittest\n\nclass T(unittest.TestCase):\n"
                    "    def test_it(self):\n        %s\n" % body)
    return make


class Baseline(unittest.TestCase):
    def unit(self, tree, timeout=selfcheck.TESTS_TIMEOUT):
        with mock.patch.object(selfcheck, "copy_tree", tree), mock.patch.object(selfcheck, "TESTS_TIMEOUT", timeout), \
                mock.patch("sys.stderr", io.StringIO()), mock.patch("sys.stdout", io.StringIO()):
            return selfcheck.unit()

    def test_unit_passes_a_passing_suite_only(self):
        self.assertEqual(self.unit(tree_with("pass")), 0)
        self.assertEqual(self.unit(tree_with("self.fail('no')")), 1)

    def test_unit_fails_when_no_test_ran(self):
        self.assertEqual(self.unit(empty_tree), 125)
        # a suite that exits 0 before its summary
        self.assertNotEqual(self.unit(tree_with("os._exit(0)")), 0)

    def test_unit_fails_a_suite_slower_than_the_selfcheck_allows(self):
        self.assertEqual(self.unit(tree_with("time.sleep(30)"), timeout=2), 124)

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
