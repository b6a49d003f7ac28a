#!/usr/bin/env python3
"""Where a leaf-only memslot DELETE and MOVE spend their time: ours against 6.12.

  scripts/bench-profile.py [--configs svm-tdp-mmu,...] [--reps N] [--report-only]

Builds the kernel of the series (build/linux) and Debian's 6.12 as pinned by
patches/upstream/BASE (scripts/upstream.sh pristine) with the test config plus
configs/kvm-profile.config (ftrace's function profiler), into
build/obj-profile and build/obj-612-profile. Then boots each kernel in each
MMU configuration and runs memslot_zap_bench -q (quirk off: the leaf-only
zap; each round is a DELETE, a CREATE and a MOVE of a 4 KiB memslot next to
64 MiB of mapped guest data), pinned to CPU 0 of the test VM like make
bench's one-vCPU points, with the profiler on FUNCTIONS, the memslot
update path of both kernels (a name one kernel lacks, or inlines, is left
out by ftrace; build/bench/profile/KERNEL-CONFIG/filter.txt lists what was
traced).

build/bench/profile/profile.md gets one table per configuration: per
function, calls per round and the mean time per call in microseconds,
inclusive of what it calls and of sleeps (ftrace's graph-time), on both
kernels, and the ratio ours/6.12. The same selftest binary (built against
6.1's headers) runs on both kernels, so only the kernel differs. The
profiler's own cost is in every number: compare the kernels, not these
numbers with make bench's. Numbers are reported, never asserted on.
"""

import argparse
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vm  # noqa: E402

TOP = vm.TOP
BUILD = os.path.join(TOP, "build")
OUT = os.path.join(BUILD, "bench/profile")
BENCH = os.path.join(BUILD, "selftests/install/memslot_zap_bench")
OBJ = {"ours": os.path.join(BUILD, "obj-profile"), "6.12": os.path.join(BUILD, "obj-612-profile")}

# The memslot update path, KVM_SET_USER_MEMORY_REGION down to the zap and
# the SRCU grace periods, under the names either kernel uses.
FUNCTIONS = """
kvm_vm_ioctl_set_memory_region kvm_set_memory_region __kvm_set_memory_region
kvm_set_memslot kvm_invalidate_memslot kvm_delete_memslot kvm_move_memslot
kvm_create_memslot kvm_swap_active_memslots kvm_activate_memslot
kvm_replace_memslot kvm_copy_memslot kvm_prepare_memory_region
kvm_commit_memory_region kvm_arch_prepare_memory_region
kvm_arch_commit_memory_region kvm_arch_flush_shadow_memslot
kvm_arch_free_memslot kvm_arch_memslots_updated kvm_free_memslot
synchronize_srcu synchronize_srcu_expedited
kvm_mmu_zap_all_fast kvm_mmu_zap_memslot kvm_mmu_zap_memslot_leafs
kvm_mmu_zap_memslot_pages_and_flush kvm_unmap_gfn_range
kvm_tdp_mmu_unmap_gfn_range kvm_tdp_mmu_zap_invalidated_roots
kvm_tdp_mmu_invalidate_all_roots kvm_flush_remote_tlbs
kvm_flush_remote_tlbs_memslot kvm_flush_remote_tlbs_range
kvm_make_all_cpus_request kvm_make_all_cpus_request_except
kvm_page_track_delete_slot kvm_page_track_flush_slot
kvm_mmu_invalidate_mmio_sptes kvm_mmu_slot_gfn_write_protect
kvm_zap_rmap __kvm_zap_rmap kvm_handle_gfn_range kvm_mmu_remote_flush_or_zap
kvm_mmu_prepare_zap_page kvm_mmu_commit_zap_page kvm_page_track_free_memslot
""".split()

STAT = re.compile(r"^\s*(\S+)\s+(\d+)\s+([\d.]+) us\s+([\d.]+) us")
NAME_WIDTH = 30   # function_stat_show() prints "%-30.30s"


def full_name(printed):
    """The FUNCTIONS entry a name cut to NAME_WIDTH stands for (else as printed)."""
    if len(printed) < NAME_WIDTH:
        return printed
    whole = [f for f in FUNCTIONS if f.startswith(printed)]
    return whole[0] if len(whole) == 1 else printed


def parse_stat(text):
    """ftrace's trace_stat/function* (one file per CPU, concatenated) ->
    {function: (calls, total microseconds)}, summed over the CPUs (a
    function's time is booked on the CPU it returns on)."""
    got = {}
    for line in text.splitlines():
        m = STAT.match(line)
        if m:
            name = full_name(m.group(1))
            calls, total = got.get(name, (0, 0.0))
            got[name] = (calls + int(m.group(2)), total + float(m.group(3)))
    return got


def rounds_of(bench_log):
    """The rounds memslot_zap_bench ran: its 'result op=delete' lines."""
    return sum(1 for line in bench_log.splitlines() if line.startswith("result op=delete "))


