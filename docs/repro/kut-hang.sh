#!/bin/bash
# How often a kvm-unit-tests test hangs, per quirk mode. Runs inside the
# test VM (KUT built by scripts/kut.sh):
#   scripts/vm.py --config svm-tdp-mmu --timeout 7200 --out build/vm/kut-hang \
#       'docs/repro/kut-hang.sh pku 25 "on off"'
# Args: TEST (default pku), RUNS per mode (default 20), MODES (default
# "on off"; the base kernel has only "on"); CONFIG (environment) names the
# configuration for the retry policy. Each run is one guest/kut-run.sh call
# with a timeout of STALL seconds (default 60; pku takes 13-17 s; a
# tests/kut-args line for TEST takes precedence), so a hang leaves
# kut-run.sh's snapshot (3 s of kvm events, the QEMU threads' states) in
# $OUT/kut-hang/TEST-MODE-RUN.logs/TEST.log. ARGS (environment) replaces
# the tests/kut-args line: the test then runs with STALL and its
# test_args plus ARGS, e.g. one subtest of svm:
#   ARGS='-pause_filter_test reg_corruption' STALL=150 CONFIG=svm-tdp-mmu \
#       docs/repro/kut-hang.sh svm 3 'off on'
# One line per run, a summary per mode.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
test=${1:-pku} runs=${2:-20} modes=${3:-on off} stall=${STALL:-60}
out=${OUT:-/tmp}/kut-hang
mkdir -p "$out"
settings=()
if [ -n "${ARGS:-}" ]; then
	printf '%s\t%s\t%s\n' "$test" "$stall" "$ARGS" > "$out/settings"
	settings=(-s "$out/settings")
fi
for mode in $modes; do
	hangs=0 fails=0
	for i in $(seq "$runs"); do
		log=$out/$test-$mode-$i
		start=$(date +%s)
		SLOTZAP_KUT_TIMEOUT=${stall}s "$TOP/guest/kut-run.sh" -c "${CONFIG:-none}" "${settings[@]}" "$mode" "$log.tap" "$test" \
			> "$log.out" 2>&1
		ok=$(grep -c '^ok' "$log.tap" 2>/dev/null) bad=$(grep -c '^not ok' "$log.tap" 2>/dev/null)
		ok=${ok:-0} bad=${bad:-0}
		grep -q "^# done $test" "$log.tap" 2>/dev/null || bad=$((bad + 1))
		hung=no
		# a hang retried on a platform signature passes as flaky: still a hang
		grep -q '^not ok.*timeout\|^# flaky' "$log.tap" 2>/dev/null && hung=yes hangs=$((hangs + 1))
		[ "$bad" -gt 0 ] && fails=$((fails + 1))
		echo "KUTHANG test=$test mode=$mode run=$i seconds=$(($(date +%s) - start)) ok=$ok not_ok=$bad hung=$hung"
		[ $hung = yes ] && grep -A 12 '^=== still running' "$log.logs/$test.log" | sed 's/^/    /'
	done
	echo "KUTHANG-SUMMARY test=$test mode=$mode runs=$runs hung=$hangs failed=$fails kernel=$(uname -r)"
done
