#!/bin/bash
# Run memslot_torture_test RUNS times with the given arguments inside a test
# VM and print one line per run: exit status, seconds, kvm_exit tracepoint
# hits (a hit is the l1-state-in-l2 signature of docs/platform-bugs.md §1),
# operations done and the unexpected exit, if any. TORTURE=path runs another
# build of the test, e.g. one built against the unpatched base. Used for the
# vCPU-count figures of tests/selftest-args:
#   scripts/vm.py --config svm-tdp-mmu --timeout 1500 --out build/vm/runs \
#       'docs/repro/torture-runs.sh 12 -t 120 -n 10000 -v 1'
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
runs=$1
shift
INST=$TOP/build/selftests/install
. "$TOP/docs/repro/l1-state-trace.sh"
log=/tmp/torture.log
for i in $(seq "$runs"); do
	echo > $tr/trace
	start=$(date +%s.%N)
	(cd "$INST" && timeout -k 10 200 "${TORTURE:-./memslot_torture_test}" "$@") > $log 2>&1
	rc=$?
	secs=$(echo "$(date +%s.%N) - $start" | bc)
	hits=$(grep -c 'kvm_exit:' $tr/trace)
	echo "RUN $i exit=$rc seconds=$secs tracepoint-hits=$hits" \
		"$(grep -o '[0-9]* memslot operations' $log)" \
		"$(grep -m1 -o 'Unexpected exit.*' $log)"
done
