"""scripts/hygiene.sh on a toy kernel tree whose build is a stub: where the
prefixes build (build/linux when its commits are the series, else the
worktree), that build/linux is left as it was however the stage ends, and
that a prefix that fails to build fails its result."""

import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# setup/build-kernel.sh: logs OBJDIR, the tree and the subject of its HEAD;
# exits 1 when the subject contains STUB_FAIL_AT; when it contains
# STUB_SLOW_AT, touches build/slow and sleeps 3 s first
BUILD_STUB = """#!/bin/bash
src=${SLOTZAP_KSRC:-$(dirname "$0")/../build/linux}
subject=$(git -C "$src" log -1 --format=%s)
echo "$1|$src|$subject" >> "$(dirname "$0")/../builds.log"
case "$subject" in *"${STUB_SLOW_AT:-@none@}"*) touch "$(dirname "$0")/../build/slow"; sleep 3;; esac
case "$subject" in *"${STUB_FAIL_AT:-@none@}"*) exit 1;; esac
exit 0
"""
UPSTREAM_STUB = """#!/bin/bash
printf 'pass\\tupstream stub\\t\\n' > "$(dirname "$0")/../build/results/upstream.results"
"""
# (subject, file, content): one patch each; the first touches only the
# selftests, the second page-track (KVM-GT is compiled at it)
PATCHES = [
    ("KVM: selftests: one", "tools/testing/selftests/kvm/t.c", "int t;\n"),
    ("KVM: x86: two", "arch/x86/kvm/mmu/page_track.c", "int pt2;\n"),
    ("KVM: x86: three", "arch/x86/kvm/x86.c", "int x3;\n"),
]


def git(cwd, *args):
    return subprocess.run(["git", "-C", cwd] + list(args), check=True,
                          capture_output=True, text=True).stdout.strip()


