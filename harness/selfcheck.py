"""Break the harness on purpose and check that its unit tests notice.

Each mutation is a small slip in one module (a regex loosened, a check
dropped, a count off by one); for each, a copy of the package with that
one change runs the unit tests, which must fail. A mutation they survive
is logic no test covers.

A mutation may name the test meant to catch it (a fifth item, a test
method's name): that test runs first, alone, then the module's own tests,
then all of them, until one fails. The name only saves time (the kut.sh
mutations' own tests take minutes); a mutation its named test misses but
another kills is reported as killed, with the miss.

    python3 -m harness.selfcheck [--no-baseline]
    python3 -m harness.selfcheck --unit

First the unit tests run on an unmutated copy (the baseline): a test that
fails there, or a suite slower than TESTS_TIMEOUT, would kill every
mutation. --unit runs only that, with the tests' output, as make check's
unit stage; make check then passes --no-baseline, since that stage has
just run the tests on a copy made the same way (saving a full run of the
suite, about 100 s of make check).
"""

import argparse
import concurrent.futures
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)

MUTATIONS = [
    ("console.py", r'STAMP = re.compile(r"\[\s*\d+\.\d+\] ")', 'STAMP = re.compile(r"")',
     "a console without time stamps is judged"),
    ("console.py", r'r"\[\s*\d+\.\d+\] .*("', 'r".*("', "splats need no time stamp"),
    ("console.py", 'test = "boot"', 'test = "unknown"', "boot splats blamed on nothing"),
    ("console.py", "r\"kmemleak: \\d+ new suspected memory leaks\"", 'r"kmemleak-never"',
     "kmemleak reports ignored"),
    ("console.py", "        if STACK_END.search(lines[end]):\n            return end + 1",
     "        if False:\n            return end + 1",
     "an allowed allocation failure swallows what follows it"),
    ("console.py", "        if SPLAT.search(lines[end]):\n            return None",
     "        if False:\n            return None",
     "a splat inside an allowed allocation failure's stack is swallowed"),
    ("console.py", "        end = allowed and alloc_failure_end(lines, i, allowed)",
     "        end = alloc_failure_end(lines, i, \"memslot_failnth\")",
     "allocation failures allowed without fault injection"),
    ("console.py", "        elif allowed and KMEMLEAK.search(lines[i]):",
     "        elif KMEMLEAK.search(lines[i]):",
     "kmemleak reports ignored without fault injection"),
    ("console.py", "        allowed = fault_injection if first <= i < last else None",
     "        allowed = fault_injection", "the fault injection's allowance holds outside its test",
     "test_alloc_failure_before_the_test_is_a_splat"),
    ("console.py", "    return first, next((i for i, _ in marks if i > first), len(lines))",
     "    return first, len(lines)", "the fault injection's allowance runs on into the next test",
     "test_the_region_ends_at_the_next_test"),
    ("faults.py", "    if n < EXPECTED:", "    if n < EXPECTED - 1:", "a missing sweep result passes"),
    ("faults.py", '("fail" if m.group(1) else "pass",', '("pass",', "the sweep's not ok read as ok"),
    ("faults.py", "    if why and (splat or not any(", "    if why and (not any(",
     "a splat in the sweep hidden by a failed result"),
    ("faults.py", "        status = None", "        status = 0", "a sweep that did not finish passes"),
    ("faults.py", "    elif status != 0:", "    elif False:", "run.sh's exit status ignored"),
    ("ktap.py", 'if detail.startswith("SKIP"):', 'if "SKIP" in detail:', "SKIP anywhere"),
    ("ktap.py", "if m.group(1):", "if False:", "not ok read as ok"),
    ("ktap.py", 'return m.group(2), "flaky", detail', 'return m.group(2), "pass", detail',
     "flaky counted as pass"),
    ("kut_tap.py", "            if SKIP_REASON.match(reason):", "            if True:",
     "QEMU failing to start read as a skip", "test_a_skip_by_qemu_failing_to_start_fails"),
    ("kut_tap.py", "        if verdict == \"FAIL\" and (abort or not fails):",
     "        if verdict == \"FAIL\" and abort:", "a guest shutdown after passed checks read as a pass",
     "test_checks_then_a_shutdown_fail"),
    ("kut.py", "        elif fails:", "        elif False:", "a failed KUT check read as a pass"),
    ("kut.py", "        elif timeout:", "        elif False:", "a KUT test that hangs on the series ranks as the base's failure",
     "test_a_timeout_is_worse_than_a_base_failure_and_better_than_a_lost_test"),
    ("kut.py", "        return 1 if bad or empty or gaps else 0", "        return 1 if bad or gaps else 0",
     "an empty KUT run passes the report"),
    ("kut.py", "                       and (expect is None or expect.get(current) == m.group(2)))",
     "                       )", "a KUT test run with other settings kept as finished"),
    ("kut.py", '            out[current] = (lines + [line], "again" if current in out else "started")',
     '            out[current] = (lines + [line], "started")', "a KUT test started twice kept as finished"),
    ("kut.py", '            status = "lost" if LOST.match(detail) else "fail"', '            status = "fail"',
     "a KUT test a test VM died in ranks as a base failure"),
    ("kut.py", "        return 1 if bad or empty or gaps else 0", "        return 1 if bad or empty else 0",
     "a KUT run without a result for a test passes the report"),
    ("kut.py", """KNOWN_LINE = re.compile(r'(\\S+)\\s+(?:"([^"]+)"|([^"\\s]\\S*))\\s+(\\S.*)')""",
     """KNOWN_LINE = re.compile(r'(\\S+)\\s+()(\\S+)\\s+(\\S.*)')""",
     "a quoted check name in tests/kut-known read as its first word",
     "test_a_check_with_spaces_is_named_in_double_quotes_and_whole"),
    ("kut.py", "        elif timeout and is_known(KNOWN_HANG, (known or {}).get(test, ()), config):",
     "        elif timeout and is_known(KNOWN_HANG, (known or {}).get(test, ()), None):",
     "a hang tests/kut-known lists not excused in its configuration",
     "test_a_known_hang_ranks_its_timeout_as_a_failure_in_its_configuration_only"),
    ("kut.py", "            found = (int(words[1]), args)", "            found = (int(words[1]), [])",
     "a KUT test's extra test_args dropped"),
    ("retry.py", "MAX_RUNS = 2", "MAX_RUNS = 5", "more retries"),
    ("retry.py", "            if times >= runs:", "            if False:", "the signature's budget ignored"),
    ("retry.py", "            if run >= RUNS_CAP:", "            if False:", "the cap on runs ignored"),
    ("retry.py", "times = list(seen).count(sid) + 1", "times = 1", "earlier matches not counted"),
    ("retry.py", "runs = int(words.pop(2)[len(\"runs=\"):])", "runs = RUNS_CAP; words.pop(2)",
     "runs=N read as the cap"),
    ("retry.py", "    for rx in pol.never:\n", "    for rx in []:\n", "series assertions retried"),
    ("retry.py", 'if t in ("*", test) and c in ("", config) and sid in hits:',
     'if sid in hits:', "retry lines ignore their test"),
    ("retry.py", "if rng and (rng[0] <= int(m.group(1), 16) < rng[1]) != sig.outside:", "if True:",
     "any address proves the L1-state bug"),
    ("retry.py", "if rng and (rng[0] <= int(m.group(1), 16) < rng[1]) != sig.outside:",
     "if rng and (rng[0] <= int(m.group(1), 16) < rng[1]):",
     "outside= matches inside its symbol"),
    ("results.py", "        if rc != 0 and not failed:", "        if False:",
     "a stage that crashed is not counted"),
    ("results.py", "        elif rc == 0 and not res:", "        elif False:",
     "a stage without results is not counted"),
    ("results.py", '            else:\n                stages.append(("(row %d of stages.tsv',
     '            elif False:\n                stages.append(("(row %d of stages.tsv',
     "a stages.tsv row cut short is dropped"),
    ("results.py", 'st, name = "crashed", name or "?"', 'st = "pass"',
     "unknown statuses pass"),
    ("results.py", 'return 1 if failed else 0', 'return 0', "the verdict never fails"),
    ("plan.py", 'if cfg and cfg not in cfgs:', 'if False:', "configuration typos pass"),
    ("plan.py", "        elif w[1] not in amd:", "        elif False:", "check-scope configuration typos pass"),
    ("plan.py", 'if known_tests is not None and base != "*" and base not in known_tests \\',
     'if False \\', "test name typos pass"),
]
SCRIPT_MUTATIONS = [
    ("scripts/kut.sh", "grep -E '^(signature|never)[[:space:]]|^retry[[:space:]]+(\\*|kut:)'", "grep -E '^(signature|never|retry)[[:space:]]'",
     "make kut's keys take every retry line, a selftest's too",
     "test_keys_take_of_the_retry_policy_only_what_decides_on_kut_tests"),
    ("scripts/kut.sh", "grep -E '^(signature|never)[[:space:]]|^retry[[:space:]]+(\\*|kut:)'", "grep -E '^(signature)[[:space:]]|^retry[[:space:]]+(\\*|kut:)'",
     "make kut's keys ignore a new 'never' line",
     "test_keys_take_of_the_retry_policy_only_what_decides_on_kut_tests"),
    ("scripts/kut.sh", '\t\t\t\tgrep -qxF "$f" "$KUT_DIR/last-pieces" || continue', "",
     "make kut-save saves results kept under older settings",
     "test_save_copies_no_result_of_older_settings"),
    ("scripts/kut.sh", '"$KUT_DIR/last-pieces" && rm -f "$f"', '"$KUT_DIR/last-pieces" && :',
     "make kut-save leaves a test's results under older settings in docs/kut-results",
     "test_save_keeps_each_test_under_the_settings_it_last_ran_with"),
    ("scripts/intel-kut.py", "    if rc == 1 and not errors:", "    if rc == 1:",
     "a QEMU that fails to start under Bochs passes a KUT test",
     "test_verdicts_as_run_tests_makes_them"),
    ("scripts/intel-kut.py", "    if cur:\n        out[cur]", "    if False:\n        out[cur]",
     "a KUT run cut short under Bochs goes unreported",
     "test_a_console_gives_each_run_its_tap_and_a_run_cut_short_fails"),
    ("scripts/matrix.py", 'results.setdefault(died, ("fail",', 'results.setdefault(died, ("pass",',
     "a VM death passes the running test"),
    ("scripts/matrix.py", "remaining = missing[1:]", "remaining = missing",
     "the test that killed the VM runs again"),
    ("scripts/matrix.py", "            if t != faults.MARK:", "            if True:",
     "the sweep's splats fail the selftests"),
    ("scripts/matrix.py", "            status = int(f.read())", "            status = 0",
     "the runner's failure masked by the sweep"),
    ("scripts/matrix.py", "    if sweep and os.path.exists(runner_status):", "    if False:",
     "a VM that died in the sweep fails the selftests' runner"),
    ("scripts/matrix.py", "or [out])[-1]", "or [out])[0]", "the first VM's sweep judged after VM deaths"),
    ("scripts/matrix.py", "if not found or splats.find_splats(lines[up + 1:], comm, within):",
     "if not found:", "a VM whose tests splatted runs again after an early splat"),
    ("scripts/matrix.py", ' or got[t][0] == "fail" for t in names):', " for t in names):",
     "a VM with a failed test runs again after an early splat"),
    ("scripts/matrix.py", '        if sweep and any(st == "fail" for st, _, _ in faults.judge(config, bout)):',
     "        if False:", "a VM whose sweep failed runs again after an early splat"),
    ("scripts/matrix.py", "        if not excused and n < MAX_BOOTS:", "        if n < MAX_BOOTS:",
     "a VM runs again on every early splat"),
    ("harness/console.py", "        if m and not REPORTING.fullmatch(m.group(1)):", "        if m:",
     "a splat's callers start with the report's own functions"),
    ("scripts/matrix.py", "        return [s.id for s in sigs if retry.matched(s, evidence, sysmap)]",
     "        return []", "a triple fault's platform signature not named"),
    ("scripts/vm.py", "return age if self.limit and age > self.limit else 0",
     "return age if self.limit and age > self.limit * 10 else 0",
     "a stopped heartbeat is noticed ten times late"),
    ("scripts/vm.py", "        if state is None:\n            return 0\n", "        if state is None:\n            return 1\n",
     "a guest that never beat is hung at once"),
    ("scripts/vm.py", "            self.seen, self.changed = state, now", "            self.seen, self.changed = state, self.changed or now",
     "a new beat does not restart the count"),
    ("scripts/vm.py", "hung = 0 if frozen else beat.silent_for()\n                if hung:",
     "hung = 0 if frozen else beat.silent_for()\n                if False:",
     "vm.py never acts on a stopped heartbeat"),
    ("scripts/vm.py", '        snapshot = cpu_snapshot(monitor, os.path.join(out, "cpus-at-timeout.txt"))',
     '        snapshot = "none"', "a hung VM leaves no registers"),
    ("scripts/vm.py", '        with open(os.path.join(out, "hung"), "w") as f:', '        with open(os.devnull, "w") as f:',
     "a hung VM is not marked for matrix.py"),
    ("scripts/vm.py", "cpl == 0 and rip < 1 << 47", "rip < 1 << 47",
     "the test kernel's user space counts as a nested guest"),
    ("scripts/vm.py", "for s in samples for rip, cpl in s.values())", "for s in samples[-1:] for rip, cpl in s.values())",
     "one sample in a nested guest is enough"),
    ("scripts/vm.py", "if args.freeze and not frozen and stopped(monitor, monitor_errors):",
     "if False:", "a VM stopped under --freeze is waited on until its timeout"),
    ("scripts/vm.py", "                        if triple:\n                            # a stopped CPU",
     "                        if False:\n                            # a stopped CPU",
     "a triple fault under --freeze leaves no registers"),
    ("scripts/vm.py", "    if triple:\n", "    if False:\n",
     "a triple fault after the command's exit status passes"),
    ("scripts/vm.py", "                        os.killpg(proc.pid, signal.SIGKILL)\n                    continue",
     "                        os.killpg(proc.pid, signal.SIGKILL)\n                        break\n                    continue",
     "a stopped VM's last output is not read"),
    ("scripts/vm.py", "    end_on_sigterm()\n    return run(args)", "    return run(args)",
     "a SIGTERM to vm.py leaves QEMU running"),
    ("scripts/kut.sh", "\t\tfor t in $fin; do\n", "\t\tfor t in \"$@\"; do\n",
     "make kut keeps a test a dead test VM had",
     "test_a_kept_result_cut_short_runs_again"),
    ("scripts/kut.sh", "\t\tif [ -n \"${KUT_STOPPED:-}\" ]; then", "\t\tif false; then",
     "make kut, stopped by hand, boots another test VM",
     "test_a_stop_by_hand_boots_no_new_vm_and_blames_no_test"),
    ("scripts/kut.sh", "\t\t\t[ $vms -eq 1 ] && [ $splat -eq 0 ] &&", "\t\t\t[ $splat -eq 0 ] &&",
     "make kut, stopped by hand after a dead test VM, keeps what it ran",
     "test_a_stop_after_a_dead_vm_or_a_splat_is_not_clean"),
    ("scripts/kut.sh", "\t\tfin=\n", "",
     "make kut keeps the tests of a run whose test VM died",
     "test_a_kept_result_cut_short_runs_again"),
    ("scripts/kut.sh", " && [[ $(tail -n 1 \"$1\") == \"# done $2 seconds=\"* ]]", "",
     "make kut trusts a kept result cut short",
     "test_a_kept_result_cut_short_runs_again"),
    ("scripts/kut.sh", "\t\tif [ $rc -eq 126 ]; then", "\t\tif false; then",
     "make kut ignores a kernel splat",
     "test_a_kernel_splat_is_a_failed_result_and_fails_the_suite"),
    ("guest/kut-run.sh", "\t\techo 1 > $stall/tracing_on", "\t\techo 1 > $stall/events/kvm/kvm_exit/enable",
     "KUT's stall snapshot enables a kvm event under a running guest (an int3 oops under TCG)",
     "test_a_run_near_its_timeout_gets_kvm_exits_without_enabling_an_event_under_it"),
    ("guest/kut-run.sh", "\techo 1 > $stall/events/kvm/kvm_exit/enable", "\t:",
     "KUT's stall snapshot has no kvm_exit event armed before the tests",
     "test_a_run_near_its_timeout_gets_kvm_exits_without_enabling_an_event_under_it"),
    ("scripts/kut.sh", "\t\t\t\tother_keys \"$dir\" $k", "\t\t\t\t:",
     "make kut says nothing of saved results it does not use",
     "test_results_saved_under_another_key_name_the_inputs_that_changed"),
    ("guest/kut-run.sh", '\t\tonly_cfg "$t" "$targs"', '\t\tonly_cfg "$t" ""',
     "kvm-unit-tests run without their extra test_args",
     "test_a_settings_file_overrides_kut_args"),
    ("guest/kut-run.sh", 'timeout=${tmo_s}s${targs:+ args=$targs}"', 'timeout=${tmo_s}s"',
     "kvm-unit-tests' done line leaves out the args they ran with",
     "test_a_settings_file_overrides_kut_args"),
    ("scripts/kut.sh", "${settings:+-s $settings }", "",
     "the test VM does not get make kut's settings",
     "test_vmrun_hands_the_settings_over_and_sizes_its_timeout_from_them"),
    ("scripts/kut.sh", '\t\t\t\tkept_ok "$d/$f" "${f%@*}" || continue\n', "",
     "make kut-save saves a result cut short",
     "test_saved_results_serve_another_machine_and_replace_older_keys"),
    ("scripts/kut.sh", '{ rm -rf "$f" && dropped=$((dropped + 1)); }', ":",
     "make kut-save keeps the results of an old series",
     "test_saved_results_serve_another_machine_and_replace_older_keys"),
    ("scripts/kut.sh", '\t\tGIT_INDEX_FILE=$idx git -C "$1" add -A -f . &&\n', "",
     "make kut reuses results of a series with uncommitted changes",
     "test_an_uncommitted_change_of_the_series_runs_it_again"),
    ("scripts/kut.sh", '\t[ "$t0" = "$btree $stree" ] ||', "\ttrue ||",
     "make kut keys images on sources that changed while they were built",
     "test_sources_that_change_while_they_are_built_stop_it"),
    ("scripts/kut.sh", "\tflock -n 9 || {", "\ttrue || {",
     "two make kut run side by side",
     "test_a_second_make_kut_at_once_stops_before_any_vm"),
    ("scripts/kut.sh", '\t[ "$(images)" = "$imgs" ] ||', "\ttrue ||",
     "make kut keeps results of an image rebuilt under it",
     "test_an_image_that_changes_while_it_runs_keeps_nothing"),
    ("scripts/kut.sh", '\t\t[ "$(tree_of "$wt")" != "$(git -C "$SRC" rev-parse \'base^{tree}\')" ]; then', "\t\tfalse; then",
     "make kut runs an edited base as the base",
     "test_an_uncommitted_change_of_the_series_runs_it_again"),
    ("harness/kut_tap.py", '        elif verdict == "FAIL" and (not summed or', "        elif False and (not summed or",
     "a KUT guest that crashed after a FAIL line passes for its FAIL lines",
     "test_a_crash_after_a_fail_line_is_a_line_of_its_own"),
    ("harness/kut_tap.py", '            if kind == "ABORT":', '            if False:',
     "a KUT test's ABORT: line read as a passed check", "test_an_abort_is_a_failed_check"),
    ("harness/kut.py", "        elif fails and all(is_known(", "        elif fails and any(is_known(",
     "a listed flaky KUT check excuses an unlisted failure"),
    ("scripts/kut.sh", '\t[ "$rc" -eq 0 ] ||', "\ttrue ||",
     "make check's kut stage ignores a kernel splat",
     "test_check_fails_on_a_kernel_splat"),
    ("scripts/kut.sh", '\t\t\t\techo "${splat:-ok 0 - test-vm-splat: none}"', '\t\t\t\techo "ok 0 - test-vm-splat: none"',
     "make kut's results leave out a kernel splat",
     "test_a_splat_is_a_result_of_every_run_and_nothing_of_its_run_is_kept"),
    ("scripts/kut.sh", '"$pout/$mode.tap" "$parts" "$pout/$mode.settings")', '"$pout/$mode.tap" "$parts")',
     "make kut keeps a result without checking its settings",
     "test_a_result_with_other_settings_than_asked_is_not_kept"),
    ("scripts/kut.sh", '\t\t\t\t\tif grep -qxF "$t" <<< "$alone"; then', "\t\t\t\t\tif false; then",
     "make kut runs a test of tests/kut-alone with the others", "test_a_test_in_a_vm_of_its_own_dies_alone"),
    ("scripts/kut.sh", "\t\tNF == 1 { printf", "\t\tNF == 0 { printf",
     "a tests/kut-alone line without its reason passes",
     "test_a_kut_alone_line_without_a_reason_or_of_no_test_stops_before_any_vm"),
    ("scripts/kut.sh", "NF && all != \"\" && !index(", "NF && all == \"\" && !index(",
     "a tests/kut-alone line of no test passes",
     "test_a_kut_alone_line_without_a_reason_or_of_no_test_stops_before_any_vm"),
    ("scripts/kut.sh", "[ -z \"$psplat\" ] || splat+=${splat:+$'\\n'}$psplat", "[ -z \"$psplat\" ] || splat=$psplat",
     "make kut's results keep one part's splat only", "test_the_whole_suite_in_parts_runs_each_once"),
    ("scripts/matrix.py", "        if os.path.exists(fault):", "        if False:",
     "a triple fault of the test kernel is not named"),
    ("scripts/matrix.py", 'os.path.exists(os.path.join(bout, "hung"))', 'os.path.exists(os.path.join(out, "hung"))',
     "a hung VM after the first is not named"),
    ("scripts/check.sh", "\t\tprintf '%s\\t125\\t0\\t\\n' \"${f##*/pending-}\" >> \"$STAGES\"\n", "",
     "a background lane that died takes its stages' verdicts with it",
     "test_a_lane_that_dies_fails_its_stages"),
    ("scripts/check.sh", '( "$@" ) > "$RES/$name.log" 2>&1 &', '( "$@" ) > "$RES/$name.log" 2>&1',
     "the unit tests wait for nothing, the builds wait for them",
     "test_the_unit_tests_run_next_to_the_builds_and_their_output_is_printed"),
    ("scripts/hygiene.sh", "\t\ttrap restore EXIT\n", "",
     "a hygiene stage stopped mid-prefix leaves build/linux at that prefix",
     "test_a_stage_stopped_during_a_build_restores_build_linux"),
    ("scripts/hygiene.sh", '[ -z "$(git -C "$SRC" status --porcelain)" ]', "true",
     "hygiene checks out prefixes over uncommitted work in build/linux",
     "test_uncommitted_work_in_build_linux_keeps_the_prefixes_in_the_worktree"),
    ("scripts/hygiene.sh", "\t\t\t{ same=; break; }", "\t\t\t:",
     "hygiene builds build/linux's commits in place of the series'",
     "test_commits_that_are_not_the_series_keep_the_prefixes_in_the_worktree"),
    ("Makefile", "CONFIG_CSV = $(subst $(space),$(comma),$(CONFIG_LIST))", "CONFIG_CSV = $(CONFIGS)",
     "make passes CONFIGS apart by spaces to --configs", "test_options_get_them_comma_separated"),
    ("scripts/lib.sh", 'SRC=$(realpath -ms "${SLOTZAP_KSRC:-$BUILD/linux}")', 'SRC=${SLOTZAP_KSRC:-$BUILD/linux}',
     "a relative SLOTZAP_KSRC stays relative",
     "test_a_relative_tree_is_taken_from_where_the_command_started"),
    ("scripts/lib.sh", '\t[ -f "$KVM_OUT/lib/assert.o" ] || die', "\ttrue || die",
     "build_selftest runs gcc without the selftest library",
     "test_building_one_needs_the_library_and_says_how_to_get_it"),
    ("scripts/matrix.py", "        if rerun and n < MAX_BOOTS:", "        if False:",
     "a death that proves the platform is not rerun",
     "test_the_test_runs_again_first_and_is_flaky_when_it_passes"),
    ("scripts/matrix.py", "        if rerun and n < MAX_BOOTS:", "        if rerun:",
     "the last VM's death is rerun where no VM is left",
     "test_not_in_the_last_vm"),
    ("scripts/matrix.py", "        if any(rx.search(log) for rx in pol.never):", "        if False:",
     "a rerun does not read the test's log for a violation",
     "test_not_when_its_log_has_a_violation"),
    ("scripts/matrix.py", '                     and "Call Trace:" not in lines[i]), end)', "                     and False), end)",
     "a rerun is judged on every report of the test, not the one that failed it",
     "test_not_when_an_earlier_splat_fails_the_test"),
    ("scripts/matrix.py", '            runs += len(re.findall(r"(?m)^=== run \\d+ ", log))', "            pass",
     "a rerun ignores the runs the test had in its VM",
     "test_not_after_the_most_runs_in_the_vm"),
    ("scripts/matrix.py", '        st = {"pass": "flaky", "skip": "fail"}.get(st, st)', '        st = {"pass": "flaky"}.get(st, st)',
     "a rerun that skipped passes the death",
     "test_a_rerun_that_fails_or_skips_stays_a_failure"),
    ("tests/platform-retries", "EFLAGS: [0-9a-f]{5}[014589cd][0-9a-f]{2}", "EFLAGS: [0-9a-f]{8}",
     "irq-if-clear matches an interrupt taken with IF set",
     "test_not_with_interrupts_on"),
]


