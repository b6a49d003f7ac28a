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

RES=$BUILD/results
rm -rf "$RES"        # nothing of an earlier run is ever counted
mkdir -p "$RES"
STAGES=$RES/stages.tsv
TIMES=$RES/times.txt
T0=$(date +%s)
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
	echo "$rc" > "$RES/$name.rc"
	return $rc
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

# The background lane, in this order; a stage's timeout is the whole run's,
# as its wall time depends on what the VMs leave over.
BG_STAGES="debmod-pkg bochs-kern debug-kern hygiene"
background() {
	local LANE=background
	step debmod-pkg "Debian modules: build, verify and package kvm-slotzap-dkms" 5400 \
		"$TOP/scripts/debian-modules.sh" package
	step bochs-kern "Bochs kernel build (the test kernel, LZ4)" 5400 \
		"$TOP/setup/build-bochs-kernel.sh"
	step debug-kern "debug kernel build" 5400 "$TOP/setup/build-kernel.sh" "$OBJ_DEBUG" \
		"$TOP/configs/kvm-test.config" "$TOP/configs/kvm-debug.config"
	stage hygiene hygiene.results 5400 "$TOP/scripts/hygiene.sh"
}
# await NAME: wait for the background stage NAME; its exit status (1 when
# the background lane ended without running it).
await() {
	local since=$(date +%s)
	while [ ! -f "$RES/$1.rc" ] && kill -0 "$bg_pid" 2>/dev/null; do
		sleep 5
	done
	[ "$(($(date +%s) - since))" -lt 5 ] || log "waited $(($(date +%s) - since)) s for the background stage $1"
	[ -f "$RES/$1.rc" ] || return 1
	return "$(cat "$RES/$1.rc")"
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
	(chrt --idle -p 0 "$BASHPID" >/dev/null && background) > "$RES/background.log" 2>&1 &
	bg_pid=$!
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
	await bochs-kern &&
		stage intel intel.results 1800 "$TOP/scripts/intel-matrix.py"
	log "Debian 12 modules: kvm-slotzap-dkms installed on this host for three kernels, then Debian's own kernel with its modules, then removed"
	if await debmod-pkg; then
		stage dkms dkms.results 1800 "$TOP/tests/debian-dkms-test.sh" install
		stage debmod-test debian-modules.results 1800 "$TOP/tests/debian-modules-test.sh"
		stage dkms-remove dkms-remove.results 600 "$TOP/tests/debian-dkms-test.sh" remove
	fi
	# One boot of the debug kernel per configuration (~85 s of TCG each):
	# tests/debug-tests, then make faults' fail-nth sweep of the memslot
	# ioctls and its kmemleak scan (matrix.py --faults); the sweep's results
	# 'faults WHAT@CONFIG' go to debug.results, 13 per configuration.
	log "debug kernel (KASAN, lockdep, list/VM/RCU checks, fault injection, kmemleak): the memslot tests, then the fail-nth sweep, in every MMU configuration"
	await debug-kern &&
		stage debug debug.results 3600 "$TOP/scripts/matrix.py" --kernel "$OBJ_DEBUG/arch/x86/boot/bzImage" \
			--name debug --faults --mem 1G $(sed -e 's/#.*//' "$TOP/tests/debug-tests")
	log "waiting for the background lane (series hygiene last)"
	wait "$bg_pid"
	for name in $BG_STAGES; do
		[ -f "$RES/$name.rc" ] ||
			printf '%s\t%s\t%s\t%s\n' "$name" 1 0 "$name.results" >> "$STAGES"
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
