import contextlib
import io
import os
import unittest

from harness import cli


class Cli(unittest.TestCase):
    def test_every_job_runs_an_executable_of_the_tree(self):
        for job in cli.JOBS:
            for cmd in cli.commands(job, []):
                self.assertTrue(os.access(cmd[0], os.X_OK), "%s: %s is not executable" % (job, cmd[0]))

    def test_arguments_pass_through(self):
        self.assertEqual(cli.commands("matrix", ["--configs", "svm-shadow", "build/x"]),
                         [[os.path.join(cli.TOP, "scripts/matrix.py"), "--configs", "svm-shadow", "build/x"]])

    def test_repository_paths_are_absolute(self):
        (cmd,) = cli.commands("kernel", [])
        self.assertEqual(cmd, [os.path.join(cli.TOP, p) for p in cli.BUILD_KERNEL])

    def test_a_job_of_several_commands_takes_no_arguments(self):
        self.assertEqual(len(cli.commands("build", [])), 2)
        with self.assertRaises(ValueError):
            cli.commands("build", ["x"])

    def test_unknown_job(self):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            self.assertEqual(cli.main(["nosuch"]), 2)
        self.assertIn("no job 'nosuch'", err.getvalue())
        with self.assertRaises(KeyError):
            cli.commands("nosuch", [])


if __name__ == "__main__":
    unittest.main()
