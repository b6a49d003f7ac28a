#!/bin/bash
# 'make check': build what is needed, then the whole test suite:
#   the harness's own unit tests, the builds, the test plan, a smoke test of
#   the VM, the KVM selftest matrix (every MMU configuration), real QEMU
#   guests, a kvm-unit-tests subset, Intel VMX under Bochs, the Debian 12 modules, the memslot tests
#   on a debug kernel (KASAN, lockdep, ...) and injected allocation
#   failures in memslot updates (fail-nth, kmemleak), series hygiene (base,
#   checkpatch, every prefix builds, KVM-GT compiles).
# Every stage's exit status is recorded in build/results/stages.tsv next to
# its results file; the verdict (harness/results.py) counts a stage that
# failed without a failed result, or wrote none, as a failure of its own.
#
# Two lanes. The VM stages run one after another in the foreground. The
# builds no VM needs yet (the Debian modules package, the Bochs and debug
# kernels) and the series hygiene run in a
# background lane at SCHED_IDLE priority, which gets only the CPU time the
# VMs leave idle: the svm-tdp-mmu matrix kept 1.27 of the 2 host CPUs busy
# on average (2026-12-04), and a SCHED_IDLE task gives way at once to any
# guest vCPU thread that wakes.
# A VM stage that needs a background build waits for it (await). The
# background lane's output goes to build/results/background.log, printed
# after the foreground's; a background stage that never reported counts as
# crashed.
# Prints a per-stage time table and ends with 'N passed, N failed, N skipped'.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$TOP"

# One make check at a time: the lock is inherited by every process it
# starts, the background lane's included, and held until the last one ends.
mkdir -p "$BUILD"
exec 9> "$BUILD/check.lock"
flock -n 9 || die "another make check, or a process it started (its background lane, a VM), still runs: $(fuser "$BUILD/check.lock" 2>/dev/null)"
RES=$BUILD/results
rm -rf "$RES"        # nothing of an earlier run is ever counted
mkdir -p "$RES"
STAGES=$RES/stages.tsv
TIMES=$RES/times.txt
T0=$(date +%s)
# The background lane's stages share one deadline, 80 minutes into the run
# (CI stops at 90): their wall time depends on what the VMs leave over.
DEADLINE=$((T0 + ${SLOTZAP_CHECK_MINUTES:-80} * 60))
: > "$STAGES"
: > "$TIMES"

# stage NAME RESULTS TIMEOUT CMD...: run CMD (which writes build/results/RESULTS)
# under a hard TIMEOUT in seconds, time it, record its exit status (in
# stages.tsv, and in NAME.rc for await).
stage() {
	local name=$1 rfile=$2 tmo=$3 start rc=0
	shift 3
	start=$(date +%s)
	timeout -k 60 "$tmo" "$@" || rc=$?
	printf '%s\t%s\t%s\t%s\n' "$name" "$rc" "$(($(date +%s) - start))" "$rfile" >> "$STAGES"
	printf '%-11s %5ss%s%s\n' "$name" "$(($(date +%s) - start))" "${LANE:+ ($LANE)}" \
		"$([ $rc -ne 0 ] && echo "  FAILED (exit $rc)")" >> "$TIMES"
	echo "$rc" > "$RES/$name.rc.new" && mv "$RES/$name.rc.new" "$RES/$name.rc"
	return $rc
}
# not_run NAME RESULTS WHY: a stage that could not run is a failure.
not_run() {
	printf 'fail\tstage %s\tnot run: %s\n' "$1" "$3" >> "$RES/$2"
	printf '%s\t1\t0\t%s\n' "$1" "$2" >> "$STAGES"
	printf '%-11s   not run: %s\n' "$1" "$3" >> "$TIMES"
}
# step NAME WHAT TIMEOUT CMD...: a stage whose one result is its exit status.
step() {
	local name=$1 what=$2 rc=0
	shift 2
	stage "$name" "$name.results" "$@" || rc=$?
	if [ $rc -eq 0 ]; then
		printf 'pass\t%s\t\n' "$what" > "$RES/$name.results"
	else
		printf 'fail\t%s\texit %s, see the output above\n' "$what" "$rc" > "$RES/$name.results"
	fi
	return $rc
}

