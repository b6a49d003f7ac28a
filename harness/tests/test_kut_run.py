"""guest/kut-run.sh and scripts/kut.sh's vmrun and check, with KVM, QEMU
and the test VM faked: a KUT tree whose run_tests.sh passes a test when it
is given its test_args, and a vm.py that reports a kernel splat."""

import os
import subprocess
import tempfile
import unittest

from harness import kut

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# run_tests.sh of the fake KUT: -l lists the tests; TEST prints a check with
# the -append value KUT would give it (test_args, as KUT evals it)
RUN_TESTS = r'''#!/bin/bash
[ "$1" = -l ] && { sed -n 's/^\[\(.*\)\]$/\1/p' x86/unittests.cfg; exit 0; }
T=$1
args=$(sed -n 's/^test_args *= *//p' x86/unittests.cfg)
eval "set -- $args"
mkdir -p logs
printf 'PASS: append=[%s] words=%d timeout=%s\n' "$*" $# "$TIMEOUT" > "logs/$T.log"
echo "PASS $T (1 tests)"
'''
CFG = """[plain]
file = plain.flat

[quoted]
file = quoted.flat
test_args = "-a -b"

[single]
file = single.flat
test_args = 'cpuid'
"""


class KutRun(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        t = self.top = self.tmp.name
        for d in ("guest", "tests", "build/kut/src/x86", "bin"):
            os.makedirs(os.path.join(t, d))
        os.symlink(os.path.join(TOP, "guest/kut-run.sh"), os.path.join(t, "guest/kut-run.sh"))
        os.symlink(os.path.join(TOP, "harness"), os.path.join(t, "harness"))
        # no tracefs on the host: the platform trace is a no-op
        with open(os.path.join(t, "guest/platform-trace.sh"), "w") as f:
            f.write("tracefs=/nonexistent\ntrace_watch() { :; }; trace_unwatch() { :; }; trace_clear() { :; }; trace_hits() { :; }\n")
        src = os.path.join(t, "build/kut/src")
        open(os.path.join(src, "config.mak"), "w").close()
        with open(os.path.join(src, "x86/unittests.cfg"), "w") as f:
            f.write(CFG)
        with open(os.path.join(src, "run_tests.sh"), "w") as f:
            f.write(RUN_TESTS)
        os.chmod(os.path.join(src, "run_tests.sh"), 0o755)
        with open(os.path.join(t, "bin/qemu-system-x86_64"), "w") as f:
            f.write("#!/bin/sh\nexit 0\n")
        os.chmod(os.path.join(t, "bin/qemu-system-x86_64"), 0o755)
        with open(os.path.join(t, "tests/kut-args"), "w") as f:
            f.write("quoted 60 args=-x_*,-y why\nsingle 70 args=-z why\n")

    def tearDown(self):
        self.tmp.cleanup()

    def kut_run(self, *args):
        env = dict(os.environ, PATH=os.path.join(self.top, "bin") + os.pathsep + os.environ["PATH"],
                   OUT=self.top)
        p = subprocess.run(["bash", os.path.join(self.top, "guest/kut-run.sh"), "-c", "svm-shadow"] + list(args),
                           env=env, capture_output=True, text=True, timeout=60)
        return p

    def test_args_reach_the_test_as_one_word_and_the_done_line_names_them(self):
        tap = os.path.join(self.top, "on.tap")
        p = self.kut_run("on", tap, "plain", "quoted", "single")
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(tap) as f:
            text = f.read()
        self.assertIn("ok 2 - quoted: append=[-a -b -x_* -y] words=1 timeout=60s", text)
        self.assertIn("ok 3 - single: append=[cpuid -z] words=1 timeout=70s", text)
        self.assertIn("# done quoted seconds=", text)
        parts = kut.split_tap(text, {"plain": kut.done_tail(180, []), "quoted": kut.done_tail(60, ["-x_*", "-y"]),
                                     "single": kut.done_tail(70, ["-z"])})
        self.assertEqual({t: fin for t, (_, fin) in parts.items()}, {"plain": True, "quoted": True, "single": True})

    def test_a_settings_file_overrides_kut_args(self):
        settings = os.path.join(self.top, "settings")
        with open(settings, "w") as f:
            f.write("quoted\t90\t-w\n")
        tap = os.path.join(self.top, "on.tap")
        p = self.kut_run("-s", settings, "on", tap, "quoted")
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(tap) as f:
            text = f.read()
        self.assertIn("quoted: append=[-a -b -w] words=1 timeout=90s", text)
        self.assertIn("timeout=90s args=-w", text)
        # a test the file has no line for: nothing runs
        p = self.kut_run("-s", settings, "on", tap, "plain")
        self.assertEqual(p.returncode, 2)
        self.assertIn("has no line for plain", p.stderr)

    def test_a_run_near_its_timeout_gets_kvm_exits_without_enabling_an_event_under_it(self):
        # the stall instance as tracefs makes it; a test of 2 s that runs 6 s
        # sees what the snapshot does to the event and its buffer meanwhile
        tracefs = os.path.join(self.top, "tracefs")
        stall = os.path.join(tracefs, "instances/kut-stall")
        os.makedirs(os.path.join(stall, "events/kvm/kvm_exit"))
        for f, v in (("tracing_on", "1"), ("events/kvm/kvm_exit/enable", "0")):
            with open(os.path.join(stall, f), "w") as fh:
                fh.write(v + "\n")
        with open(os.path.join(self.top, "guest/platform-trace.sh"), "w") as f:
            f.write("tracefs=%s\ntrace_watch() { :; }; trace_unwatch() { :; }; trace_clear() { :; }; "
                    "trace_hits() { :; }\n" % tracefs)
        # the fake test watches the buffer until the snapshot has come and
        # gone (at most 20 s), then says what it saw
        with open(os.path.join(self.top, "build/kut/src/run_tests.sh"), "w") as f:
            f.write("#!/bin/bash\n[ \"$1\" = -l ] && { echo plain; exit 0; }\n"
                    "e=$STALL/events/kvm/kvm_exit/enable\n"
                    "echo \"start $(cat $e) $(stat -c %y $e) buffer $(cat $STALL/tracing_on)\" > $STALL/seen\n"
                    "on=0\n"
                    "for i in $(seq 200); do\n"
                    "  b=$(cat $STALL/tracing_on); [ $b = 1 ] && on=1; [ $on = 1 ] && [ $b = 0 ] && break\n"
                    "  sleep 0.1\n"
                    "done\n"
                    "echo \"snapshot $on\" >> $STALL/seen\n"
                    "echo \"end $(cat $e) $(stat -c %y $e) buffer $(cat $STALL/tracing_on)\" >> $STALL/seen\n"
                    "mkdir -p logs; echo 'PASS: slow' > logs/$1.log; echo \"PASS $1 (1 tests)\"\n")
        with open(os.path.join(self.top, "tests/kut-args"), "w") as f:
            f.write("plain 2 a timeout that the run outlives\n")
        tap = os.path.join(self.top, "on.tap")
        env = dict(os.environ, PATH=os.path.join(self.top, "bin") + os.pathsep + os.environ["PATH"],
                   OUT=self.top, STALL=stall)
        p = subprocess.run(["bash", os.path.join(self.top, "guest/kut-run.sh"), "on", tap, "plain"],
                           env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(stall, "seen")) as f:
            start, snapshot, end = f.read().splitlines()
        # enabled before the test with the buffer off, and left alone
        # while it ran; the buffer was on for the snapshot only
        self.assertTrue(start.startswith("start 1 ") and start.endswith(" buffer 0"), start)
        self.assertEqual(end, start.replace("start", "end"))
        self.assertEqual(snapshot, "snapshot 1")
        with open(os.path.join(stall, "tracing_on")) as f:
            self.assertEqual(f.read(), "0\n")
        with open(os.path.join(self.top, "on.logs/plain.log")) as f:
            self.assertIn("=== still running after 2 s: 3 s of kvm_exit events", f.read())


# kut.sh's vmrun and check, vm.py faked: it logs its arguments and reports
# what VMRC says (126: the command passed, the kernel splatted)
VMRUN = r'''
set -uo pipefail
eval "$(sed '/^case \${1:-} in/,$d' "$TOP/scripts/kut.sh" | sed 's|^\. "\$(dirname "\$0")/lib.sh"|. "$TOP/scripts/lib.sh"|')"
REPO=$TOP TOP=$WORK; BUILD=$WORK/b; OBJ_TEST=$BUILD/obj-test; KUT_DIR=$WORK/kut; RESULTS=$KUT_DIR/results
mkdir -p "$WORK/scripts" "$WORK/tests"
cat > "$WORK/scripts/vm.py" <<'EOS'
#!/bin/bash
echo "$@" > "$WORK/vm-args"
out=$(sed -n 's/.*--out \([^ ]*\) .*/\1/p' <<< "$*")
mkdir -p "$out"
for m in on off; do printf '# start smap\nok 1 - smap: x\n# done smap seconds=1 timeout=180s\n' > "$out/$m.tap"; done
exit "$VMRC"
EOS
chmod +x "$WORK/scripts/vm.py"
printf 'config svm-tdp-mmu\ntest smap\n' > "$WORK/tests/kut-check"
cp "$REPO/tests/kut-known" "$WORK/tests/"
kut_source() { echo /x; }
build() { :; }
'''


class VmrunAndCheck(unittest.TestCase):
    def run_bash(self, script, vmrc="0"):
        with tempfile.TemporaryDirectory() as d:
            env = dict(os.environ, TOP=TOP, WORK=d, PYTHONPATH=TOP, VMRC=vmrc)
            p = subprocess.run(["bash", "-c", VMRUN + script], env=env, capture_output=True, text=True)
            files = {}
            for name in ("vm-args", "b/results/kut.results"):
                try:
                    with open(os.path.join(d, name)) as f:
                        files[name] = f.read()
                except FileNotFoundError:
                    pass
            return p, files

    def test_vmrun_hands_the_settings_over_and_sizes_its_timeout_from_them(self):
        script = r'''printf 'smap\t100\t\npku\t50\t-x\n' > "$WORK/s"
vmrun bz svm-shadow "$WORK/o" "on off" "$WORK/s" smap pku'''
        p, files = self.run_bash(script)
        self.assertEqual(p.returncode, 0, p.stderr)
        args = files["vm-args"]
        self.assertRegex(args, r"guest/kut-run.sh -c svm-shadow -s \S+/s on \$OUT/on.tap smap pku ; "
                               r"guest/kut-run.sh -c svm-shadow -s \S+/s off ")
        # (2 x 100 + 60) + (2 x 50 + 60) = 420 per mode, two modes, 600 to boot
        self.assertIn("--timeout 1440 ", args)

    def test_check_fails_on_a_kernel_splat(self):
        p, files = self.run_bash("check", vmrc="126")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("fail\tkut test VM (svm-tdp-mmu)\tvm.py exit 126", files["b/results/kut.results"])
        p, files = self.run_bash("check", vmrc="0")
        self.assertEqual(p.returncode, 0, p.stderr + files.get("b/results/kut.results", ""))


if __name__ == "__main__":
    unittest.main()