# One run of the unit tests: 166 s alone on 2 idle CPUs (2026-12-06), up to
# twice that beside another mutation's. A run that takes longer counts as
# hung: it kills a mutation, so the baseline must fit it too.
TESTS_TIMEOUT = 600


def run_tests(root, pattern="test*.py", name=None):
    """The exit status of the unit tests in ROOT whose file matches PATTERN
    (and whose name contains NAME); 124 when they hung, 125 when no test
    ran. They stop at the first failure (-f): one is enough to kill a
    mutation."""
    try:
        p = subprocess.run([sys.executable, "-m", "unittest", "discover", "-f", "-s",
                            os.path.join(root, "harness/tests"), "-t", root, "-p", pattern]
                           + (["-k", name] if name else []),
                           cwd=root, capture_output=True, text=True, timeout=TESTS_TIMEOUT)
    except subprocess.TimeoutExpired:
        return 124
    return 125 if re.search(r"^Ran 0 tests", p.stderr, re.M) else p.returncode


def tests_of(path):
    """The pattern of the unit tests named after PATH's file (harness/kut.py:
    test_kut*.py), or None when there are none: they run first, and the
    whole suite only when they do not kill the mutation."""
    stem = os.path.splitext(os.path.basename(path))[0]
    pattern = "test_%s*.py" % stem
    return pattern if glob.glob(os.path.join(TOP, "harness/tests", pattern)) else None


