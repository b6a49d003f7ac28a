#!/bin/bash
# memslot_torture_test with make check's arguments for one entry of
# tests/selftest-args, each run in a fresh test VM as the matrix boots it,
# under vm.py --freeze: a triple fault of the test kernel stops the VM
# instead of ending QEMU, and the vCPUs' registers at the fault are kept
# (build/vm/torture-N/cpus-at-triple-fault.txt); a hang keeps them too
# (cpus-at-timeout.txt). Prints one line per run, then each vCPU's RIP and
# CPL in the register dump: CPL 0 at a user address is a selftest's guest
# code (L2); ffffffff8... is the test kernel (L1).
#   docs/repro/torture-fresh-vm.sh RUNS CONFIG [ARGS...]
# e.g. the test kernel's triple fault in make check of 2026-12-04:
#   docs/repro/torture-fresh-vm.sh 10 svm-tdp-legacy -t 120 -n 5000 -v 1 -c
# KERNEL=bzImage boots another kernel (e.g. the base's, with -m on).
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
runs=$1 config=$2
shift 2
kernel=${KERNEL:-$TOP/build/obj-test/arch/x86/boot/bzImage}
cd "$TOP" && mkdir -p build/vm || exit 1
for i in $(seq "$runs"); do
	s=$(date +%s)
	out=build/vm/torture-$i
	scripts/vm.py --freeze --kernel "$kernel" --config "$config" --timeout 400 --out "$out" -q \
		"cd build/selftests/install && ./memslot_torture_test $*" > "$out.out" 2>&1
	rc=$?
	echo "TORTURE run=$i config=$config exit=$rc seconds=$(($(date +%s) - s))" \
		"$(grep -c '^Triple fault' "$out/qemu.log" 2>/dev/null) triple fault(s)" \
		"$(grep -o '[0-9]* violations\|[0-9]* memslot operations\|seed [0-9]*' "$out.out" "$out/console.log" | cut -d: -f2 | sort -u | tr '\n' ' ')"
	for f in "$out"/cpus-at-*.txt; do
		[ -f "$f" ] || continue
		echo "    $(basename "$f"):"
		awk '/^=== sample/ {s = $3} /^CPU#/ {c = $1} /^RIP=/ {print "    sample " s " " c " " $1 " " $4}
		     /^CR0=/ {print "      " $0}' "$f"
	done
done
