import os
import subprocess
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def lib(script, cwd=TOP, ksrc=None, args=()):
    """Run bash SCRIPT after sourcing scripts/lib.sh ($1) in CWD, with
    SLOTZAP_KSRC=KSRC; ARGS are $2...; -> CompletedProcess."""
    env = dict(os.environ)
    env.pop("SLOTZAP_KSRC", None)
    if ksrc is not None:
        env["SLOTZAP_KSRC"] = ksrc
    return subprocess.run(["bash", "-c", '. "$1"; ' + script, "-", os.path.join(TOP, "scripts/lib.sh"), *args],
                          cwd=cwd, env=env, capture_output=True, text=True)


def src(cwd, ksrc=None):
    """SRC of scripts/lib.sh sourced in CWD, with SLOTZAP_KSRC=KSRC."""
    return lib('echo "$SRC"', cwd, ksrc).stdout.strip()


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


class Selftests(unittest.TestCase):
    def test_they_are_the_trees_own(self):
        out = lib('echo "$KVM_DIR"', ksrc="/k").stdout.strip()
        self.assertEqual(out, "/k/tools/testing/selftests/kvm")

    def test_building_one_needs_the_library_and_says_how_to_get_it(self):
        with tempfile.TemporaryDirectory() as d:
            r = lib('KVM_OUT=$2; build_selftest "$2/t.c" "$2/t"', args=(d,))
            self.assertEqual(r.returncode, 1)
            self.assertIn("run 'make selftests' first", r.stderr)
            self.assertFalse(os.path.exists(os.path.join(d, "t")))


if __name__ == "__main__":
    unittest.main()