def copy_tree(root):
    """The repository without build/ and .git (the unit tests read README.md too)."""
    shutil.copytree(TOP, root, dirs_exist_ok=True,
                    ignore=lambda d, names: [n for n in names if n == "__pycache__"
                                             or (d == TOP and n in ("build", ".git"))])


def try_mutation(path, old, new, what, test=None):
    """PATH, WHAT and the verdict on one mutation: killed, SURVIVED, or
    STALE (the text to mutate is gone, which counts as a survivor). TEST,
    the name of the test meant to kill it, runs first."""
    root = tempfile.mkdtemp()
    try:
        copy_tree(root)
        f = os.path.join(root, path)
        with open(f) as fh:
            src = fh.read()
        if old not in src:
            return path, what + ": the text to mutate is gone", "STALE"
        with open(f, "w") as fh:
            fh.write(src.replace(old, new, 1))
        rc = run_tests(root, name=test) if test else 0
        if rc == 125:
            return path, what + ": no test is named " + test, "STALE"
        if rc == 0 and test:
            what += " (not by %s)" % test
        # a run in which no test ran (125) kills nothing
        own = tests_of(path)
        if rc == 0 and own:
            rc = run_tests(root, own) % 125
        if rc == 0:
            rc = run_tests(root) % 125
        return (path, what + (" (the tests hung)" if rc == 124 else ""),
                "killed" if rc != 0 else "SURVIVED")
    finally:
        shutil.rmtree(root)


