"""scripts/kut.sh run: what 'make kut' keeps between runs, per test, with
the test VMs stubbed out (suite) so that only the keeping logic runs."""

import fcntl
import os
import shutil
import subprocess
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# kut.sh up to its command dispatch, with build, base_kernel, suite and the
# report stubbed. suite runs the tests it is given ('# start', a result,
# '# done TEST seconds=1'), logs its call, and in svm-shadow with the quirk
# off a test VM dies in t2 and never reaches the tests after it, as the
# real suite() writes it. The report lists the results directory.
DRIVER = r'''
set -uo pipefail
eval "$(sed '/^case \${1:-} in/,$d' "$TOP/scripts/kut.sh" | sed 's|^\. "\$(dirname "\$0")/lib.sh"|. "$TOP/scripts/lib.sh"|')"
KUT_DIR=$WORK; RESULTS=$WORK/results; BUILD=$WORK/b; OBJ_TEST=$BUILD/obj-test; KUT_ARGS=$WORK/kut-args KUT_ALONE=$WORK/kut-alone KUT_SRC=$WORK/src
SRC=$BUILD/linux LEDGER=$WORK/ledger BASE_WT=$BUILD/base/linux OBJ_BASE=$BUILD/base/obj-test
build() { :; }
base_kernel() { echo 6.1.192-3; }
series_kernel() { :; }
suite() {
	local kernel=$1 c=$2 out=$3 mode=$4 t died=
	shift 4
	mkdir -p "$out"; : > "$out/$mode.tap"
	echo "suite $c $mode $*" >> "$WORK/calls"
	if [ "${STOP_AT:-}" = "$c ${kernel#$BUILD/}" ]; then
		# stopped by hand in t2, as by a SIGTERM to the process group
		printf '# start t1\nok 1 - t1: fine\n# done t1 seconds=1 timeout=180s\n# start t2\nok 1 - t2: ha' > "$out/$mode.tap"
		kill -TERM $$
		return "${STOP_RC:-2}"
	fi
	if [ "${SPLAT_AT:-}" = "$c $mode" ]; then
		printf '# start t1\nok 1 - t1: fine\n# done t1 seconds=1 timeout=180s\nnot ok 0 - test-vm-splat: the test kernel splatted (c)\n' > "$out/$mode.tap"
		return 1
	fi
	if [ "${WRONG_AT:-}" = "$c $mode" ]; then
		printf '# start %s\nok 1 - %s: fine\n# done %s seconds=1 timeout=999s\n' t1 t1 t1 t2 t2 t2 t3 t3 t3 > "$out/$mode.tap"
		return 0
	fi
	for t in "$@"; do
		if [ -n "${SILENT:-}" ] && [ "$t" = t3 ]; then
			:   # a test that reports nothing at all
		elif [ "$c" = svm-shadow ] && [ "$mode" = off ] && [ "$t" = t2 ]; then
			printf '# start t2\nok 1 - t2: half\nnot ok 0 - t2: the test VM died in it\n# done t2\n'
			died=1
		elif [ -n "${died:-}" ]; then
			printf 'not ok 0 - %s: not run, the test VM stopped before it\n' "$t"
		else
			printf '# start %s\nok 1 - %s: fine\n# done %s seconds=1 %s\n' "$t" "$t" "$t" \
				"$(awk -F'\t' -v t="$t" '$1 == t { printf "timeout=%ss%s", $2, ($3 != "" ? " args=" $3 : "") }' "$out/$mode.settings")"
		fi
	done >> "$out/$mode.tap"
	[ -z "${died:-}" ]
}
python3() { if [ "$3" = report ]; then cat "$4"/*.tap > "$WORK/reported"; else command python3 "$@"; fi; }
eval "${KUT_CMD:-run t1 t2 t3}"
'''


