#!/bin/bash
# The time x2apic's check "TMCCT should not be reset to TMICT value" takes,
# against the time its timer leaves it. Runs kvm-unit-tests' x2apic RUNS
# times (quirk MODE, default on) inside the test VM with the kvm_msr
# tracepoint on, filtered to the two x2APIC timer registers (TMCCT 0x839,
# LVTT 0x832), and keeps each run's trace and TAP in $OUT/kut-tmcct/:
#   scripts/vm.py --config svm-shadow --mem 8G --out build/vm/tmcct-series \
#       'CONFIG=svm-shadow OUT=$OUT docs/repro/kut-tmcct-window.sh 4 on'
# then on the host: docs/repro/kut-tmcct-window.py build/vm/tmcct-*
# The tracepoint costs each traced MSR exit a few microseconds; the port
# exits of the serial output between the two reads are not traced.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
runs=${1:-4} mode=${2:-on}
out=${OUT:-/tmp}/kut-tmcct
tracefs=/sys/kernel/tracing
ev=$tracefs/events/kvm/kvm_msr
mkdir -p "$out"
[ -d $tracefs/events ] || mount -t tracefs nodev $tracefs || { echo "no tracefs" >&2; exit 2; }
[ -d $ev ] || { echo "no kvm_msr tracepoint in this kernel" >&2; exit 2; }
echo 65536 > $tracefs/buffer_size_kb
echo 'ecx == 0x839 || ecx == 0x832' > $ev/filter
for i in $(seq "$runs"); do
	log=$out/x2apic-$mode-$i
	echo > $tracefs/trace
	echo 1 > $ev/enable
	start=$(date +%s)
	"$TOP/guest/kut-run.sh" -c "${CONFIG:-none}" "$mode" "$log.tap" x2apic > "$log.out" 2>&1
	echo 0 > $ev/enable
	grep 'kvm_msr:' $tracefs/trace > "$log.trace"
	check=$(grep -c '^not ok.*TMCCT should not be reset to TMICT value' "$log.tap")
	echo "KUTTMCCT kernel=$(uname -r) mode=$mode run=$i seconds=$(($(date +%s) - start)) failed=$check events=$(wc -l < "$log.trace")"
done
echo 0 > $ev/filter
echo 1408 > $tracefs/buffer_size_kb