def table(config, ours, theirs, rounds):
    """Markdown rows: function, calls per round and mean us per call on both
    kernels, ratio of the means; functions by the larger of their two totals."""
    rows = ["### %s (%d rounds)" % (config, rounds), "",
            "| function | calls/round ours | us/call ours | calls/round 6.12 | us/call 6.12 | ours/6.12 |",
            "|---|---:|---:|---:|---:|---:|"]

    def cells(stat, f):
        if f not in stat or not stat[f][0]:
            return None, "-", "-"
        calls, total = stat[f]
        return total / calls, "%.2f" % (calls / rounds), "%.1f" % (total / calls)

    order = sorted(set(ours) | set(theirs),
                   key=lambda f: -max(ours.get(f, (0, 0))[1], theirs.get(f, (0, 0))[1]))
    for f in order:
        a, a_calls, a_mean = cells(ours, f)
        b, b_calls, b_mean = cells(theirs, f)
        ratio = "%.2f" % (a / b) if a is not None and b else "-"
        rows.append("| %s | %s | %s | %s | %s | %s |" % (f, a_calls, a_mean, b_calls, b_mean, ratio))
    return rows


def run(cmd, what, env=None, capture=False):
    """Run CMD or exit saying WHAT failed; its stdout when CAPTURE."""
    print("==> " + what, file=sys.stderr, flush=True)
    r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE if capture else None, text=True)
    if r.returncode:
        sys.exit("bench-profile: %s failed (exit %d); its output above says why"
                 % (what, r.returncode))
    return r.stdout.strip() if capture else None


def build():
    """Both profile kernels; returns {kernel: bzImage}."""
    frags = [os.path.join(TOP, "configs/kvm-test.config"),
             os.path.join(TOP, "configs/kvm-profile.config")]
    tree612 = run([os.path.join(TOP, "scripts/upstream.sh"), "pristine"],
                  "the pinned 6.12 tree (scripts/upstream.sh pristine)", capture=True)
    trees = {"ours": os.path.join(BUILD, "linux"), "6.12": tree612}
    for k in OBJ:
        run([os.path.join(TOP, "setup/build-kernel.sh"), OBJ[k]] + frags,
            "building the %s profile kernel in %s" % (k, OBJ[k]),
            env=dict(os.environ, SLOTZAP_KSRC=trees[k]))
    return {k: os.path.join(OBJ[k], "arch/x86/boot/bzImage") for k in OBJ}


def guest_command(reps):
    t = "/sys/kernel/tracing"
    return "; ".join([
        "[ -d %s/trace_stat ] || mount -t tracefs nodev %s" % (t, t),
        "[ -e %s/function_profile_enabled ] || { echo 'this kernel has no function "
        "profiler (configs/kvm-profile.config)'; exit 2; }" % t,
        ": > %s/set_ftrace_filter" % t,
        "for f in %s; do echo $f >> %s/set_ftrace_filter 2>/dev/null; done" % (" ".join(FUNCTIONS), t),
        "cp %s/set_ftrace_filter \"$OUT/filter.txt\"" % t,
        # an empty filter would profile every function of the kernel
        "[ -s \"$OUT/filter.txt\" ] || { echo 'no function of FUNCTIONS is traceable'; exit 2; }",
        "echo 1 > %s/function_profile_enabled" % t,
        # pinned like make bench's one-vCPU points (FLOOR_CPU in bench.py)
        "taskset -c 0 %s -q -m 64 -v 1 -s 4K -r %d > \"$OUT/bench.log\" 2>&1; s=$?"
        % (BENCH, reps),
        "echo 0 > %s/function_profile_enabled" % t,
        "cat %s/trace_stat/function* > \"$OUT/profile.txt\"" % t,
        "exit $s"])


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--configs", default=",".join(vm.mmu_configs()))
    p.add_argument("--reps", type=int, default=100, help="rounds per run (default 100)")
    p.add_argument("--report-only", action="store_true",
                   help="only write profile.md from the last runs")
    args = p.parse_args()
    configs = args.configs.split(",")
    if not args.report_only:
        if not os.path.exists(BENCH):
            sys.exit("bench-profile: %s is missing; run 'make selftests'" % BENCH)
        kernels = build()
        for c in configs:
            for k in OBJ:
                out = os.path.join(OUT, "%s-%s" % (k, c))
                rc = vm.main(["--config", c, "--kernel", kernels[k], "--out", out,
                              "--timeout", "3600", "-q", guest_command(args.reps)])
                if rc:
                    sys.exit("bench-profile: the %s VM in %s exited %d; see %s/console.log"
                             % (k, c, rc, out))
    lines = ["# Function profile of memslot_zap_bench -q (leaf-only), ours vs 6.12", ""]
    for c in configs:
        stats, rounds = {}, {}
        for k in OBJ:
            d = os.path.join(OUT, "%s-%s" % (k, c))
            try:
                with open(os.path.join(d, "profile.txt")) as f:
                    stats[k] = parse_stat(f.read())
                with open(os.path.join(d, "bench.log")) as f:
                    rounds[k] = rounds_of(f.read())
            except OSError:
                stats[k], rounds[k] = {}, 0
        if rounds["ours"] != rounds["6.12"] or not rounds["ours"] or not all(stats.values()):
            lines += ["### %s: no comparison (rounds: ours %d, 6.12 %d; profiled functions: "
                      "ours %d, 6.12 %d)" % (c, rounds["ours"], rounds["6.12"],
                                             len(stats["ours"]), len(stats["6.12"])), ""]
            continue
        lines += table(c, stats["ours"], stats["6.12"], rounds["ours"]) + [""]
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "profile.md"), "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
