#!/bin/bash
# Run inside the test VM: memslot_gpte_scaling_bench over K, quirk, repeats.
# Usage (in the test VM, e.g. scripts/vm.py --config svm-shadow --timeout 1800 \
#   'docs/repro/gpte-scaling.sh series 3 "1024 4096 16384" "off on"'):
#   gpte-scaling.sh LABEL REPS "K..." "QUIRKS..." [extra args]
label=$1 reps=$2 ks=$3 quirks=$4
shift 4
bin=${BIN:-$(cd "$(dirname "$0")/../.." && pwd)/build/selftests/install/memslot_gpte_scaling_bench}
log=$OUT/bench-$label.log
echo "kernel $(uname -r) $(cat /proc/cmdline)" > "$log"
for rep in $(seq 1 "$reps"); do
	for k in $ks; do
		for q in $quirks; do
			start=$(date +%s.%N)
			"$bin" -k "$k" -m "$q" "$@" > "$OUT/run.out" 2>&1
			rc=$?
			end=$(date +%s.%N)
			cat "$OUT/run.out" >> "$log"
			line=$(grep '^RESULT' "$OUT/run.out" || echo "RESULT k=$k quirk=$q FAILED")
			echo "$line rc=$rc rep=$rep kernel=$label wall_s=$(echo "$end - $start" | bc)" | tee -a "$OUT/results-$label.txt"
		done
	done
done
