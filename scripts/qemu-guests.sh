#!/bin/bash
# Real VMs through QEMU on the patched kernel: in each MMU configuration,
# boot the test kernel and, inside it, run tests/qemu-boot.sh with
# KVM_X86_QUIRK_SLOT_ZAP_ALL on (stock behaviour) and off (through the preload
# library): SeaBIOS + Linux, an in-place reboot, a memory pattern checked
# across it. Results in build/results/qemu.results, numbers in
# build/results/qemu-boots.txt.
#   qemu-guests.sh [CONFIG...]     default: every configuration of tests/mmu-configs
set -uo pipefail
. "$(dirname "$0")/lib.sh"

cd "$TOP"
RES=$BUILD/results/qemu.results
TABLE=$BUILD/results/qemu-boots.txt
mkdir -p "$BUILD/results"
: > "$RES"
configs=("$@")
[ ${#configs[@]} -gt 0 ] || mapfile -t configs < <(cd "$TOP" && python3 -m harness.plan configs)

"$TOP/setup/build-l2.sh" || die "cannot build the nested guest (setup/build-l2.sh)"

{ printf '%-16s %-6s %-6s %8s %7s %7s %5s %9s %9s\n' config quirk result time_ms creates deletes moves pf_fixed pf_taken; } > "$TABLE"
for c in "${configs[@]}"; do
	out=$BUILD/vm/qemu-$c
	log "QEMU guest boots in $c (quirk on, then off)"
	start=$(date +%s)
	"$TOP/scripts/vm.py" --config "$c" --timeout 1500 --out "$out" -q \
		'tests/qemu-boot.sh on; a=$?; tests/qemu-boot.sh off; b=$?; [ $a = 0 ] && [ $b = 0 ]'
	rc=$?
	echo "    [$c: $(($(date +%s) - start))s]" >&2
	for mode in on off; do
		line=$(grep -a "^QEMU-BOOT quirk=$mode " "$out/console.log" | head -1)
		kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<< "$line" | tail -1; }
		if [ -n "$line" ] && [ "$(kv result)" = pass ] && [ $rc -ne 126 ] && [ $rc -ne 124 ] && [ $rc -ne 125 ]; then
			printf 'pass\tqemu-boot quirk=%s@%s\t%s ms\n' "$mode" "$c" "$(kv time_ms)" >> "$RES"
		else
			printf 'fail\tqemu-boot quirk=%s@%s\tvm.py exit %s, see %s/console.log\n' "$mode" "$c" "$rc" "${out#$TOP/}" >> "$RES"
		fi
		printf '%-16s %-6s %-6s %8s %7s %7s %5s %9s %9s\n' "$c" "$mode" "$(kv result)" "$(kv time_ms)" \
			"$(kv creates)" "$(kv deletes)" "$(kv moves)" "$(kv pf_fixed)" "$(kv pf_taken)" >> "$TABLE"
	done
done
cat "$TABLE"
! grep -q '^fail' "$RES"
