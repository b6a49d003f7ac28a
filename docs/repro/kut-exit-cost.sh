#!/bin/bash
# What one exit of a kvm-unit-tests guest costs on this kernel: KUT's
# vmexit.flat, RUNS times per quirk mode, each run one guest that times
# every exit kind of EXITS (TSC cycles per iteration, vmexit.c's own
# number). Runs inside the test VM (KUT built by scripts/kut.sh), e.g. the
# series and the base in svm-shadow:
#   scripts/vm.py --config svm-shadow --out build/vm/exit-series \
#       'CONFIG=svm-shadow OUT=$OUT docs/repro/kut-exit-cost.sh 5 on'
#   scripts/vm.py --kernel build/base/obj-test/arch/x86/boot/bzImage \
#       --config svm-shadow --out build/vm/exit-base \
#       'CONFIG=svm-shadow OUT=$OUT docs/repro/kut-exit-cost.sh 5 on'
# then on the host: docs/repro/kut-exit-cost.py build/vm/exit-base build/vm/exit-series
# (it reads each run's KUT log under OUT/kut-exit-cost/)
# Args: RUNS per mode (default 5), MODES (default "on"; the base kernel has
# only "on"). CPUID always; EXITS (environment) replaces the others: an MSR
# read and write (the path of x2apic's TMCCT read), VMCALL, CR8, a port read
# in KVM and one in QEMU (the path of KUT's serial output, which report()
# writes inside the TMCCT check's window), the TSC-deadline timer and,
# for the shadow MMU, CR0.WP and CR4.PGE toggles (each reloads the MMU
# context).
# Not a test: it prints numbers (EXITCOST lines), it asserts nothing.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
runs=${1:-5} modes=${2:-on}
exits=${EXITS:-rd_tsc_adjust_msr wr_tsc_adjust_msr vmcall mov_to_cr8 inl_from_kernel inl_from_qemu tscdeadline_immed toggle_cr0_wp toggle_cr4_pge}
out=${OUT:-/tmp}/kut-exit-cost
mkdir -p "$out"
# vmexit_cpuid: its test_args ('cpuid') plus EXITS, one CPU
printf 'vmexit_cpuid\t600\t%s\n' "$exits" > "$out/settings"
for mode in $modes; do
	for i in $(seq "$runs"); do
		log=$out/$mode-$i
		start=$(date +%s)
		"$TOP/guest/kut-run.sh" -c "${CONFIG:-none}" -s "$out/settings" "$mode" "$log.tap" vmexit_cpuid \
			> "$log.out" 2>&1
		# vmexit.c prints 'NAME CYCLES' per exit kind (CRLF: QEMU's serial)
		line=$(tr -d '\r' < "$log.logs/vmexit_cpuid.log" 2>/dev/null | grep -aE '^[a-z0-9_]+ [0-9]+$' | tr ' \n' '= ')
		echo "EXITCOST kernel=$(uname -r) config=${CONFIG:-none} mode=$mode run=$i seconds=$(($(date +%s) - start)) $line"
	done
done