# The background lane, in this order, each stage limited to what is left
# until DEADLINE.
BG_STAGES="debmod-pkg bochs-kern debug-kern hygiene"
background() {
	local LANE=background
	# on any exit, a signal's too: what it started ends with it
	# ($BASHPID inside $(...) would be the command substitution's own)
	trap 'me=$BASHPID; for c in $(pgrep -P $me); do kill_tree "$c"; done; touch "$RES/background.done"' EXIT
	bg_step debmod-pkg "Debian modules: build, verify and package kvm-slotzap-dkms" \
		"$TOP/scripts/debian-modules.sh" package
	bg_step bochs-kern "Bochs kernel build (the test kernel, LZ4)" \
		"$TOP/setup/build-bochs-kernel.sh"
	bg_step debug-kern "debug kernel build" "$TOP/setup/build-kernel.sh" "$OBJ_DEBUG" \
		"$TOP/configs/kvm-test.config" "$TOP/configs/kvm-debug.config"
	if [ "$(date +%s)" -lt "$DEADLINE" ]; then
		stage hygiene hygiene.results $((DEADLINE - $(date +%s))) "$TOP/scripts/hygiene.sh"
	else
		not_run hygiene hygiene.results "the background lane's deadline passed"
	fi
}
bg_step() {
	local name=$1 what=$2
	shift 2
	if [ "$(date +%s)" -lt "$DEADLINE" ]; then
		step "$name" "$what" $((DEADLINE - $(date +%s))) "$@"
	else
		not_run "$name" "$name.results" "the background lane's deadline passed"
		echo 1 > "$RES/$name.rc"
	fi
}
# kill_tree PID: PID and everything it started (timeout(1) puts its command
# in a process group of its own, which a group kill would miss).
kill_tree() {
	local c
	for c in $(pgrep -P "$1"); do
		kill_tree "$c"
	done
	kill -TERM "$1" 2>/dev/null
}
# await NAME: wait for the background stage NAME; true if it passed.
await() {
	local since=$(date +%s)
	while [ ! -f "$RES/$1.rc" ] && [ ! -f "$RES/background.done" ] && [ "$(date +%s)" -lt $((DEADLINE + 120)) ]; do
		sleep 5
	done
	[ "$(($(date +%s) - since))" -lt 5 ] || log "waited $(($(date +%s) - since)) s for the background stage $1"
	[ "$(cat "$RES/$1.rc" 2>/dev/null)" = 0 ]
}

log "the harness's own unit tests"
step unit "harness unit tests (python3 -m unittest)" 300 \
	python3 -m unittest discover -s "$TOP/harness/tests" -t "$TOP"
# in the foreground: its unit runs have a time limit, and one that a busy
# lane made slow must not count as a mutation caught (a hang)
step unit-mutants "harness unit tests kill every harness mutation (python3 -m harness.selfcheck)" 600 \
	python3 -m harness.selfcheck
builds_ok=1
step deps "step deps" 1800 "$TOP/setup/deps.sh" &&
step source "step source" 1800 "$TOP/setup/source.sh" &&
step kernel "step kernel" 3600 "$TOP/setup/build-kernel.sh" "$OBJ_TEST" "$TOP/configs/kvm-test.config" &&
step selftests "step selftests" 1800 "$TOP/setup/build-selftests.sh" || builds_ok=