class Keep(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.work = self.tmp.name
        for d in ("b/obj-test/arch/x86/boot", "b/base/obj-test/arch/x86/boot", "b/selftests/install", "b/linux"):
            os.makedirs(os.path.join(self.work, d))
        for f, text in (("b/selftests/install/libslotzap-preload.so", "so"), ("b/obj-test/.config", "CONFIG_KVM=y"),
                        ("b/base/obj-test/.config", "CONFIG_KVM=y"), ("b/obj-test/arch/x86/boot/bzImage", "k"),
                        ("b/base/obj-test/arch/x86/boot/bzImage", "b")):
            with open(os.path.join(self.work, f), "w") as fh:
                fh.write(text)
        # the kernel tree: its tag 'base' (checked out in b/base, as
        # base_kernel does) and the series on top
        self.git("init", "-q")
        self.kernel("base")
        self.git("tag", "base")
        self.git("worktree", "add", "-q", "--detach", os.path.join(self.work, "b/base/linux"), "base")
        self.kernel("k1")
        self.args("")
        self.alone("")
        # KUT's own list of its tests (run_tests.sh -l)
        os.makedirs(os.path.join(self.work, "src"))
        with open(os.path.join(self.work, "src/run_tests.sh"), "w") as f:
            f.write('#!/bin/sh\n[ "$1" = -l ] && printf "t1\\nt2\\nt3\\n"\n')
        os.chmod(os.path.join(self.work, "src/run_tests.sh"), 0o755)
        with open(os.path.join(self.work, "src.stamp"), "w") as f:
            f.write("kut\n")

    def tearDown(self):
        self.tmp.cleanup()

    def git(self, *args):
        subprocess.run(["git", "-C", os.path.join(self.work, "b/linux"), "-c", "user.name=t",
                        "-c", "user.email=t@t", *args], check=True, stdout=subprocess.DEVNULL)

    def kernel(self, text):
        """The series' tree at TEXT, committed."""
        with open(os.path.join(self.work, "b/linux/kvm.c"), "w") as f:
            f.write(text)
        self.git("add", "kvm.c")
        self.git("commit", "-q", "-m", text)

    def args(self, text):
        with open(os.path.join(self.work, "kut-args"), "w") as f:
            f.write(text)

    def alone(self, text):
        with open(os.path.join(self.work, "kut-alone"), "w") as f:
            f.write(text)

    def run_driver(self, **env):
        """kut.sh through DRIVER with ENV as well; the finished process,
        its output captured."""
        env = dict(os.environ, TOP=TOP, WORK=self.work, PYTHONPATH=TOP, SLOTZAP_KUT_CONFIGS="svm-shadow", **env)
        return subprocess.run(["bash", "-c", DRIVER], env=env, capture_output=True, text=True)

    def run_kut(self, env=None):
        calls = os.path.join(self.work, "calls")
        if os.path.exists(calls):
            os.unlink(calls)
        p = self.run_driver(**(env or {}))
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(self.work, "reported")) as f:
            reported = f.read()
        try:
            with open(calls) as f:
                return f.read().splitlines(), reported
        except FileNotFoundError:
            return [], reported

    def test_a_run_is_kept_test_by_test_unless_a_test_vm_died_in_it(self):
        calls, reported = self.run_kut()
        self.assertEqual(len(calls), 3)
        self.assertIn("ok 1 - t1: fine", reported)
        self.assertIn("not ok 0 - t2: the test VM died in it", reported)
        self.assertIn("not ok 0 - t3: not run", reported)
        with open(os.path.join(self.work, "results", "series@svm-shadow@on.tap")) as f:
            tap = f.read()
        self.assertEqual([l.split()[2] for l in tap.splitlines() if l.startswith("# start")],
                         ["t1", "t2", "t3"])
        self.assertEqual(sorted(os.listdir(os.path.join(self.work, "results"))),
                         sorted("%s@svm-shadow@%s.tap" % (k, m)
                                for k, m in (("base", "on"), ("series", "on"), ("series", "off"))))
        # again: only the run whose test VM died, all of it
        calls, reported = self.run_kut()
        self.assertEqual(calls, ["suite svm-shadow off t1 t2 t3"])
        self.assertEqual(reported.count("ok 1 - t1: fine"), 3)

    def test_a_test_in_a_vm_of_its_own_dies_alone(self):
        self.alone("# comment\nt2 kills its test VM\n")
        calls, reported = self.run_kut()
        self.assertEqual(calls, ["suite svm-shadow %s %s" % (m, ts) for m in ("on", "on", "off")
                                 for ts in ("t1 t3", "t2")])
        self.assertIn("not ok 0 - t2: the test VM died in it", reported)
        self.assertNotIn("not run", reported)
        with open(os.path.join(self.work, "results", "series@svm-shadow@off.tap")) as f:
            self.assertEqual([l.split()[2] for l in f if l.startswith("# start")], ["t1", "t2", "t3"])
        # t1 and t3 were kept; only t2 runs again, alone
        calls, reported = self.run_kut()
        self.assertEqual(calls, ["suite svm-shadow off t2"])
        self.assertEqual(reported.count("ok 1 - t3: fine"), 3)

    def test_keys_take_of_the_retry_policy_only_what_decides_on_kut_tests(self):
        top = os.path.join(self.work, "top")
        shutil.copytree(TOP, top, ignore=lambda d, names: [n for n in names if n == "__pycache__"
                                                           or (d == TOP and n in ("build", ".git"))])
        policy = os.path.join(top, "tests/platform-retries")

        def keys(line):
            with open(policy, "a") as f:
                f.write(line)
            env = dict(os.environ, TOP=top, WORK=self.work, PYTHONPATH=top, SLOTZAP_KUT_CONFIGS="svm-shadow",
                       KUT_CMD='keys; echo "KEYS $bkey $skey"')
            p = subprocess.run(["bash", "-c", DRIVER], env=env, capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            return [l for l in p.stdout.splitlines() if l.startswith("KEYS ")][0]

        first = keys("")
        # a selftest's retry line, a comment: the kept results stay
        self.assertEqual(keys("retry memslot_zap_test  l2-ifetch-pf  a selftest's\n# a comment\n"), first)
        # a retry line for a KUT test, a 'never' line: they do not
        second = keys("retry kut:access  l2-ifetch-pf  a KUT test's\n")
        self.assertNotEqual(second, first)
        self.assertNotEqual(keys("never some new series assertion\n"), second)

    def test_a_kut_alone_line_without_a_reason_or_of_no_test_stops_before_any_vm(self):
        for text, cmd, error in (("t2\n", "run t1 t2 t3", "line 1: want TEST REASON"),
                                 ("# t2 is a comment\nt9 #1 is not a test\n", "run",
                                  "line 2: t9 is not a test of kvm-unit-tests")):
            self.alone(text)
            p = self.run_driver(KUT_CMD=cmd)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn(error, p.stderr)
            self.assertFalse(os.path.exists(os.path.join(self.work, "calls")))

    def test_the_whole_suite_in_parts_runs_each_once(self):
        # run without tests: KUT's list; a splat in each part of a run
        # is a line of its own in its results
        self.alone("t2 #1 kills its test VM\n")
        calls, reported = self.run_kut({"KUT_CMD": "run", "SPLAT_AT": "svm-shadow on"})
        self.assertEqual(calls[:2], ["suite svm-shadow on t1 t3", "suite svm-shadow on t2"])
        with open(os.path.join(self.work, "results", "series@svm-shadow@on.tap")) as f:
            self.assertEqual(sum(l.startswith("not ok 0 - test-vm-splat:") for l in f), 2)

    def test_a_new_test_kernel_runs_the_series_again_not_the_base(self):
        self.run_kut()
        self.kernel("k2")
        calls, _ = self.run_kut()
        self.assertEqual(sorted(c.split()[2] for c in calls), ["off", "on"])
        self.assertTrue(all(c.endswith("t1 t2 t3") for c in calls))

    def test_an_uncommitted_change_of_the_series_runs_it_again(self):
        self.run_kut()
        with open(os.path.join(self.work, "b/linux/kvm.c"), "a") as f:
            f.write("an edit\n")
        calls, _ = self.run_kut()
        self.assertEqual(sorted(c.split()[2] for c in calls), ["off", "on"])
        # a new file git ignores (Debian's tree ignores all: '/*'), then an edit of it
        with open(os.path.join(self.work, "b/linux/.gitignore"), "w") as f:
            f.write("/*\n")
        for text in ("new\n", "edited\n"):
            with open(os.path.join(self.work, "b/linux/new.c"), "w") as f:
                f.write(text)
            calls, _ = self.run_kut()
            self.assertEqual(sorted(c.split()[2] for c in calls), ["off", "on"])
        # the base's own checkout, edited, is put back: the base stays the base
        with open(os.path.join(self.work, "b/base/linux/kvm.c"), "a") as f:
            f.write("a printk\n")
        calls, _ = self.run_kut()
        self.assertEqual(calls, ["suite svm-shadow off t1 t2 t3"])
        with open(os.path.join(self.work, "b/base/linux/kvm.c")) as f:
            self.assertEqual(f.read(), "base")

    def test_an_image_that_changes_while_it_runs_keeps_nothing(self):
        p = self.run_driver(KUT_CMD='eval "$(declare -f suite | sed "1s/suite/real_suite/")"; '
                                    'suite() { echo rebuilt >> "$OBJ_TEST/arch/x86/boot/bzImage"; real_suite "$@"; }; run t1')
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("changed while make kut ran", p.stderr)
        kept = os.path.join(self.work, "kept")
        self.assertEqual([f for d in os.listdir(kept) for f in os.listdir(os.path.join(kept, d))], [])

    def test_another_config_or_preload_library_runs_the_series_again(self):
        self.run_kut()
        for f in ("b/obj-test/.config", "b/selftests/install/libslotzap-preload.so"):
            with open(os.path.join(self.work, f), "a") as fh:
                fh.write("changed\n")
            calls, _ = self.run_kut()
            self.assertEqual(sorted(c.split()[2] for c in calls), ["off", "on"])

    def test_sources_that_change_while_they_are_built_stop_it(self):
        p = self.run_driver(KUT_CMD='series_kernel() { echo edit >> "$SRC/kvm.c"; }; run t1')
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("changed while they were built", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.work, "calls")))

    def test_saved_results_serve_another_machine_and_replace_older_keys(self):
        self.run_kut()
        kept = os.path.join(self.work, "kept")
        subprocess.run(["bash", "-c", "rm -rf \"$WORK\"/kept/*@svm-shadow@series-on"], check=True,
                       env=dict(os.environ, WORK=self.work))
        # a base result cut short is not saved
        base = [d for d in os.listdir(kept) if d.endswith("@svm-shadow@base-on")][0]
        t3 = [p for p in os.listdir(os.path.join(kept, base)) if p.startswith("t3@")][0]
        with open(os.path.join(kept, base, t3), "a") as f:
            f.write("# start t3\n")
        self.run_kut(env={"KUT_CMD": "save"})
        ledger = os.path.join(self.work, "ledger")
        # only whole results: the base's t1 and t2 (the series' quirk off
        # run lost a test VM, so nothing of it was kept), and where they came from
        self.assertEqual(os.listdir(ledger), [base])
        self.assertEqual(sorted(p.split("@")[0] for p in os.listdir(os.path.join(ledger, base))),
                         ["INPUTS", "SOURCES", "t1", "t2"])
        with open(os.path.join(ledger, base, "SOURCES")) as f:
            self.assertEqual(len(f.read().splitlines()), 2)
        # a machine with nothing kept of its own runs only what is not saved
        subprocess.run(["rm", "-rf", kept], check=True)
        calls, reported = self.run_kut()
        self.assertEqual(sorted(calls), ["suite svm-shadow off t1 t2 t3", "suite svm-shadow on t1 t2 t3",
                                         "suite svm-shadow on t3"])
        self.assertEqual(reported.count("ok 1 - t1: fine"), 3)
        # a saved result cut short runs again
        t2 = os.path.join(ledger, base, [p for p in os.listdir(os.path.join(ledger, base)) if p.startswith("t2@")][0])
        with open(t2, "a") as f:
            f.write("# start t2\n")
        calls, _ = self.run_kut()
        self.assertEqual(sorted(calls), ["suite svm-shadow off t1 t2 t3", "suite svm-shadow on t2"])
        # a new series: its results replace the older series' on save, the base's stay
        self.run_kut(env={"KUT_CMD": "save"})
        old = sorted(os.listdir(ledger))
        self.assertEqual(len(old), 2)
        self.kernel("k2")
        self.run_kut(env={"KUT_CMD": "save"})
        self.assertEqual(sorted(os.listdir(ledger)), old)
        self.run_kut()
        self.run_kut(env={"KUT_CMD": "save"})
        new = sorted(os.listdir(ledger))
        self.assertEqual([d for d in new if d.endswith("base-on")], [base])
        self.assertEqual(len(new), 2)
        self.assertNotEqual(new, old)

    def test_results_saved_under_another_key_name_the_inputs_that_changed(self):
        self.run_kut()
        self.run_kut(env={"KUT_CMD": "save"})
        ledger = os.path.join(self.work, "ledger")
        with open(os.path.join(ledger, [d for d in os.listdir(ledger) if d.endswith("base-on")][0], "INPUTS")) as f:
            names = [line.split("\t")[0] for line in f.read().splitlines()]
        self.assertIn("harness/console.py", names)
        self.assertIn("source tree", names)
        self.assertNotIn("preload library", names)
        p = self.run_driver()
        self.assertNotIn("another key", p.stderr)
        with open(os.path.join(self.work, "b/selftests/install/libslotzap-preload.so"), "a") as f:
            f.write("rebuilt\n")
        p = self.run_driver()
        self.assertEqual(p.returncode, 0, p.stderr)
        old = [line for line in p.stderr.splitlines() if "another key" in line]
        self.assertEqual(len(old), 1, p.stderr)
        self.assertIn("series-on: 3 result(s) of another key, not used; inputs changed since they were saved: "
                      "preload library", old[0])
        # saved before INPUTS were: not known
        for d in os.listdir(ledger):
            if d.endswith("series-on"):
                os.unlink(os.path.join(ledger, d, "INPUTS"))
        with open(os.path.join(self.work, "b/selftests/install/libslotzap-preload.so"), "a") as f:
            f.write("rebuilt again\n")
        p = self.run_driver()
        self.assertIn("not known (saved without INPUTS)", p.stderr)

    def test_save_keeps_each_test_under_the_settings_it_last_ran_with(self):
        self.run_kut()
        self.run_kut(env={"KUT_CMD": "save"})
        ledger = os.path.join(self.work, "ledger")
        base = [d for d in os.listdir(ledger) if d.endswith("base-on")][0]

        def pieces():
            return sorted(p for p in os.listdir(os.path.join(ledger, base)) if p.endswith(".tap"))

        old = pieces()
        self.assertEqual([p.split("@")[0] for p in old], ["t1", "t2", "t3"])
        # t2 under new settings: its old result goes, the others stay
        self.args("t2 600 a slower machine\n")
        self.run_kut()
        self.run_kut(env={"KUT_CMD": "save"})
        new = pieces()
        self.assertEqual([p.split("@")[0] for p in new], ["t1", "t2", "t3"])
        self.assertEqual(set(old) - set(new), {[p for p in old if p.startswith("t2@")][0]})
        # a run of t1 alone: the others' results stay
        self.run_kut(env={"KUT_CMD": "run t1"})
        self.run_kut(env={"KUT_CMD": "save"})
        self.assertEqual(pieces(), new)
        # t1 alone under a new default timeout: t1's result is replaced,
        # t3's (the default timeout too) is not one of this run's settings
        # and goes, t2's (its own line) stays
        self.run_kut(env={"KUT_CMD": "run t1", "SLOTZAP_KUT_TIMEOUT": "300s"})
        self.run_kut(env={"KUT_CMD": "save"})
        now = pieces()
        self.assertEqual([p.split("@")[0] for p in now], ["t1", "t2"])
        self.assertNotIn(now[0], new)
        self.assertEqual(now[1], [p for p in new if p.startswith("t2@")][0])

    def test_save_copies_no_result_of_older_settings(self):
        # t2 kept under the default settings, never saved, then under its own
        self.run_kut()
        self.args("t2 600 a slower machine\n")
        self.run_kut()
        self.run_kut(env={"KUT_CMD": "save"})
        ledger = os.path.join(self.work, "ledger")
        base = [d for d in os.listdir(ledger) if d.endswith("base-on")][0]
        with open(os.path.join(ledger, base, "SOURCES")) as f:
            saved = [line.split("\t")[0] for line in f.read().splitlines()]
        self.assertEqual(sorted(saved), sorted(p for p in os.listdir(os.path.join(ledger, base))
                                               if p.endswith(".tap")))
        self.assertEqual(len(saved), 3)

    def test_a_new_line_in_kut_args_runs_only_its_test_again(self):
        self.run_kut()
        self.args("t2 600 args=-slow_* its slow part does not fit TCG\n")
        calls, _ = self.run_kut()
        self.assertEqual(len(calls), 3)
        self.assertEqual({c.split(" ", 3)[3] for c in calls}, {"t2", "t1 t2 t3"})
        # its reason is not part of the key
        self.args("t2 600 args=-slow_* the reason, reworded\n")
        calls, _ = self.run_kut()
        self.assertEqual(calls, ["suite svm-shadow off t1 t2 t3"])
        # other args alone are another key
        self.args("t2 600 args=-other_* the reason\n")
        calls, _ = self.run_kut()
        self.assertEqual({c.split(" ", 3)[3] for c in calls}, {"t2", "t1 t2 t3"})
        # another default timeout: every test without a line again
        calls, _ = self.run_kut(env={"SLOTZAP_KUT_TIMEOUT": "300s"})
        self.assertEqual({c.split(" ", 3)[3] for c in calls}, {"t1 t3", "t1 t2 t3"})

    def test_a_kept_result_cut_short_runs_again(self):
        self.run_kut()
        kept = os.path.join(self.work, "kept")
        d = [x for x in sorted(os.listdir(kept)) if x.endswith("@svm-shadow@series-on")][0]
        piece = [x for x in os.listdir(os.path.join(kept, d)) if x.startswith("t2@")][0]
        with open(os.path.join(kept, d, piece), "w") as f:
            f.write("# start t2\nok 1 - t2: fine\n")
        calls, _ = self.run_kut()
        self.assertEqual(sorted(calls), ["suite svm-shadow off t1 t2 t3", "suite svm-shadow on t2"])

    def test_a_splat_is_a_result_of_every_run_and_nothing_of_its_run_is_kept(self):
        # the base and the series with the quirk on
        _, reported = self.run_kut(env={"SPLAT_AT": "svm-shadow on"})
        self.assertEqual(reported.count("not ok 0 - test-vm-splat: the test kernel splatted"), 2)
        self.assertEqual(reported.count("ok 0 - test-vm-splat: none"), 1)
        calls, reported = self.run_kut()
        self.assertEqual(calls.count("suite svm-shadow on t1 t2 t3"), 2)
        self.assertEqual(reported.count("ok 0 - test-vm-splat: none"), 3)

    def test_a_result_with_other_settings_than_asked_is_not_kept(self):
        self.run_kut(env={"WRONG_AT": "svm-shadow on"})
        calls, _ = self.run_kut()
        self.assertIn("suite svm-shadow on t1 t2 t3", calls)

    def test_a_test_that_reports_nothing_fails_and_is_not_kept(self):
        _, reported = self.run_kut(env={"SILENT": "1"})
        self.assertEqual(reported.count("not ok 0 - t3: no result from its test VM"), 3)
        calls, _ = self.run_kut()
        self.assertEqual(len(calls), 3)

    def test_a_stop_by_hand_keeps_the_finished_tests_and_ends_there(self):
        p = self.run_driver(STOP_AT="svm-shadow base/obj-test/arch/x86/boot/bzImage")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("1 finished test(s) kept", p.stderr)
        with open(os.path.join(self.work, "calls")) as f:
            self.assertEqual(len(f.read().splitlines()), 1)
        calls, _ = self.run_kut()
        self.assertEqual(calls[0], "suite svm-shadow on t2 t3")
        self.assertEqual(len(calls), 3)

    def test_a_stop_after_a_dead_vm_keeps_nothing(self):
        p = self.run_driver(STOP_AT="svm-shadow base/obj-test/arch/x86/boot/bzImage", STOP_RC="1")
        self.assertIn("0 finished test(s) kept", p.stderr)

    def test_a_second_make_kut_at_once_stops_before_any_vm(self):
        os.makedirs(os.path.join(self.work, "b"), exist_ok=True)
        lock = os.path.join(self.work, "run.lock")
        with open(lock, "a") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            p = self.run_driver()
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("another 'make kut' is running", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.work, "calls")))

    def test_a_malformed_kut_args_stops_before_any_vm(self):
        self.args("t2 ten minutes\n")
        p = self.run_driver()
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("want 'TEST SECONDS", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.work, "calls")))


