#!/bin/bash
# The rate of the L2 shutdown signatures (tests/platform-retries) in
# memslot_torture_test on the zap-all path (-m on, what the base does) and on
# the leaf-only path (-m off), to decide whether a retry on them may stand.
# Runs inside the test VM:
#   scripts/vm.py --config svm-tdp-mmu --timeout 7200 --out build/vm/rate-tdp-mmu \
#       'docs/repro/torture-shutdown-rate.sh 20 30'
# Args: RUNS per mode (default 20), SECONDS per run (default 30).
# ARGS (environment) replaces the test's other arguments (default
# "-n 100000 -v 2"), e.g. ARGS="-n 5000 -v 1 -c" for the +contention entry.
# MODES (default "on off") picks the modes; INST a directory holding another
# build of the test, e.g. one without its quirk check, for the unpatched
# base kernel (vm.py --kernel) with MODES=on.
# Prints one line per run and a summary per mode: runs, failures, and how
# many failures matched each signature (checked by harness/retry.py).
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
runs=${1:-20} secs=${2:-30}
INST=${INST:-$TOP/build/selftests/install}
. "$TOP/docs/repro/l1-state-trace.sh"
log=/tmp/torture.log
for mode in ${MODES:-on off}; do
	fails=0 l1=0 pf=0 other=0
	for i in $(seq "$runs"); do
		echo > $tr/trace
		(cd "$INST" && timeout -k 10 $((secs + 120)) ./memslot_torture_test -t "$secs" ${ARGS:--n 100000 -v 2} -m "$mode") > $log 2>&1
		rc=$?
		grep -m 20 'kvm_exit:' $tr/trace >> $log
		sig=-
		if [ $rc -ne 0 ]; then
			fails=$((fails + 1))
			sig=$(PYTHONPATH=$TOP python3 -m harness.retry --test memslot_torture_test --config rate \
				--log $log --sysmap "${OUT:-/nonexistent}/System.map" 2>&1 | head -1)
			if grep -q 'signature l1-state-in-l2\|retry l1-state-in-l2' <<< "$sig"; then l1=$((l1 + 1))
			elif grep -q 'l2-ifetch-pf' <<< "$sig"; then pf=$((pf + 1))
			else other=$((other + 1)); sed 's/^/    /' $log | tail -5; fi
		fi
		echo "RATE mode=$mode run=$i exit=$rc $(grep -o '[0-9]* memslot operations' $log) : $sig"
	done
	echo "RATE-SUMMARY mode=$mode runs=$runs seconds=$secs failed=$fails l1-state-in-l2=$l1 l2-ifetch-pf=$pf other=$other"
done