def unit():
    """The whole unit test suite on an unmutated copy, its output shown as
    it comes: 0 only when it exited 0 and said it ran N > 0 tests and OK
    within TESTS_TIMEOUT; 124 when it took longer, 125 when no test ran."""
    root = tempfile.mkdtemp()
    try:
        copy_tree(root)
        p = subprocess.Popen([sys.executable, "-m", "unittest", "discover", "-s",
                              os.path.join(root, "harness/tests"), "-t", root],
                             cwd=root, stderr=subprocess.PIPE, text=True)
        timer = threading.Timer(TESTS_TIMEOUT, p.kill)
        timer.start()
        ran, ok = 0, False
        for line in p.stderr:
            sys.stderr.write(line)
            m = re.match(r"Ran (\d+) tests? in ", line)
            ran = int(m.group(1)) if m else ran
            ok = ok or (ran > 0 and line.startswith("OK"))
        rc = p.wait()
        if not timer.is_alive():
            print("selfcheck: the unit tests took more than %d s (TESTS_TIMEOUT); the "
                  "selfcheck's runs of them would count as hung" % TESTS_TIMEOUT)
            return 124
        timer.cancel()
        if rc == 0 and not ran:
            print("selfcheck: no unit test ran in %s" % os.path.join(root, "harness/tests"))
            return 125
        return rc if rc != 0 or ok else 1
    finally:
        shutil.rmtree(root)


