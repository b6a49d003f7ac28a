#!/bin/bash
# Where a leaf-only memslot DELETE spends its time, ours against 6.12, seen
# with ftrace in the test VM: function_graph on a few functions of the
# memslot update path, plus scheduler, workqueue, timer and IPI events.
# Runs inside the test VM, booted with a kernel that has the function tracer
# (make bench-profile builds them: build/obj-profile, build/obj-612-profile):
#   scripts/vm.py --config svm-tdp-mmu --kernel build/obj-profile/arch/x86/boot/bzImage \
#       --out build/vm/floor-ours 'docs/repro/floor-trace.sh build/bench/bin-ours'
#   scripts/vm.py --config svm-tdp-mmu --kernel build/obj-612-profile/arch/x86/boot/bzImage \
#       --out build/vm/floor-612 'docs/repro/floor-trace.sh build/bench/bin-mainline'
#   docs/repro/floor-trace.py build/vm/floor-ours/trace.txt build/vm/floor-612/trace.txt
# Args: the bench binaries' directory (make bench builds them); REPS
# (environment, default 30) rounds of memslot_zap_bench -q; PIN (default
# "taskset -c 0", empty for none), as make bench runs its one-vCPU points.
# Writes $OUT/points.txt (the benchmark's own lines) and $OUT/trace.txt.
set -eu
[ $# = 1 ] || { echo "usage: $0 BENCH_BIN_DIR (e.g. build/bench/bin-ours)"; exit 2; }
bench=$1/x86_64/memslot_zap_bench
T=/sys/kernel/tracing
[ -d $T/events ] || mount -t tracefs nodev $T
[ -e $T/set_ftrace_filter ] || { echo "this kernel has no function tracer (configs/kvm-profile.config)"; exit 2; }
echo 0 > $T/tracing_on
echo 8192 > $T/buffer_size_kb
echo global > $T/trace_clock
: > $T/set_ftrace_filter
for f in kvm_vm_ioctl kvm_set_memslot synchronize_srcu_expedited kvm_arch_flush_shadow_memslot \
	 kvm_arch_commit_memory_region kvm_arch_prepare_memory_region kvm_arch_free_memslot; do
	echo $f >> $T/set_ftrace_filter 2>/dev/null || echo "not traceable here: $f"
done
# an empty filter reads "#### all functions enabled ####" and traces them all
grep -qv '^#' $T/set_ftrace_filter || { echo "none of the functions is traceable here"; exit 2; }
grep -qw function_graph $T/available_tracers || { echo "no function_graph tracer in this kernel"; exit 2; }
echo function_graph > $T/current_tracer
echo funcgraph-proc > $T/trace_options
echo funcgraph-abstime > $T/trace_options
for e in sched/sched_switch sched/sched_wakeup workqueue/workqueue_queue_work \
	 workqueue/workqueue_execute_start workqueue/workqueue_execute_end \
	 irq_vectors/local_timer_entry irq_vectors/reschedule_entry \
	 irq_vectors/call_function_single_entry timer/hrtimer_expire_entry; do
	echo 1 > $T/events/$e/enable
done
: > $T/trace
echo "clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
echo 1 > $T/tracing_on
${PIN-taskset -c 0} "$bench" -m 64 -v 1 -s 4K -r "${REPS:-30}" -q > "$OUT/points.txt"
echo 0 > $T/tracing_on
cp $T/trace "$OUT/trace.txt"
grep -c . "$OUT/trace.txt"
