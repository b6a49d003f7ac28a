import os
import shutil
import tempfile
import unittest

from harness import plan


class Plan(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        for f in os.listdir(plan.TESTS):
            if os.path.isfile(os.path.join(plan.TESTS, f)):
                shutil.copy(os.path.join(plan.TESTS, f), self.dir)
        self.known = {"memslot_zap_test", "memslot_torture_test", "smm_test",
                      "nx_huge_pages_test.sh"}

    def tearDown(self):
        shutil.rmtree(self.dir)

    def append(self, name, line):
        with open(os.path.join(self.dir, name), "a") as f:
            f.write(line + "\n")

    def test_the_repositorys_plan_is_sound(self):
        self.assertEqual(plan.check(self.dir), [])

    def test_configs_lists_the_amd_configurations_in_order(self):
        import contextlib
        import io
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            self.assertEqual(plan.main(["configs"]), 0)
        self.assertEqual(out.getvalue().split(), ["svm-shadow", "svm-tdp-legacy", "svm-tdp-mmu"])

    def test_unknown_configuration(self):
        self.append("skip-list", "smm_test@svm-tdp-mu  a typo")
        self.assertIn("unknown configuration 'svm-tdp-mu'", "\n".join(plan.check(self.dir)))

    def test_the_harness_own_tests_are_known(self):
        # the retry policy names them beside the selftests: 'boot' (matrix.py
        # reruns a VM on it) and the Debian modules VM
        problems = "\n".join(plan.check(self.dir, self.known))
        self.assertNotIn("'boot'", problems)
        self.assertNotIn("'debian-modules-vm'", problems)

    def test_unknown_test(self):
        self.append("selftest-args", "memslot_zap_tset 100")
        self.assertIn("unknown test 'memslot_zap_tset'",
                      "\n".join(plan.check(self.dir, self.known)))

    def test_check_scope_entries_are_checked(self):
        for line, known, problem in [
                ("smm_test svm-tdp-mu  a typo", None, "unknown configuration 'svm-tdp-mu'"),
                ("smm_test svm-tdp-mmu", None, "needs a configuration and a reason"),
                ("smm_tset svm-tdp-mmu  a typo", self.known, "unknown test 'smm_tset'")]:
            with self.subTest(line=line):
                self.tearDown()   # a fresh copy of the plan for each line
                self.setUp()
                self.append("check-scope", line)
                self.assertIn(problem, "\n".join(plan.check(self.dir, known)))

    def test_skip_needs_a_reason(self):
        self.append("skip-list", "smm_test")
        self.assertIn("has no reason", "\n".join(plan.check(self.dir)))

    def test_debug_variant_must_exist(self):
        self.append("debug-tests", "memslot_zap_test+nosuch")
        self.assertIn("variant", "\n".join(plan.check(self.dir)))

    def test_bad_retry_policy(self):
        self.append("platform-retries", "retry smm_test nosuch-signature")
        self.assertIn("unknown signature", "\n".join(plan.check(self.dir)))


if __name__ == "__main__":
    unittest.main()
