#!/bin/bash
# In the test VM, on the debug kernel (configs/kvm-debug.config, fault injection):
# arm fail-nth for sleeping allocations, order-0 pages included, without
# fault-injection stack dumps; let kmemleak settle what the boot left (an
# object must stay unreferenced for 5 s to be reported), then forget it; run
# memslot_failnth_test; then scan twice more. Counts the new reports that
# come from the test or from KVM (comm "memslot_failnth", or a kvm_ frame:
# KVM is built in) and fails on them; prints the others without failing
# (vm.py's --fault-injection leaves kmemleak's console line to this script).
# Prints the test's KTAP, then one 'ok'/'not ok' line for kmemleak;
# exits non-zero if either failed. In a test VM ($OUT set) it first prints
# '# RUN faults', where the sweep starts on the console, and its output also
# goes to $OUT/faults.tap, its exit status to $OUT/faults.status when it
# finished: harness/faults.py judges them (make faults, and make check after
# the debug selftests).
#   tests/faults/run.sh
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
if [ -n "${OUT:-}" ] && [ -z "${SLOTZAP_FAULTS_TEED:-}" ]; then
	echo "# RUN faults"
	SLOTZAP_FAULTS_TEED=1 "$0" "$@" 2>&1 | tee "$OUT/faults.tap"
	rc=${PIPESTATUS[0]}
	echo "$rc" > "$OUT/faults.status"
	exit "$rc"
fi
dbg=/sys/kernel/debug
bail() { echo "Bail out! $*"; exit 2; }
knob() { echo "$2" > "$dbg/$1" || bail "cannot write '$2' to $dbg/$1"; }
mountpoint -q $dbg || mount -t debugfs debugfs $dbg || bail "cannot mount debugfs"
for a in failslab fail_page_alloc; do
	[ -d $dbg/$a ] || bail "no $dbg/$a: not the debug kernel of configs/kvm-debug.config"
	knob $a/ignore-gfp-wait N
	knob $a/verbose 0
done
knob fail_page_alloc/ignore-gfp-highmem N
knob fail_page_alloc/min-order 0
[ -w $dbg/kmemleak ] || bail "no $dbg/kmemleak (CONFIG_DEBUG_KMEMLEAK)"
knob kmemleak scan
sleep 6
knob kmemleak scan
knob kmemleak clear

# line-buffered: its lines reach faults.tap (a pipe) as it prints them
stdbuf -oL "$TOP/build/selftests/install/memslot_failnth_test"
rc=$?

sleep 6
knob kmemleak scan
sleep 6
knob kmemleak scan
report=$(cat $dbg/kmemleak)
# one record per 'unreferenced object' block; ours if the test allocated it
# or its backtrace passes through KVM
count() { awk -v want="$1" '/^unreferenced object/ { if (n) k += (ours == want); n = 1; ours = 0 }
	/comm "memslot_failnth"|kvm_/ { ours = 1 } END { if (n) k += (ours == want); print k + 0 }'; }
leaks=$(count 1 <<< "$report")
other=$(count 0 <<< "$report")
if [ "$leaks" -eq 0 ]; then
	echo "ok kmemleak: no new unreferenced object from the test or KVM after the sweep ($other elsewhere)"
else
	echo "not ok kmemleak: $leaks new unreferenced object(s) from the test or KVM after the sweep"
	rc=1
fi
[ -z "$report" ] || { echo "# kmemleak report:"; head -120 <<< "$report" | sed 's/^/# /'; }
exit $rc
