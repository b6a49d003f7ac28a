#!/bin/bash
# make faults: injected allocation failures in memslot updates (issue 15).
# Builds the debug kernel if needed (build/obj-debug: configs/kvm-debug.config
# has fail-nth, failslab, fail_page_alloc and kmemleak besides KASAN and
# lockdep) and runs tests/faults/run.sh in a test VM per
# MMU configuration: the fail-nth sweep of memslot_failnth_test over CREATE,
# DELETE, MOVE, dirty logging on/off and KVM_ENABLE_CAP of the quirk, quirk
# on and off, then a kmemleak scan. Any kernel splat fails the configuration.
# make check runs the same sweep, judged the same way (harness/faults.py),
# in its debug stage's VMs after the debug selftests (matrix.py --faults);
# this script boots the debug kernel for the sweep alone.
#   scripts/faults.sh [CONFIG...]     default: every one of tests/mmu-configs
# Writes build/results/faults.results; prints the injection points per
# operation.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

OBJ=$OBJ_DEBUG
RES=$BUILD/results
mkdir -p "$RES" "$BUILD/vm"
res=$RES/faults.results
: > "$res"
configs=("$@")
[ ${#configs[@]} -gt 0 ] || mapfile -t configs < <(cd "$TOP" && python3 -m harness.plan configs)

"$TOP/setup/build-kernel.sh" "$OBJ" "$TOP/configs/kvm-test.config" "$TOP/configs/kvm-debug.config" ||
	die "the debug kernel does not build"
[ -x "$BUILD/selftests/install/memslot_failnth_test" ] ||
	die "build/selftests/install/memslot_failnth_test is missing; run 'make selftests'"

for c in "${configs[@]}"; do
	out=$BUILD/vm/faults-$c
	log "fail-nth sweep, $c"
	start=$(date +%s)
	"$TOP/scripts/vm.py" --kernel "$OBJ/arch/x86/boot/bzImage" --config "$c" --timeout 1800 \
		--mem 1G --fault-injection memslot_failnth \
		--out "$out" tests/faults/run.sh > "$out.txt" 2>&1
	rc=$?
	echo "    [$c: $(($(date +%s) - start))s, vm.py exit $rc; output in ${out#$TOP/}.txt]" >&2
	grep -E '^(not )?ok ' "$out/faults.tap" 2>/dev/null | sed 's/^/    /' >&2
	# the same judgement as make check's (scripts/matrix.py --faults):
	# results 'faults WHAT@CONFIG', and 'faults@CONFIG' for what else failed
	(cd "$TOP" && python3 -m harness.faults "$c" "$out" "$rc") >> "$res" ||
		printf 'fail\tfaults@%s\tpython3 -m harness.faults failed (see its error above)\n' "$c" >> "$res"
done
awk -F'\t' '{ n[$1]++ } END { printf "faults: %d passed, %d failed\n", n["pass"], n["fail"] }' "$res"
! grep -q '^fail' "$res"