class Hygiene(unittest.TestCase):
    def setUp(self):
        self.top = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.top)
        for d in ("scripts", "setup", "patches", "build/results"):
            os.makedirs(os.path.join(self.top, d))
        for f in ("scripts/hygiene.sh", "scripts/lib.sh"):
            shutil.copy(os.path.join(TOP, f), os.path.join(self.top, f))
        self.write("setup/build-kernel.sh", BUILD_STUB, 0o755)
        self.write("scripts/upstream.sh", UPSTREAM_STUB, 0o755)
        self.write("configs/kvm-test.config", "")
        self.write("configs/kvmgt.config", "")
        self.write("patches/BASE", "PACKAGE=linux-source-6.1\nVERSION=6.1.1-1\nKERNEL=6.1.1\n")
        self.src = os.path.join(self.top, "build/linux")
        self.write("build/linux/Makefile", "VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 1\n")
        self.write("build/linux/scripts/checkpatch.pl", "exit 0;\n")
        self.write("build/linux/drivers/gpu/drm/i915/gvt/kvmgt.c", "int g;\n")
        self.write("build/linux/arch/x86/kvm/x86.c", "int x;\n")
        git(self.src, "init", "-q", "-b", "series")
        git(self.src, "config", "user.name", "kvm-slotzap")
        git(self.src, "config", "user.email", "devel@kvm-slotzap.invalid")
        git(self.src, "add", "-A")
        git(self.src, "commit", "-q", "-m", "Linux 6.1.1 (Debian linux-source-6.1 6.1.1-1)")
        git(self.src, "tag", "base")
        for subject, path, content in PATCHES:
            self.write("build/linux/" + path, content)
            git(self.src, "add", "-A")
            git(self.src, "commit", "-q", "-m", subject)
        git(self.src, "format-patch", "-q", "-o", os.path.join(self.top, "patches"), "base")
        names = sorted(n for n in os.listdir(os.path.join(self.top, "patches")) if n.endswith(".patch"))
        self.write("patches/series", "\n".join(names) + "\n")
        self.head = git(self.src, "rev-parse", "HEAD")

    def write(self, path, text, mode=0o644):
        f = os.path.join(self.top, path)
        os.makedirs(os.path.dirname(f), exist_ok=True)
        with open(f, "w") as fh:
            fh.write(text)
        os.chmod(f, mode)

    def run_hygiene(self, **env):
        return subprocess.run(["bash", os.path.join(self.top, "scripts/hygiene.sh")],
                              env=dict(os.environ, **env), capture_output=True, text=True, timeout=120)

    def builds(self):
        """(OBJDIR relative to build/, tree relative to build/, subject) per build."""
        with open(os.path.join(self.top, "builds.log")) as f:
            rows = [line.rstrip("\n").split("|") for line in f]
        rel = lambda p: os.path.relpath(os.path.realpath(p), os.path.join(self.top, "build"))
        return [(rel(o), rel(s), subj) for o, s, subj in rows]

    def results(self):
        with open(os.path.join(self.top, "build/results/hygiene.results")) as f:
            return [line.split("\t")[:2] for line in f]

    def assert_src_as_it_was(self):
        self.assertEqual(git(self.src, "symbolic-ref", "--short", "HEAD"), "series")
        self.assertEqual(git(self.src, "rev-parse", "HEAD"), self.head)
        self.assertEqual(git(self.src, "status", "--porcelain", "--untracked-files=no"), "")

    def test_the_prefixes_build_in_build_linux_when_its_commits_are_the_series(self):
        p = self.run_hygiene()
        self.assertEqual(p.returncode, 0, p.stderr)
        kernel = [b for b in self.builds() if b[0] == "obj-test"]
        self.assertEqual(kernel, [("obj-test", "linux", s) for s, _, _ in PATCHES])
        self.assertIn(("obj-gvt", "linux", "KVM: x86: two"), self.builds())
        self.assertEqual(len(self.builds()), 4)
        self.assertEqual([v for v, _ in self.results()].count("fail"), 0)
        self.assertEqual(sum(n.startswith("builds prefix") for _, n in self.results()), 3)
        self.assert_src_as_it_was()

    def test_uncommitted_work_in_build_linux_keeps_the_prefixes_in_the_worktree(self):
        self.write("build/linux/arch/x86/kvm/x86.c", "int work_in_progress;\n")
        p = self.run_hygiene()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual({(o, s) for o, s, _ in self.builds()},
                         {("bisect/obj-test", "bisect/linux"), ("bisect/obj-gvt", "bisect/linux")})
        with open(os.path.join(self.src, "arch/x86/kvm/x86.c")) as f:
            self.assertEqual(f.read(), "int work_in_progress;\n")
        self.assertEqual(git(self.src, "rev-parse", "HEAD"), self.head)

    def test_commits_that_are_not_the_series_keep_the_prefixes_in_the_worktree(self):
        self.write("build/linux/arch/x86/kvm/x86.c", "int not_exported;\n")
        git(self.src, "commit", "-q", "-a", "--amend", "--no-edit")
        p = self.run_hygiene()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual({s for _, s, _ in self.builds()}, {"bisect/linux"})

    def test_a_prefix_that_does_not_build_fails_and_build_linux_is_restored(self):
        p = self.run_hygiene(STUB_FAIL_AT="two")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(["fail", "builds prefix 2/3 (0002-KVM-x86-two.patch)"], self.results())
        self.assertIn(["pass", "builds prefix 3/3 (0003-KVM-x86-three.patch)"], self.results())
        self.assert_src_as_it_was()

    def test_a_stage_stopped_during_a_build_restores_build_linux(self):
        p = subprocess.Popen(["bash", os.path.join(self.top, "scripts/hygiene.sh")],
                             env=dict(os.environ, STUB_SLOW_AT="two"),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        slow = os.path.join(self.top, "build/slow")
        for _ in range(300):
            if os.path.exists(slow) or p.poll() is not None:
                break
            time.sleep(0.1)
        self.assertTrue(os.path.exists(slow), "the stub build of prefix 2 never started")
        self.assertNotEqual(git(self.src, "rev-parse", "HEAD"), self.head)
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(timeout=60), 143)
        self.assertNotIn("KVM: x86: three", [s for _, _, s in self.builds()])
        self.assert_src_as_it_was()


if __name__ == "__main__":
    unittest.main()
