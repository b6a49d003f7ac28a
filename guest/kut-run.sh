#!/bin/bash
# In the test VM: run kvm-unit-tests (built by scripts/kut.sh into
# build/kut/src) with Debian's QEMU on this kernel's KVM and write their TAP.
#   guest/kut-run.sh [-c CONFIG] [-s SETTINGS] on|off TAPFILE [TEST...]
# on:  stock QEMU (KVM_X86_QUIRK_SLOT_ZAP_ALL enabled, the default);
# off: QEMU under the preload library, which disables bit 7 only (the other
#      quirks, e.g. hypercall patching, stay as KVM-unit-tests expects).
# Without TESTs, every test of x86/unittests.cfg (run_tests.sh -l; those
# marked nodefault report their own skip). The tree is copied to
# $TMPDIR/kut (/tmp/kut, tmpfs): run_tests.sh writes its logs next to itself. A test's timeout and extra
# test_args come from SETTINGS (-s; scripts/kut.sh run writes it), else from
# its line in tests/kut-args (TEST SECONDS [args=ARG,...] REASON: what fits
# TCG, and why), else SLOTZAP_KUT_TIMEOUT (default 180s) and none; the
# timeout replaces KUT's own, the args are appended to the test's test_args.
#
# Tests run one at a time (run_tests.sh without -t; harness/kut_tap.py makes the
# TAP, failing a guest that dies without a FAIL: line), so that a failed one
# can be judged on its own run: its KUT log, its TAP lines and the kvm_exit
# lines of the platform signatures (guest/platform-trace.sh) go to
# harness/retry.py, the same policy as the selftests' (tests/platform-retries;
# CONFIG names the configuration for it). A run still going about 15 s
# before its timeout (the timer starts with run_tests.sh, a few seconds
# before QEMU) also gets 3 s of kvm_exit events and the QEMU threads' states
# in its log, so that a hang leaves evidence of what the guest did. A retried
# test that then passes is marked '# flaky TEST SIGNATURE (...)' in the TAP
# (one that then only skips fails), and each test is bracketed by '# start TEST' and '# done TEST seconds=N'
# (scripts/kut.sh resumes a suite after a dead test VM from these).
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
config=none settings=
[ "${1:-}" = -c ] && { config=$2; shift 2; }
[ "${1:-}" = -s ] && { settings=$2; shift 2; }
mode=${1:?usage: kut-run.sh [-c CONFIG] [-s SETTINGS] on|off TAPFILE [TEST...]} tap=${2:?TAPFILE missing}
shift 2
src=$TOP/build/kut/src
[ -f "$src/config.mak" ] || { echo "kut-run: $src is not built; run scripts/kut.sh build" >&2; exit 2; }
work=${TMPDIR:-/tmp}/kut
rm -rf "$work" && mkdir "$work" && cp -a "$src/." "$work" || exit 2
cd "$work" || exit 2
qemu=$(command -v qemu-system-x86_64) || { echo "kut-run: qemu-system-x86_64 not found" >&2; exit 2; }
case $mode in
on) ;;
off)
	lib=$TOP/build/selftests/install/libslotzap-preload.so
	[ -f "$lib" ] || { echo "kut-run: $lib missing; run make selftests" >&2; exit 2; }
	printf '#!/bin/sh\nSLOTZAP_QUIRK=off LD_PRELOAD=%s exec %s "$@"\n' "$lib" "$qemu" > qemu-slotzap
	chmod +x qemu-slotzap
	qemu=$work/qemu-slotzap
	;;