def main(argv=None):
    p = argparse.ArgumentParser(description="Mutations of the harness that its unit tests must kill.")
    p.add_argument("--unit", action="store_true",
                   help="only run the unit tests on an unmutated copy of the tree")
    p.add_argument("--no-baseline", action="store_true",
                   help="skip that run before the mutations (they just passed on such a copy)")
    a = p.parse_args(argv)
    # make check's stage timeout sends SIGTERM: leave no copy of the tree behind
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if a.unit:
        return unit()
    survivors = 0
    if not a.no_baseline:
        root = tempfile.mkdtemp()
        try:
            copy_tree(root)
            if run_tests(root) != 0:
                print("selfcheck: the unit tests fail (or hang) on an unmutated copy of the tree; "
                      "fix them first (python3 -m unittest discover -s harness/tests -t .)")
                return 1
        finally:
            shutil.rmtree(root)
    mutations = [("harness/" + m[0],) + m[1:] for m in MUTATIONS] + SCRIPT_MUTATIONS
    # one mutated copy per CPU at a time; the report keeps the list's order
    with concurrent.futures.ThreadPoolExecutor(len(os.sched_getaffinity(0))) as pool:
        for path, what, verdict in pool.map(lambda m: try_mutation(*m), mutations):
            survivors += verdict != "killed"
            print("%-7s %-22s %s" % (verdict, path, what), flush=True)
    print("%d mutation(s), %d survived" % (len(mutations), survivors))
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