if [ -n "$builds_ok" ]; then
	# before the background lane, which builds the Bochs kernel with lz4
	step intel-deps "Intel: Bochs packages" 900 "$TOP/setup/bochs-deps.sh"
	log "background lane (SCHED_IDLE): $BG_STAGES; output in $RES/background.log"
	(chrt --idle -p 0 "$BASHPID" || renice -n 19 -p "$BASHPID"; background) > "$RES/background.log" 2>&1 &
	bg_pid=$!
	trap '[ -f "$RES/background.done" ] || kill_tree "$bg_pid"' EXIT
	trap 'exit 130' INT TERM
	log "the test plan: every name in tests/ is a known test and configuration"
	step plan "test plan (tests/*) names known tests and configurations" 60 \
		python3 -m harness.plan check --tests "$BUILD/selftests/install/tests.txt"
	log "smoke test: boot, SVM in /proc/cpuinfo, /dev/kvm"
	step smoke "smoke VM boots, SVM and /dev/kvm present" 400 \
		"$TOP/scripts/vm.py" --timeout 300 --out "$BUILD/vm/smoke" \
		'grep -qw svm /proc/cpuinfo && test -c /dev/kvm && grep -q . /sys/module/kvm_amd/parameters/npt'
	log "KVM selftest matrix"
	stage matrix matrix.results 5700 "$TOP/scripts/matrix.py" --check
	log "real QEMU guests (SeaBIOS + Linux, reboot) with the quirk on and off"
	stage qemu qemu.results 1800 "$TOP/scripts/qemu-guests.sh"
	log "kvm-unit-tests subset (tests/kut-check): one configuration, quirk on and off"
	stage kut kut.results 1500 "$TOP/scripts/kut.sh" check
	log "Intel VMX with EPT under Bochs: the memslot tests in three MMU configurations"
	if await bochs-kern; then
		stage intel intel.results 1800 "$TOP/scripts/intel-matrix.py"
	else
		not_run intel intel.results "the Bochs kernel build (bochs-kern, background) did not pass"
	fi
	log "Debian 12 modules: kvm-slotzap-dkms installed on this host for three kernels, then Debian's own kernel with its modules, then removed"
	if await debmod-pkg; then
		stage dkms dkms.results 1800 "$TOP/tests/debian-dkms-test.sh" install
		stage debmod-test debian-modules.results 1800 "$TOP/tests/debian-modules-test.sh"
		stage dkms-remove dkms-remove.results 600 "$TOP/tests/debian-dkms-test.sh" remove
	else
		not_run debmod-test debian-modules.results "the package build (debmod-pkg, background) did not pass"
	fi
	# One boot of the debug kernel per configuration (~85 s of TCG each):
	# tests/debug-tests, then make faults' fail-nth sweep of the memslot
	# ioctls and its kmemleak scan (matrix.py --faults); the sweep's results
	# 'faults WHAT@CONFIG' go to debug.results, 13 per configuration.
	log "debug kernel (KASAN, lockdep, list/VM/RCU checks, fault injection, kmemleak): the memslot tests, then the fail-nth sweep, in every MMU configuration"
	if await debug-kern; then
		stage debug debug.results 3600 "$TOP/scripts/matrix.py" --kernel "$OBJ_DEBUG/arch/x86/boot/bzImage" \
			--name debug --faults --mem 1G $(sed -e 's/#.*//' "$TOP/tests/debug-tests")
	else
		not_run debug debug.results "the debug kernel build (debug-kern, background) did not pass"
	fi
	log "waiting for the background lane (series hygiene last)"
	while [ ! -f "$RES/background.done" ] && [ "$(date +%s)" -lt $((DEADLINE + 120)) ]; do
		sleep 5
	done
	if [ ! -f "$RES/background.done" ]; then
		warn "the background lane overran its deadline by 2 minutes; stopping it"
		kill_tree "$bg_pid"
	fi
	wait "$bg_pid"
	for name in $BG_STAGES; do
		[ -f "$RES/$name.rc" ] || not_run "$name" "$name.results" "the background lane ended before it"
	done
	echo
	echo "==> the background lane's output (build/results/background.log):"
	cat "$RES/background.log"
else
	log "series hygiene"
	stage hygiene hygiene.results 3600 "$TOP/scripts/hygiene.sh"
fi

echo
echo "Stage times:"
sed 's/^/  /' "$TIMES"
for f in summary.txt debug-summary.txt; do
	[ -f "$RES/$f" ] && { echo; cat "$RES/$f"; }
done
# the stage times again, compact, where a log's last lines (all CI keeps)
# show them next to the verdict; a failed stage's exit status in brackets
echo
awk -F'\t' -v wall=$(($(date +%s) - T0)) -v bg=" ${bg_pid:+$BG_STAGES} " \
	'{ printf "%s%s %ss%s  ", $1, (index(bg, " " $1 " ") ? "(bg)" : ""), $3, ($2 != 0 ? "[exit " $2 "]" : "") }
	END { printf "= %d min wall\n", wall / 60 }' "$STAGES" | fold -s -w 100 | sed 's/^/stage times: /'
exec python3 -m harness.results verdict "$RES"
