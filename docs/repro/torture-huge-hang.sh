#!/bin/bash
# The silent hang of memslot_torture_test+huge in svm-shadow (make check's
# run: -t 50 -n 5000 -v 2 -H), each run in a fresh test VM as the matrix
# boots it. A run that hangs leaves QEMU's register dump of every vCPU
# (build/vm/huge-N/cpus-at-timeout.txt, three samples a second apart); this
# prints each vCPU's RIP and CPL in them. CPL 0 at a user address is the test's
# guest code in nested guest mode (L2); ffffffff8... is the test kernel (L1).
#   docs/repro/torture-huge-hang.sh [RUNS] [CONFIG] [MODE] [KERNEL]
# MODE: random (make check's), on or off (-m). KERNEL: a bzImage (the base's,
# e.g. build/obj-base/arch/x86/boot/bzImage from make kut, with MODE on).
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
runs=${1:-8} config=${2:-svm-shadow} mode=${3:-random} kernel=${4:-$TOP/build/obj-test/arch/x86/boot/bzImage}
opt=
[ "$mode" = random ] || opt="-m $mode"
cd "$TOP" || exit 1
for i in $(seq "$runs"); do
	s=$(date +%s)
	out=build/vm/huge-$i
	scripts/vm.py --kernel "$kernel" --config "$config" --timeout 300 --out "$out" -q \
		"cd build/selftests/install && ./memslot_torture_test -t 50 -n 5000 -v 2 -H $opt" > "$out.out" 2>&1
	rc=$?
	echo "HUGE run=$i config=$config mode=$mode exit=$rc seconds=$(($(date +%s) - s))" \
		"$(grep -o '[0-9]* violations\|[0-9]* memslot operations\|seed [0-9]*' "$out.out" "$out/console.log" | cut -d: -f2 | sort -u | tr '\n' ' ')"
	if [ -f "$out/cpus-at-timeout.txt" ]; then
		awk '/^=== sample/ {s = $3} /^CPU#/ {c = $1} /^RIP=/ {print "    sample " s " " c " " $1 " " $4}' "$out/cpus-at-timeout.txt"
	fi
done
