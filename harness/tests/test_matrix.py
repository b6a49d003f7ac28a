"""scripts/matrix.py's VM-death handling, with a fake VM backend."""
import os
import shutil
import sys
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "scripts"))
import matrix  # noqa: E402

BOOT_LINE = "[    0.000000] Linux version 6.1.192\n"


class FakeVM:
    """Each call plays the next script: (status, tests reported, console extra)."""

    def __init__(self, tests, scripts):
        self.tests, self.scripts, self.calls = tests, list(scripts), []

    def __call__(self, config, tests, timeout, kernel, out):
        os.makedirs(out, exist_ok=True)
        status, reported, extra = self.scripts.pop(0)
        planned = tests or self.tests
        self.calls.append(list(planned))
        tap = "TAP version 13\n1..%d\n# tests: %s\n" % (len(planned), " ".join(planned))
        con = BOOT_LINE
        for i, t in enumerate(planned):
            con += "# RUN %s\n" % t
            if t in reported:
                tap += "%s %d %s\n" % (reported[t], i + 1, t)
            else:
                con += extra
                break
        with open(os.path.join(out, "results.tap"), "w") as f:
            f.write(tap)
        with open(os.path.join(out, "console.log"), "w") as f:
            f.write(con)
        return status, os.path.join(out, "results.tap")


class Deaths(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.saved, matrix.RESULTS = matrix.RESULTS, self.dir

    def tearDown(self):
        matrix.RESULTS = self.saved
        shutil.rmtree(self.dir)

    def run_config(self, fake):
        return matrix.run_config("c", [], 1000, "k", "c", boot=fake)[0]

    def test_vm_death_fails_the_running_test_and_the_rest_run(self):
        fake = FakeVM(["a", "b", "c"], [(125, {"a": "ok"}, ""), (0, {"c": "ok"}, "")])
        res = self.run_config(fake)
        self.assertEqual(res["b"][0], "fail")
        self.assertIn("the VM died", res["b"][1])
        self.assertEqual(res["c"][0], "pass")
        self.assertEqual(fake.calls[1], ["c"])   # b is not run again

    def test_splat_fails_the_test_it_is_blamed_on(self):
        splat = "[   10.0] BUG: unable to handle page fault\n"
        fake = FakeVM(["a", "b"], [(125, {"a": "ok"}, splat), (0, {}, "")])
        res = self.run_config(fake)
        self.assertTrue(res["b"][1].startswith("kernel splat"))

    def test_no_test_started_is_a_failure(self):
        def dead(config, tests, timeout, kernel, out):
            os.makedirs(out, exist_ok=True)
            return 125, os.path.join(out, "results.tap")
        res = self.run_config(dead)
        self.assertEqual([st for st, _ in res.values()], ["fail"])

    def test_nonzero_vm_status_after_all_reported_passes_fails(self):
        fake = FakeVM(["a"], [(1, {"a": "ok"}, "")])
        res = self.run_config(fake)
        self.assertIn("fail", [st for st, _ in res.values()])

    def test_at_most_max_boots(self):
        fake = FakeVM(["a", "b", "c", "d", "e"], [(125, {}, "")] * matrix.MAX_BOOTS)
        res = self.run_config(fake)
        self.assertEqual(len(fake.calls), matrix.MAX_BOOTS)
        self.assertTrue(all(st == "fail" for st, _ in res.values()))
        self.assertEqual(set(res), {"a", "b", "c", "d", "e"})


if __name__ == "__main__":
    unittest.main()
