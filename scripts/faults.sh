#!/bin/bash
# make faults: injected allocation failures in memslot updates (issue 15).
# Builds the debug kernel if needed (build/obj-debug: configs/kvm-debug.config
# has fail-nth, failslab, fail_page_alloc and kmemleak besides KASAN and
# lockdep) and runs tests/faults/run.sh in a test VM per
# MMU configuration: the fail-nth sweep of memslot_failnth_test over CREATE,
# DELETE, MOVE, dirty logging on/off and KVM_ENABLE_CAP of the quirk, quirk
# on and off, then a kmemleak scan. Any kernel splat fails the configuration.
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
	grep -E '^(not )?ok ' "$out.txt" | sed 's/^/    /' >&2
	# '[not ]ok [N] WHAT: DETAIL' -> results lines
	sed -n -E 's/^ok ([0-9]+ )?([^:]*): (.*)$/pass\tfaults \2@'"$c"'\t\3/p;
		   s/^not ok ([0-9]+ )?([^:]*): (.*)$/fail\tfaults \2@'"$c"'\t\3/p' "$out.txt" >> "$res"
	if [ $rc -ne 0 ] && ! grep -q "^fail	faults .*@$c	" "$res"; then
		printf 'fail\tfaults@%s\tvm.py exit %s (124 timeout, 125 guest died, 126 kernel splat), see %s\n' \
			"$c" "$rc" "${out#$TOP/}/console.log" >> "$res"
	fi
	n=$(grep -c "	faults .*@$c	" "$res")
	[ "$n" -ge 13 ] || printf 'fail\tfaults@%s\t%s of 13 results (12 sweeps and kmemleak): %s; see %s.txt\n' \
		"$c" "$n" "$(grep -m1 -A4 'Test Assertion Failure' "$out.txt" | grep -v '^ *[a-z_]*\.c:[0-9]*: ' |
			sed -n 2p | cut -c1-200)" "${out#$TOP/}" >> "$res"
done
awk -F'\t' '{ n[$1]++ } END { printf "faults: %d passed, %d failed\n", n["pass"], n["fail"] }' "$res"
! grep -q '^fail' "$res"
