import os
import subprocess
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def recipe(target, configs, script):
    """The line of `make -n TARGET CONFIGS=...` that runs SCRIPT."""
    out = subprocess.run(["make", "-n", "-s", "--no-print-directory", "-C", TOP, target,
                          "CONFIGS=" + configs], capture_output=True, text=True, check=True).stdout
    return next(l for l in out.splitlines() if script in l)


class Configs(unittest.TestCase):
    """CONFIGS= may list configurations apart by spaces or commas (README)."""

    def test_options_get_them_comma_separated(self):
        for configs in ("svm-shadow svm-tdp-mmu", "svm-shadow,svm-tdp-mmu", " svm-shadow, svm-tdp-mmu "):
            self.assertIn("--configs svm-shadow,svm-tdp-mmu ",
                          recipe("debug-matrix", configs, "scripts/matrix.py") + " ", configs)

    def test_arguments_get_one_each(self):
        self.assertTrue(recipe("faults", "svm-shadow,svm-tdp-mmu", "scripts/faults.sh")
                        .endswith("scripts/faults.sh svm-shadow svm-tdp-mmu"))
        self.assertIn("SLOTZAP_KUT_CONFIGS='svm-shadow svm-tdp-mmu'",
                      recipe("kut", "svm-shadow,svm-tdp-mmu", "scripts/kut.sh"))

    def test_none_is_every_one(self):
        for configs in ("", ",", " , "):
            self.assertNotIn("--configs", recipe("matrix", configs, "scripts/matrix.py"), repr(configs))
            self.assertNotIn("SLOTZAP_KUT_CONFIGS", recipe("kut", configs, "scripts/kut.sh"), repr(configs))


if __name__ == "__main__":
    unittest.main()
