import os
import subprocess
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def src(cwd, ksrc=None):
    """SRC of scripts/lib.sh sourced in CWD, with SLOTZAP_KSRC=KSRC."""
    env = dict(os.environ)
    env.pop("SLOTZAP_KSRC", None)
    if ksrc is not None:
        env["SLOTZAP_KSRC"] = ksrc
    return subprocess.run(["bash", "-c", '. "$1"; echo "$SRC"', "-", os.path.join(TOP, "scripts/lib.sh")],
                          cwd=cwd, env=env, capture_output=True, text=True, check=True).stdout.strip()


class KernelTree(unittest.TestCase):
    def test_default_is_build_linux(self):
        self.assertEqual(src(TOP), os.path.join(TOP, "build/linux"))

    def test_a_relative_tree_is_taken_from_where_the_command_started(self):
        # build-kernel.sh cds into the object directory: a relative SRC broke it
        with tempfile.TemporaryDirectory() as d:
            self.assertEqual(src(d, "base/linux"), os.path.join(os.path.realpath(d), "base/linux"))

    def test_an_absolute_tree_is_kept_as_given(self):
        # symlinks too: paths built from TOP and SRC must keep agreeing
        with tempfile.TemporaryDirectory() as d:
            os.mkdir(os.path.join(d, "real"))
            os.symlink("real", os.path.join(d, "link"))
            self.assertEqual(src(TOP, os.path.join(d, "link")), os.path.join(d, "link"))


if __name__ == "__main__":
    unittest.main()