class Build(unittest.TestCase):
    """kut.sh build: a KUT directory that is not a git checkout is built
    again when a file's content changes, whatever its time stamp."""

    def test_a_plain_directory_is_stamped_by_its_contents(self):
        with tempfile.TemporaryDirectory() as work:
            src = os.path.join(work, "kvm-unit-tests")
            os.makedirs(src)
            with open(os.path.join(src, "configure"), "w") as f:
                f.write("#!/bin/sh\nexit 0\n")
            os.chmod(os.path.join(src, "configure"), 0o755)
            with open(os.path.join(src, "Makefile"), "w") as f:
                f.write("all:\n\tmkdir -p x86 && touch x86/a.flat\n")
            with open(os.path.join(src, "x86.c"), "w") as f:
                f.write("one\n")
            driver = ('eval "$(sed \'/^case \\${1:-} in/,$d\' "$TOP/scripts/kut.sh" | '
                      'sed \'s|^\\. "\\$(dirname "\\$0")/lib.sh"|. "$TOP/scripts/lib.sh"|\')"\n'
                      'KUT_DIR=$WORK/kut KUT_SRC=$WORK/kut/src; mkdir -p $KUT_DIR; build')
            env = dict(os.environ, TOP=TOP, WORK=work, SLOTZAP_KUT=src)

            def build():
                p = subprocess.run(["bash", "-c", driver], env=env, capture_output=True, text=True)
                self.assertEqual(p.returncode, 0, p.stderr)
                return "building" in p.stderr

            self.assertTrue(build())
            self.assertFalse(build())
            # the same size and time stamp, another content
            st = os.stat(os.path.join(src, "x86.c"))
            with open(os.path.join(src, "x86.c"), "w") as f:
                f.write("two\n")
            os.utime(os.path.join(src, "x86.c"), ns=(st.st_atime_ns, st.st_mtime_ns))
            self.assertTrue(build())


if __name__ == "__main__":
    unittest.main()
