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
# Prints a per-stage time table and ends with 'N passed, N failed, N skipped'.
# The whole script is one block, which bash reads before it runs any of it:
# bash reads a plain script as it goes, so an edit of this file in place
# during a run (an editor, a patch) made a run of session 26 start its
# debug stage a second time.
{
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$TOP"

# One make check at a time: the lock is inherited by every process it
# starts and held until the last one ends.
mkdir -p "$BUILD"
exec 9> "$BUILD/check.lock"
flock -n 9 || die "another make check, or a process it started (a VM, a build), still runs: $(fuser "$BUILD/check.lock" 2>/dev/null)"
RES=$BUILD/results
rm -rf "$RES"        # nothing of an earlier run is ever counted
mkdir -p "$RES"
STAGES=$RES/stages.tsv
: > "$STAGES"
CHECK_START=$(date +%s)

# stage NAME RESULTS TIMEOUT CMD...: run CMD (which writes build/results/RESULTS)
# under a hard TIMEOUT in seconds, time it, record its exit status.
# $RES/running-NAME says since when it runs (for the watcher below).
stage() {
	local name=$1 rfile=$2 tmo=$3 start rc=0
	shift 3
	start=$(date +%s)
	echo "$start" > "$RES/running-$name"
	timeout -k 60 "$tmo" "$@" || rc=$?
	printf '%s\t%s\t%s\t%s\n' "$name" "$rc" "$(($(date +%s) - start))" "$rfile" >> "$STAGES"
	rm -f "$RES/running-$name" "$RES/pending-$name"
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

# compact_times: the stage times on a few lines, a failed stage's exit
# status in brackets, where a log's last lines (all CI keeps) show them;
# then their sum and the wall time (lanes overlap the other stages)
compact_times() {
	awk -F'\t' -v wall=$(($(date +%s) - CHECK_START)) '
		{ printf "%s %ss%s  ", $1, $3, ($2 != 0 ? "[exit " $2 "]" : ""); t += $3 }
		END { printf "= %d min of stages in %d min\n", t / 60, wall / 60 }' "$STAGES" |
		fold -s -w 100 | sed 's/^/stage times: /'
}

# running_now: the stages that run now, each with its seconds so far
running_now() {
	local f name since
	for f in "$RES"/running-*; do
		[ -r "$f" ] && read -r since < "$f" || continue
		name=${f##*/running-}
		printf '%s (%s s) ' "$name" "$(($(date +%s) - since))"
	done
}

# CI stops a make check at 90 min, and keeps only the last lines of its
# log: a little before that, say where the time went (SLOTZAP_CHECK_WATCH
# seconds after the start; 0: never)
watch=${SLOTZAP_CHECK_WATCH:-5280}
if [ "$watch" -gt 0 ]; then
	(
		# neither the lock nor a sleep may outlive make check
		exec 9>&-
		trap 'kill $s 2>/dev/null; exit 0' TERM
		sleep "$watch" </dev/null >/dev/null 2>&1 &
		s=$!
		wait $s
		# make check itself was killed, or is between stages
		kill -0 $$ 2>/dev/null || exit 0
		now=$(running_now)
		[ -n "$now" ] || exit 0
		echo
		echo "make check has run $((watch / 60)) min; now in stage(s) ${now% }, after:"
		compact_times
	) &
	watcher=$!
	trap 'kill $watcher 2>/dev/null' EXIT
fi

# lane NAME 'STAGE...' CMD...: run CMD, which runs those stages, in the
# background, next to the stages after it; the output goes to
# build/results/NAME.log, which join_lanes prints at the end.
lanes=()
lane() {
	local name=$1 s
	for s in $2; do : > "$RES/pending-$s"; done
	shift 2
	log "$name runs in the background (its output follows at the end)"
	( "$@" ) > "$RES/$name.log" 2>&1 &
	lanes+=("$name $!")
}
# join_lanes: wait for each lane and print its output. A stage of a lane
# that never wrote its row in stages.tsv (the lane died) is a failure.
join_lanes() {
	local l name pid f
	for l in "${lanes[@]}"; do
		read -r name pid <<< "$l"
		wait "$pid"
		log "$name (ran in the background): its output"
		cat "$RES/$name.log"
	done
	for f in "$RES"/pending-*; do
		[ -e "$f" ] || continue
		printf '%s\t125\t0\t\n' "${f##*/pending-}" >> "$STAGES"
		rm -f "$f" "$RES/running-${f##*/pending-}"
	done
}

# The harness's own unit tests, next to the builds (deps and source wait
# on the network and the disk, make on its links). They run on a copy of
# the tree without build/ and .git, as the selfcheck's mutants do; when
# they pass there, the selfcheck need not run them on such a copy again
# before its mutations.
unit_tests() {
	local unit_ok=
	step unit "harness unit tests (python3 -m unittest, on a copy of the tree)" 700 \
		python3 -m harness.selfcheck --unit && unit_ok=1
	step unit-mutants "harness unit tests kill every harness mutation (python3 -m harness.selfcheck)" 1200 \
		python3 -m harness.selfcheck ${unit_ok:+--no-baseline}
}
lane unit "unit unit-mutants" unit_tests
builds_ok=1
step deps "step deps" 1800 "$TOP/setup/deps.sh" &&
step source "step source" 1800 "$TOP/setup/source.sh" &&
step kernel "step kernel" 3600 "$TOP/setup/build-kernel.sh" "$OBJ_TEST" "$TOP/configs/kvm-test.config" &&
step selftests "step selftests" 1800 "$TOP/setup/build-selftests.sh" || builds_ok=

if [ -n "$builds_ok" ]; then
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
	step intel-deps "Intel: Bochs packages" 900 "$TOP/setup/bochs-deps.sh" &&
		stage intel intel.results 1800 "$TOP/scripts/intel-matrix.py"
	log "Debian 12 modules: kvm-slotzap-dkms installed on this host for three kernels, then Debian's own kernel with its modules, then removed"
	if step debmod-pkg "Debian modules: build, verify and package kvm-slotzap-dkms" 1800 \
			"$TOP/scripts/debian-modules.sh" package; then
		stage dkms dkms.results 1800 "$TOP/tests/debian-dkms-test.sh" install
		stage debmod-test debian-modules.results 1800 "$TOP/tests/debian-modules-test.sh"
		stage dkms-remove dkms-remove.results 600 "$TOP/tests/debian-dkms-test.sh" remove
	fi
	# One boot of the debug kernel per configuration (~85 s of TCG each):
	# tests/debug-tests, then make faults' fail-nth sweep of the memslot
	# ioctls and its kmemleak scan (matrix.py --faults); the sweep's results
	# 'faults WHAT@CONFIG' go to debug.results, 13 per configuration.
	log "debug kernel (KASAN, lockdep, list/VM/RCU checks, fault injection, kmemleak): the memslot tests, then the fail-nth sweep, in every MMU configuration"
	step debug-kern "debug kernel build" 3600 "$TOP/setup/build-kernel.sh" "$OBJ_DEBUG" \
			"$TOP/configs/kvm-test.config" "$TOP/configs/kvm-debug.config" &&
		stage debug debug.results 3600 "$TOP/scripts/matrix.py" --kernel "$OBJ_DEBUG/arch/x86/boot/bzImage" \
			--name debug --faults --mem 1G $(sed -e 's/#.*//' "$TOP/tests/debug-tests")
fi
# Not beside the test VMs: with the builds and hygiene beside them at
# SCHED_IDLE, the VM stages took twice as long (2026-12-04, README). Nor
# VMs beside VMs, though one alone keeps only 1.0-1.4 of the 2 CPUs busy:
# the QEMU guests next to the KUT subset took 227 s and 407 s (136 s and
# 268 s one after the other), and the debug stage's three VMs at once ran
# memslot_zap_test 3.5 times slower, into its 120 s timeout (2026-12-06)
log "series hygiene"
stage hygiene hygiene.results 3600 "$TOP/scripts/hygiene.sh"
join_lanes

echo
echo "Stage times:"
awk -F'\t' '{ printf "  %-11s %5ss%s\n", $1, $3, ($2 != 0 ? "  FAILED (exit " $2 ")" : "") }' "$STAGES"
for f in summary.txt debug-summary.txt; do
	[ -f "$RES/$f" ] && { echo; cat "$RES/$f"; }
done
echo
compact_times
[ -z "${watcher:-}" ] || { kill "$watcher" 2>/dev/null; wait "$watcher"; }
exec python3 -m harness.results verdict "$RES"
}