*) echo "kut-run: mode must be on or off" >&2; exit 2 ;;
esac
[ $# -gt 0 ] && tests=("$@") || mapfile -t tests < <(./run_tests.sh -l)
# Each test's timeout and extra test_args: SETTINGS (lines 'TEST SECONDS
# ARGS', tab-separated: what make kut keys its kept results on), else
# tests/kut-args through harness/kut.py settings
if [ -z "$settings" ]; then
	default_tmo=${SLOTZAP_KUT_TIMEOUT:-180s}
	settings=$work/settings
	PYTHONPATH=$TOP python3 -m harness.kut settings "$TOP/tests/kut-args" "${default_tmo%s}" "${tests[@]}" \
		> "$settings" || exit 2
fi
declare -A tmo_of=() args_of=()
while IFS=$'\t' read -r t s a; do
	[[ $s =~ ^[0-9]+$ ]] || { echo "kut-run: $settings: no timeout in seconds for '$t'" >&2; exit 2; }
	tmo_of[$t]=$s args_of[$t]=$a
done < "$settings"
for t in "${tests[@]}"; do
	[ -n "${tmo_of[$t]:-}" ] || { echo "kut-run: $settings has no line for $t" >&2; exit 2; }
done
# run_tests.sh parses the whole unittests.cfg on every call, forking a few
# subshells per entry: about 20 s a call in the test VM. Each single-test
# call gets a unittests.cfg that holds only its own section.
mv x86/unittests.cfg x86/unittests.cfg.all || exit 2
# only_cfg TEST ARGS: TEST's section, with ARGS appended to its test_args.
# KUT evals the value: appending a double-quoted " ARGS" right after it
# makes one word of it however it is quoted ("a", 'a' or a).
only_cfg() {
	awk -v t="[$1]" -v a="$2" '
		/^\[/ { if (keep && a != "" && !done) print "test_args = \"" a "\""; keep = ($0 == t); done = 0 }
		keep && a != "" && /^test_args *=/ { sub(/ *$/, ""); $0 = $0 "\" " a "\""; done = 1 }
		keep { print }
		END { if (keep && a != "" && !done) print "test_args = \"" a "\"" }' x86/unittests.cfg.all > x86/unittests.cfg
	[ -s x86/unittests.cfg ] || echo "kut-run: no test '$1' in x86/unittests.cfg" >&2
}

. "$TOP/guest/platform-trace.sh"
trace_watch
sysmap=${OUT:-/nonexistent}/System.map
# The stall snapshot's kvm_exit events go to a trace instance of their own,
# whose event is enabled now, before any QEMU runs, and only its buffer is
# switched on and off later: enabling an event live-patches its call sites
# (text_poke_bp), and under QEMU TCG a vCPU of the test VM that runs through
# a site being patched takes an int3 oops (docs/platform-bugs.md §4). Enabled
# during a test, at its timeout less 15 s, it ended the test VM in access and
# in debug (svm_handle_exit+0x4d, docs/kut.md, session 23).
stall=$tracefs/instances/kut-stall
if mkdir -p $stall 2>/dev/null && [ -d $stall/events/kvm/kvm_exit ]; then
	echo 0 > $stall/tracing_on
	echo 1 > $stall/events/kvm/kvm_exit/enable
fi
watcher=
# at exit, also when killed: no snapshot timer left behind, no trace instance
trap '[ -n "$watcher" ] && kill $watcher 2>/dev/null; trace_unwatch; rmdir $stall 2>/dev/null' EXIT

# stall_snapshot SECONDS LOG: after SECONDS, 3 s of kvm_exit events (the
# stall instance's buffer on) and the QEMU threads' states, appended to LOG
stall_snapshot() {
	sleep "$1" || return
	[ -d $stall/events/kvm/kvm_exit ] || return
	local p t
	{
		echo "=== still running after $1 s: 3 s of kvm_exit events"
		echo > $stall/trace
		echo 1 > $stall/tracing_on
		sleep 3
		echo 0 > $stall/tracing_on
		echo "events: $(grep -c ': kvm' $stall/trace)"
		grep -o 'reason [A-Za-z_0-9]*' $stall/trace | sort | uniq -c | sort -rn | head -8
		grep ': kvm' $stall/trace | tail -20 | sed 's/^ *//'
		for p in $(pgrep -f qemu-system-x86_64); do
			for t in /proc/"$p"/task/*; do
				echo "qemu $p thread $(cat "$t/comm" 2>/dev/null): $(awk '{ print "state " $3 ", utime " $14 ", stime " $15 }' "$t/stat" 2>/dev/null)"
			done
		done
	} >> "$2" 2>&1
}

logs=${tap%.tap}.logs
rm -rf "$logs" && mkdir -p "$logs"
: > "$tap"
fails=0
for t in "${tests[@]}"; do
	log=$logs/$t.log
	seen= hist=
	try=0
	tmo_s=${tmo_of[$t]} targs=${args_of[$t]}
	t_start=$(date +%s)
	echo "# start $t" >> "$tap"
	while :; do
		try=$((try + 1))
		echo "=== run $try" >> "$log"
		only_cfg "$t" "$targs"
		start=$(date +%s)
		trace_clear
		stall_snapshot $((tmo_s > 30 ? tmo_s - 15 : tmo_s)) "$log.stall" 2>/dev/null &
		watcher=$!
		# without -t: run_tests.sh's TAP has no line for a guest that shuts
		# down or exits non-zero without a FAIL: line (harness/kut.py tap_of)
		QEMU=$qemu ACCEL=kvm TIMEOUT=${tmo_s}s ./run_tests.sh "$t" > "$log.status" 2>&1
		PYTHONPATH=$TOP python3 -m harness.kut_tap "$t" "logs/$t.log" "$log.status" > "$log.tap"
		[ -s "$log.tap" ] || echo "not ok 1 - $t: harness.kut_tap wrote nothing (see its error in the log)" > "$log.tap"
		pkill -P $watcher 2>/dev/null
		kill $watcher 2>/dev/null
		wait $watcher 2>/dev/null
		watcher=
		[ -d $stall/events/kvm ] && echo 0 > $stall/tracing_on
		{
			cat "logs/$t.log" 2>/dev/null
			grep 'ok ' "$log.tap"
			sed 's/\x1b\[[0-9;]*m//g' "$log.status"
			echo "seconds=$(($(date +%s) - start))"
			trace_hits
			cat "$log.stall" 2>/dev/null
		} > "$log.run"
		rm -f "$log.stall"
		cat "$log.run" >> "$log"
		grep -q '^not ok' "$log.tap" || break
		decision=$(PYTHONPATH=$TOP python3 -m harness.retry --test "kut:$t" --config "$config" \
			--log "$log.run" --sysmap "$sysmap" --run $try --seen "$seen" 2>>"$log") || {
			echo "# $t: run $try not retried: ${decision:-the retry policy failed}" >> "$tap"
			break
		}
		sig=$(awk '{ sub(/:$/, "", $2); print $2; exit }' <<< "$decision")
		echo "=== run $((try + 1)) after run $try: $decision" >> "$log"
		hist="$hist${hist:+, }run $try $(grep -m1 -o 'not ok.*' "$log.tap" | cut -c1-80) $sig"
		seen="$seen${seen:+,}$sig"
	done
	# a failed run retried on a platform signature must be followed by a pass
	if [ -n "$hist" ] && ! grep -q '^not ok' "$log.tap" && ! grep -v ' # skip$' "$log.tap" | grep -q '^ok'; then
		echo "not ok 1 - $t: only skipped on run $try after a failed run ($hist)" > "$log.tap"
	fi
	# one TAP stream: number the results of the single-test runs in order
	awk -v n="$(grep -c '^\(not \)\?ok ' "$tap")" '/^(not )?ok [0-9]+ / { n++; sub(/ok [0-9]+ /, "ok " n " "); print }' "$log.tap" >> "$tap"
	grep -q '^not ok' "$log.tap" && fails=$((fails + 1))
	[ -n "$hist" ] && ! grep -q '^not ok' "$log.tap" && echo "# flaky $t ${seen##*,} (run $try; $hist)" >> "$tap"
	echo "# done $t seconds=$(($(date +%s) - t_start)) timeout=${tmo_s}s${targs:+ args=$targs}" >> "$tap"
	rm -f "$log.tap" "$log.run" "$log.status"
done
echo "1..$(grep -c '^\(not \)\?ok ' "$tap")" >> "$tap"
[ $fails -eq 0 ]
