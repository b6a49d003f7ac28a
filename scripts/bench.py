#!/usr/bin/env python3
"""What a memslot DELETE or MOVE costs, quirk on (zap-all) and off (leaf-only).

  scripts/bench.py [--configs svm-tdp-mmu,...] [--sweep full|reduced|leaf|quick] [--reps N]
                   [--boots N] [--mem 64,256] [--compare] [--boot PARAMS] [--out DIR]
                   [--report-only]

Runs the series' memslot_zap_bench selftest in the test VM, one boot per
MMU configuration (tests/mmu-configs), over a sweep of points: guest memory
touched (64, 256, 1024 MiB), vCPUs (1, 2, 4), size of the deleted or moved
memslot (4 KiB, 2 MiB), KVM_X86_QUIRK_SLOT_ZAP_ALL on and off. Each point
repeats DELETE and MOVE --reps times; the tables give the median and the
min-max spread of the ioctl latency, the re-touch time (all vCPUs write all
their memory again) and the faults of the re-touch (pf_fixed).

--sweep reduced keeps every quirk-off point at 4 KiB plus 2 MiB at 1 vCPU,
and with the quirk on only the memory sizes at 1 vCPU, 4 KiB (plus 2 and 4
vCPUs and 2 MiB at 64 MiB): the zap-all re-touch of 1 GiB takes ~13 s per
operation under TCG with the TDP MMU, so the full sweep needs ~45 min per
kernel. --sweep leaf is the
quirk-off points at 1 vCPU only, cheap enough for many --reps. Points with
one vCPU run pinned to CPU 0 of the test VM (FLOOR_CPU below): unpinned, a
DELETE waits twice for SRCU work on the test VM's other vCPU, and its
latency is then bimodal (sub-millisecond, or 2-10 ms when the outer host is
slow to run that vCPU's thread).

The full and reduced sweeps also run the series' memslot_stall_bench: a
large, fully mapped memslot (256 and 1024 MiB; reduced: 1024) deleted and
moved while other vCPUs write 64 MiB each in memslots of their own, quirk on
and off; its tables give the ioctl time, the writers' longest stall (as a
sampler thread and as the guest saw it) and the time they take, once the
ioctl has returned, to write as many pages as their memory has, which
includes faulting back what a zap took. --sweep quick is
for reviewers, under 30 minutes with --compare: the leaf-only and zap-all
DELETE floor at 64 MiB (4 KiB memslot, 1 vCPU; 15 repetitions in each of
three boots of each kernel, --boots) and the large memslot at 128 and 512
MiB (3 repetitions).

Every sweep but leaf also boots a real guest under Debian's QEMU in the
test VM (scripts/qemu-churn.sh, guest/churn-bench.c): the guest writes over
256 MiB and reports its throughput every 100 ms, 5 s without churn, then
10 s while it toggles the VGA BAR's memory decoding every 100 ms (QEMU
deletes and re-creates that memslot each time), quirk on and off; the full
and reduced sweeps also with transparent huge pages off in the test VM, so
that KVM maps the guest's RAM with 4 KiB SPTEs. churn.md gives the
throughput with churn relative to without, churn.png the throughput over
time.

--compare also builds Debian's linux-source-6.12 (mainline's version of the
quirk) at the version patches/upstream/BASE pins, the tree that
scripts/upstream.sh pristine checks out (the package's .deb is downloaded,
not installed, when another version is installed), with the same config
fragment into build/obj-612, builds the same selftest source against 6.12's
selftest library (the file is copied into that worktree), runs every
configuration on both kernels back to back, and adds a ratio table
ours/mainline. make bench-profile profiles the same 6.12 tree.

Output in build/bench/ (--out): results.csv, results.md, bench.png (gnuplot),
stall.csv and stall.md, compare.csv and compare.md with --compare (the
stall ratios in stall.md), raw/KERNEL-CONFIG/ (the selftests' output and the
console log). Numbers are reported, never asserted on.
"""

import argparse
import glob
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(TOP, "build")
OUT = os.path.join(BUILD, "bench")
SRC61 = os.environ.get("SLOTZAP_KSRC", os.path.join(BUILD, "linux"))
TEST = "x86_64/memslot_zap_bench"
STALL = "x86_64/memslot_stall_bench"

KERNELS = {
    # name -> (kernel tree, obj dir); the headers are obj/usr/include;
    # prepare_612() fills in 6.12's tree
    "ours": (SRC61, os.path.join(BUILD, "obj-test")),
    "mainline": (None, os.path.join(BUILD, "obj-612")),
}
LABEL = {"ours": "6.1+series", "mainline": "6.12"}
MEMS, VCPUS, SLOTS = (64, 256, 1024), (1, 2, 4), (4, 2048)
OPS = ("delete", "move")
STALL_WRITER_MIB = 64
# Writers per configuration in memslot_stall_bench. Under npt=1, two vCPUs
# in guest mode at once trip QEMU TCG's nested SVM (docs/platform-bugs.md,
# sections 1 and 2; the unpatched base too), so one writer there.
STALL_WRITERS = {"svm-shadow": 2}
# --sweep quick repeats its two DELETE-floor points this many times more:
# the ioctl's latency is bimodal under nested TCG, 3 repetitions say little.
QUICK_FLOOR_FACTOR = 5
# memslot_zap_bench points with one vCPU run pinned to this CPU of the test
# VM (taskset), on both kernels. While the srcu_struct is small, SRCU queues
# its callbacks on the boot CPU, so a DELETE's two synchronize_srcu_expedited()
# then complete without waking the test VM's other vCPU. Unpinned, each one
# depends on how soon the outer host runs that vCPU's thread: a trace of the
# floor point (2026-12-05, function_graph and sched/workqueue events) showed
# the slow DELETEs (2-7 ms against 0.4-0.9) waiting in those handoffs, the
# DELETE path itself unchanged. Points with more vCPUs stay unpinned: their
# re-touch needs the CPUs.
FLOOR_CPU = 0
# With --sweep quick each kernel boots this many times per configuration for
# the memslot_zap_bench points: the first boot runs every point, the others
# only those, ours and 6.12 alternating, and the tables pool the rounds of
# all boots. A test VM's speed differs from boot to boot: three boots each
# (2026-12-05, svm-shadow, pinned) put the median DELETE of one kernel at
# 423-489 us, of the other at 468-595, and a fourth at 230.
QUICK_FLOOR_BOOTS = 3
# scripts/qemu-churn.sh's arguments: QUIET_S CHURN_S PERIOD_US MIB
CHURN_ARGS = (5, 10, 100000, 256)
# Extra kernel parameters of the test VM, for both kernels (--boot). None by
# default. Under TCG the clocksource watchdog marks the TSC unstable: 6.1
# in every boot of the runs of 2026-12-04/05 (it then reads the HPET), 6.12
# in svm-shadow only. A quick compare with --boot tsc=reliable (2026-12-05)
# did not make 6.12's svm-shadow churn point pass, and ours' svm-tdp-mmu
# churn guest then lost its timer the same way (README, "A real guest under
# memslot churn"), so it is not the default.
BOOT = ""


def log(msg):
    print("==> " + msg, file=sys.stderr, flush=True)


def die(msg):
    print("ERROR: " + msg, file=sys.stderr)
    sys.exit(1)


def run(cmd, what, fix, **kw):
    start = time.time()
    try:
        subprocess.run(cmd, check=True, **kw)
    except subprocess.CalledProcessError as e:
        die("%s failed (exit %d); %s" % (what, e.returncode, fix))
    log("%s: %.0fs" % (what, time.time() - start))


def stall_sweep(kind):
    """(zap_all, big_mib) points of memslot_stall_bench, cheapest first."""
    sizes = {"full": (256, 1024), "reduced": (1024,), "quick": (128, 512)}.get(kind, ())
    return [(z, b) for b in sizes for z in (0, 1)]


def churn_sweep(kind):
    """(zap_all, thp) points of scripts/qemu-churn.sh; thp "" leaves the
    test VM's setting."""
    thps = {"full": ("", "never"), "reduced": ("", "never"), "quick": ("",)}.get(kind, ())
    return [(z, t) for t in thps for z in (0, 1)]


def sweep(kind):
    """(zap_all, mem_mib, vcpus, slot_kib) points, cheapest first."""
    if kind == "quick":
        return [(0, 64, 1, 4), (1, 64, 1, 4)]
    if kind == "full":
        points = [(z, m, v, s) for z in (0, 1) for m in MEMS
                  for v in VCPUS for s in SLOTS]
    elif kind == "leaf":
        points = [(0, m, 1, s) for m in MEMS for s in SLOTS]
    else:
        points = [(0, m, v, 4) for m in MEMS for v in VCPUS]
        points += [(0, m, 1, 2048) for m in MEMS]
        points += [(1, m, 1, 4) for m in MEMS]
        points += [(1, 64, 2, 4), (1, 64, 4, 4), (1, 64, 1, 2048)]
    return sorted(points, key=lambda p: (p[1] * (1 + 3 * p[0]), p))


def nice(cmd):
    return ["nice", "-n", "10"] + cmd


def prepare_612():
    """Check out the pinned 6.12 and build its kernel and UAPI headers."""
    r = subprocess.run([os.path.join(TOP, "scripts/upstream.sh"), "pristine"],
                       stdout=subprocess.PIPE, text=True)
    if r.returncode:
        die("scripts/upstream.sh pristine failed (exit %d); its output above "
            "says why" % r.returncode)
    src612 = r.stdout.strip()
    KERNELS["mainline"] = (src612, KERNELS["mainline"][1])
    run(nice([os.path.join(TOP, "setup/build-kernel.sh"),
              KERNELS["mainline"][1], os.path.join(TOP, "configs/kvm-test.config"),
              "--", "bzImage", "headers_install"]),
        "building the 6.12 kernel in build/obj-612",
        "the output above names the failing file",
        env=dict(os.environ, SLOTZAP_KSRC=src612))

    # The same selftest sources, built against 6.12's selftest library.
    kvm_dir = os.path.join(src612, "tools/testing/selftests/kvm")
    mk = os.path.join(kvm_dir, "Makefile")
    for test in (TEST, STALL):
        src = os.path.join(SRC61, "tools/testing/selftests/kvm", test + ".c")
        shutil.copy(src, os.path.join(kvm_dir, test + ".c"))
        with open(mk) as f:
            text = f.read()
        line = "TEST_GEN_PROGS_x86_64 += %s\n" % test
        if line not in text:
            first = "TEST_GEN_PROGS_x86_64 = "
            if first not in text:
                die("%s has no '%s' line to add %s after; has 6.12's Makefile changed?"
                    % (mk, first.strip(), test))
            at = text.index("\n", text.index(first)) + 1
            with open(mk, "w") as f:
                f.write(text[:at] + line + text[at:])


def build_bench(kernel):
    """Build the two benchmarks of a kernel tree into build/bench/bin-KERNEL;
    return their paths (memslot_zap_bench, memslot_stall_bench)."""
    tree, obj = KERNELS[kernel]
    hdr = os.path.join(obj, "usr/include")
    for test in (TEST, STALL):
        src = os.path.join(tree, "tools/testing/selftests/kvm", test + ".c")
        if not os.path.exists(src):
            die("%s is missing: the series is not applied to %s; run 'make source'"
                % (src, tree))
    if not os.path.isdir(hdr):
        die("no UAPI headers in %s; run 'make selftests' (or --compare for 6.12)"
            % hdr)
    out = os.path.join(BUILD, "bench", "bin-" + kernel)
    run(nice(["make", "-s", "-C", os.path.join(tree, "tools/testing/selftests/kvm"),
              "OUTPUT=" + out, "LINUX_HDR_PATH=" + hdr + "/",
              "KHDR_INCLUDES=-isystem " + hdr, "-j%d" % os.cpu_count(),
              os.path.join(out, TEST), os.path.join(out, STALL)]),
        "building the benchmarks for %s" % LABEL[kernel],
        "the compiler output above says why")
    return os.path.join(out, TEST), os.path.join(out, STALL)


def guest_script(binaries, points, stall_points, reps, writers, churn_points=(),
                 zap_reps_factor=1):
    """In-guest shell script: each point, repeated up to 3 times if it fails
    (nested SVM under TCG now and then kills a vCPU with KVM_EXIT_SHUTDOWN,
    see docs/platform-bugs.md), but not after a hang (status 124: a churn
    guest that did not finish in time; three hangs cost 15 minutes); what a
    failed run measured is kept."""
    lines = ["exec >> \"$OUT/bench.log\" 2>&1",
             "run() { p=\"$*\"; for try in 1 2 3; do echo \"point ${p#*/x86_64/}\"; \"$@\"; rc=$?;"
             " echo \"status $rc\"; case $rc in 0|124) return;; esac; done; }"]
    for z, m, v, s in points:
        lines.append("run %s%s -m %d -v %d -s %dK -r %d%s"
                     % ("taskset -c %d " % FLOOR_CPU if v == 1 else "", binaries[0],
                        m, v, s, reps * zap_reps_factor, "" if z else " -q"))
    for z, b in stall_points:
        lines.append("run %s -b %dM -m %dM -v %d -r %d%s"
                     % (binaries[1], b, STALL_WRITER_MIB, writers, reps, "" if z else " -q"))
    for z, thp in churn_points:
        lines.append("%srun %s %s %s" % ("THP=%s " % thp if thp else "",
                                         os.path.join(TOP, "scripts/qemu-churn.sh"),
                                         "on" if z else "off",
                                         " ".join(str(a) for a in CHURN_ARGS)))
    return "\n".join(lines) + "\n"


def snapshot_kernel(kernel):
    """Copy the kernel into OUT: a rebuild during the run cannot change it,
    and the results keep the kernel they were measured on."""
    bz = os.path.join(KERNELS[kernel][1], "arch/x86/boot/bzImage")
    if not os.path.exists(bz):
        die("no kernel at %s; run 'make kernel' (or --compare for 6.12)" % bz)
    copy = os.path.join(OUT, "bzImage-" + kernel)
    shutil.copy(bz, copy)
    return copy


# A test VM that dies (a triple fault or a hang of the nested platform,
# docs/platform-bugs.md) is booted again this many times for the points it
# did not finish; the point it died in runs again from the start.
VM_RESTARTS = 2


def remaining(script, out):
    """(header, the guest script's lines of the points not finished). run()
    tries a point up to 3 times: it is finished once it printed status 0
    or 124, or after its third try. A test VM that died in a point
    (a vm-died line after its point line) counts as one failed try of it."""
    with open(script) as f:
        lines = f.read().splitlines()
    try:
        with open(os.path.join(out, "bench.log"), errors="replace") as f:
            log_lines = f.read().splitlines()
    except OSError:
        log_lines = []
    finished = tries = 0
    running = False
    for line in log_lines:
        if line.startswith("point "):
            running = True
        elif line.startswith("status ") or (line.startswith("vm-died ") and running):
            running = False
            tries += 1
            if line[7:] in ("0", "124") or tries == 3:
                finished += 1
                tries = 0
    return lines[:2], lines[2 + finished:]


def note_death(out, line):
    """Append line to out/bench.log, without a last line the test VM died
    in the middle of (a result cut short would not parse)."""
    path = os.path.join(out, "bench.log")
    try:
        with open(path, errors="replace") as f:
            text = f.read()
    except OSError:
        text = ""
    with open(path, "w") as f:
        f.write(text[:text.rfind("\n") + 1] + line + "\n")


def keep_logs(out, vm_n):
    """{name: text} of what the next test VM's vm.py would delete from out:
    bench.log, and the console and QEMU logs as console-vmN.log and
    qemu-vmN.log (with those of earlier dead VMs)."""
    kept = {}
    for name in os.listdir(out):
        to = name
        if name in ("console.log", "qemu.log"):
            to = "%s-vm%d.log" % (name[:-4], vm_n)
        elif name != "bench.log" and not re.fullmatch(r"(console|qemu)-vm\d+\.log", name):
            continue
        with open(os.path.join(out, name), errors="replace") as f:
            kept[to] = f.read()
    return kept


def put_back(out, kept):
    """Write what keep_logs() kept into out again, the earlier bench.log in
    front of the new test VM's."""
    for name, text in kept.items():
        path = os.path.join(out, name)
        if name == "bench.log" and os.path.exists(path):
            with open(path, errors="replace") as f:
                text += f.read()
        with open(path, "w") as f:
            f.write(text)


def run_dir(kernel, config, boot=1):
    """raw/KERNEL-CONFIG, or raw/KERNEL-CONFIG-bootN for the extra boots."""
    return os.path.join(OUT, "raw", "%s-%s%s" % (kernel, config,
                                                 "-boot%d" % boot if boot > 1 else ""))


def run_config(kernel, config, bz, binaries, points, stall_points, reps, churn_points=(),
               boot=1):
    """Boot one kernel in one MMU configuration and run every point; boot it
    again for the rest if the test VM dies."""
    out = run_dir(kernel, config, boot)
    script = out + ".sh"
    os.makedirs(os.path.dirname(script), exist_ok=True)
    with open(script, "w") as f:
        f.write(guest_script(binaries, points, stall_points, reps,
                             STALL_WRITERS.get(config, 1), churn_points,
                             QUICK_FLOOR_FACTOR if points == sweep("quick") else 1))
    load = os.getloadavg()[0]
    log("%s, %s%s: %d points x %d reps (load %.1f)"
        % (LABEL[kernel], config, ", boot %d" % boot if boot > 1 else "",
           len(points) + len(stall_points) + len(churn_points), reps, load))
    start = time.time()
    run_script, kept = script, {}
    for vm_n in range(1, VM_RESTARTS + 2):
        # vm.py empties out: what earlier test VMs left is in kept
        vm = subprocess.Popen(nice([os.path.join(TOP, "scripts/vm.py"), "-q",
                                    "--config", config, "--kernel", bz, "--append", BOOT,
                                    "--out", out, "--timeout", "14400",
                                    "bash " + run_script]))
        seen = 0
        while vm.poll() is None:
            time.sleep(5)
            seen = progress(out, seen, start)
        progress(out, seen, start)
        put_back(out, kept)
        if not vm.returncode:
            break
        head, rest = remaining(script, out)
        print("WARNING: the test VM of %s, %s exited %d with %d point(s) left; see %s"
              % (LABEL[kernel], config, vm.returncode, len(rest),
                 os.path.join(out, "console-vm%d.log" % vm_n if rest else "console.log")),
              file=sys.stderr)
        if not rest:
            break
        again = vm_n <= VM_RESTARTS
        note_death(out, "vm-died exit=%d remaining=%d%s"
                   % (vm.returncode, len(rest), "" if again else " not-booted-again"))
        if not again:
            for name in ("console", "qemu"):
                if os.path.exists(os.path.join(out, name + ".log")):
                    os.replace(os.path.join(out, name + ".log"),
                               os.path.join(out, "%s-vm%d.log" % (name, vm_n)))
            break
        kept = keep_logs(out, vm_n)
        # the next VM's progress must not read this one's log
        os.remove(os.path.join(out, "bench.log"))
        run_script = "%s-rest%d.sh" % (out, vm_n)
        with open(run_script, "w") as f:
            f.write("\n".join(head + rest) + "\n")
        log("%s, %s: the test VM died; %d point(s) left, booting it again"
            % (LABEL[kernel], config, len(rest)))
    with open(os.path.join(out, "load"), "w") as f:
        f.write("%.1f %.1f\n" % (load, os.getloadavg()[0]))
    log("%s, %s%s: %.0fs" % (LABEL[kernel], config, ", boot %d" % boot if boot > 1 else "",
                             time.time() - start))


def progress(out, seen, start):
    """Print the points finished since the last call; return their count."""
    try:
        with open(os.path.join(out, "bench.log"), errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return seen
    done, point = [], None
    for line in lines:
        if line.startswith("point "):
            point = line[6:]
        elif line.startswith("status ") and point:
            done.append((point, line[7:]))
    for point, status in done[seen:]:
        print("    %5.0fs  %s%s" % (time.time() - start, point,
                                    "" if status == "0" else "  (exit %s)" % status),
              flush=True)
    return len(done)


def parse(kernel, config, stall=None, churn=None):
    """Results of one run: key -> {metric: [values]}; memslot_stall_bench's
    go into @stall, (kernel, config, op, zap_all, big_mib, writers) ->
    {metric: [values]}; qemu-churn.sh's into @churn, (kernel, config,
    zap_all, thp) -> {"samples": [(t_ms, phase, pages, toggles)],
    "result": {key: value} of its CHURN-RESULT line}."""
    data = {}
    for path in boot_logs(kernel, config):
        parse_log(path, kernel, config, data, stall, churn)
    return data


def extra_boot_dirs(kernel, config):
    """raw/KERNEL-CONFIG-bootN of the extra boots, in boot order."""
    first = run_dir(kernel, config)
    dirs = []
    for d in glob.glob(glob.escape(first) + "-boot*"):
        m = re.fullmatch(r"-boot(\d+)", d[len(first):])
        if m and os.path.isdir(d):
            dirs.append((int(m.group(1)), d))
    return [d for _, d in sorted(dirs)]


def boot_logs(kernel, config):
    """bench.log of the first boot and of the extra ones, in boot order."""
    logs = [os.path.join(d, "bench.log")
            for d in [run_dir(kernel, config)] + extra_boot_dirs(kernel, config)]
    return [p for p in logs if os.path.exists(p)]


def parse_log(path, kernel, config, data, stall, churn):
    """Add one bench.log's results to data, stall and churn (see parse)."""
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("CHURN") and churn is not None:
                r = dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)
                key = (kernel, config, int(r["quirk"] == "on"), r["thp"])
                d = churn.setdefault(key, {"samples": [], "result": {}})
                if line.startswith("CHURN-RESULT"):
                    d["result"] = r
                else:
                    d["samples"].append((int(r["t_ms"]), r["phase"], int(r["pages"]),
                                         int(r["toggles"])))
                continue
            if line.startswith("RESULT op=") and stall is not None:
                r = dict(kv.split("=", 1) for kv in line.split()[1:])
                key = (kernel, config, r["op"], int(r["quirk"] == "on"),
                       int(r["big_mib"]), int(r["writers"]))
                d = stall.setdefault(key, {m: [] for m in STALL_METRICS})
                for m in STALL_METRICS:
                    d[m].append(float(r[m]))
                continue
            if not line.startswith("result "):
                continue
            r = dict(kv.split("=", 1) for kv in line.split()[1:])
            key = (kernel, config, r["op"], int(r["zap_all"]), int(r["mem_mib"]),
                   int(r["vcpus"]), int(r["slot_kib"]))
            d = data.setdefault(key, {"ioctl_us": [], "retouch_ms": [], "faults": []})
            d["ioctl_us"].append(int(r["ioctl_ns"]) / 1e3)
            d["retouch_ms"].append(int(r["retouch_ns"]) / 1e6)
            d["faults"].append(int(r["faults"]))


METRICS = ("ioctl_us", "retouch_ms", "faults")
STALL_METRICS = ("ioctl_ms", "stall_ms", "guest_stall_ms", "sweep_ms")
COLUMNS = ["kernel", "config", "op", "quirk", "mem_mib", "vcpus", "slot_kib", "reps"]


def stats(values):
    return statistics.median(values), min(values), max(values)


def fmt(x):
    if x >= 100:
        return "%.0f" % x
    return "%.3g" % x


def write_results(data):
    order = list(KERNELS)
    keys = sorted(data, key=lambda k: (order.index(k[0]), k[1], k[2], -k[3],
                                       k[4], k[5], k[6]))
    with open(os.path.join(OUT, "results.csv"), "w") as f:
        f.write(",".join(COLUMNS + ["%s_%s" % (m, s) for m in METRICS
                                    for s in ("median", "min", "max")]) + "\n")
        for k in keys:
            d = data[k]
            row = [LABEL[k[0]], k[1], k[2], "on" if k[3] else "off"]
            row += [str(x) for x in k[4:]] + [str(len(d["faults"]))]
            for m in METRICS:
                row += ["%.3f" % x for x in stats(d[m])]
            f.write(",".join(row) + "\n")
    with open(os.path.join(OUT, "results.md"), "w") as f:
        f.write("# memslot_zap_bench: median [min-max] of each point\n\n"
                "ioctl: KVM_SET_USER_MEMORY_REGION latency (us); re-touch: all vCPUs "
                "write all their memory again (ms); faults: pf_fixed during the "
                "re-touch, all vCPUs.\n")
        last = None
        for k in keys:
            if k[:2] != last:
                last = k[:2]
                f.write("\n## %s, %s (host load %s)\n\n" % (LABEL[k[0]], k[1], load_of(*k[:2]))
                        + "| op | quirk | MiB | vCPUs | slot KiB | reps | ioctl us | re-touch ms | faults |\n"
                        "|---|---|--:|--:|--:|--:|--:|--:|--:|\n")
            d = data[k]
            cells = ["%s [%s-%s]" % tuple(fmt(x) for x in stats(d[m])) for m in METRICS]
            f.write("| %s | %s | %d | %d | %d | %d | %s |\n" % (
                k[2], "on" if k[3] else "off", k[4], k[5], k[6], len(d["faults"]),
                " | ".join(cells)))


def load_of(kernel, config):
    try:
        with open(os.path.join(OUT, "raw", "%s-%s" % (kernel, config), "load")) as f:
            return "%s before, %s after" % tuple(f.read().split())
    except (OSError, TypeError):
        return "unknown"


def write_compare(data):
    """Ratios ours/mainline of the medians, for every point both have."""
    rows = []
    for k in sorted(data, key=lambda k: (k[1], k[2], -k[3], k[4], k[5], k[6])):
        if k[0] != "ours":
            continue
        peer = ("mainline",) + k[1:]
        if peer not in data:
            continue
        ratio = []
        for m, f in [(m, statistics.median) for m in METRICS] + [("ioctl_us", min)]:
            a, b = f(data[k][m]), f(data[peer][m])
            ratio.append(a / b if b else (1.0 if a == b else float("inf")))
        rows.append((k, ratio))
    # config, op, quirk, MiB, vCPUs, slot KiB, ioctl, ioctl min, re-touch, faults ours / 6.12
    table = [(k[1], k[2], "on" if k[3] else "off", k[4], k[5], k[6], r[0], r[3], r[1],
              statistics.median(data[k]["faults"]),
              statistics.median(data[("mainline",) + k[1:]]["faults"])) for k, r in rows]
    with open(os.path.join(OUT, "compare.csv"), "w") as f:
        f.write("config,op,quirk,mem_mib,vcpus,slot_kib,ioctl_ratio,ioctl_min_ratio,"
                "retouch_ratio,faults_ours,faults_mainline\n")
        for vals in table:
            f.write("%s,%s,%s,%d,%d,%d,%.3f,%.3f,%.3f,%g,%g\n" % vals)
    with open(os.path.join(OUT, "compare.md"), "w") as f:
        f.write("# ours (6.1+series) / mainline (6.12), ratio of the medians\n\n"
                "< 1: ours is faster. ioctl min: ratio of the fastest ioctl of each "
                "side (the ioctl's spread is mostly scheduling delay in the nested "
                "host, the minimum shows the cost of the code). Faults are the median "
                "counts, ours / 6.12.\n\n"
                "| config | op | quirk | MiB | vCPUs | slot KiB | ioctl | ioctl min | re-touch | faults |\n"
                "|---|---|---|--:|--:|--:|--:|--:|--:|--:|\n")
        for vals in table:
            f.write("| %s | %s | %s | %d | %d | %d | %.2f | %.2f | %.2f | %g / %g |\n" % vals)
    return rows


def write_stall(stall, compare):
    """stall.csv and stall.md: memslot_stall_bench, median [min-max] of each
    point, and with --compare the ratios ours/6.12 of the medians."""
    order = list(KERNELS)
    keys = sorted(stall, key=lambda k: (order.index(k[0]), k[1], k[4], -k[3],
                                        OPS.index(k[2]) if k[2] in OPS else -1))
    with open(os.path.join(OUT, "stall.csv"), "w") as f:
        f.write("kernel,config,op,quirk,big_mib,writers,reps," + ",".join(
            "%s_%s" % (m, s) for m in STALL_METRICS for s in ("median", "min", "max")) + "\n")
        for k in keys:
            d = stall[k]
            row = [LABEL[k[0]], k[1], k[2], "on" if k[3] else "off", str(k[4]), str(k[5]),
                   str(len(d["sweep_ms"]))]
            row += ["%.3f" % x for m in STALL_METRICS for x in stats(d[m])]
            f.write(",".join(row) + "\n")
    with open(os.path.join(OUT, "stall.md"), "w") as f:
        f.write("# memslot_stall_bench: a large memslot deleted or moved while other "
                "vCPUs write, median [min-max]\n\n"
                "ioctl: KVM_SET_USER_MEMORY_REGION (ms); stall: the longest time a "
                "sampler thread saw a writer make no progress (ms); guest stall: the "
                "longest gap between two writes as the guest measured it (ms); "
                "sweep: from the end of the ioctl (or window) until the writers have "
                "written as many pages as their %d MiB hold (ms), which includes faulting "
                "back what a zap took. Op none is a window with no change.\n"
                % STALL_WRITER_MIB)
        last = None
        for k in keys:
            if k[:2] != last:
                last = k[:2]
                f.write("\n## %s, %s (host load %s)\n\n" % (LABEL[k[0]], k[1], load_of(*k[:2]))
                        + "| op | quirk | MiB | writers | reps | ioctl ms | stall ms "
                        "| guest stall ms | sweep ms |\n|---|---|--:|--:|--:|--:|--:|--:|--:|\n")
            d = stall[k]
            cells = ["%s [%s-%s]" % tuple(fmt(x) for x in stats(d[m])) for m in STALL_METRICS]
            f.write("| %s | %s | %d | %d | %d | %s |\n" % (
                k[2], "on" if k[3] else "off", k[4], k[5], len(d["sweep_ms"]),
                " | ".join(cells)))
        if not compare:
            return
        f.write("\n## ours (6.1+series) / 6.12, ratio of the medians\n\n"
                "< 1: ours is faster or stalls the writers less.\n\n"
                "| config | op | quirk | MiB | ioctl | ioctl min | guest stall | sweep |\n"
                "|---|---|---|--:|--:|--:|--:|--:|\n")
        for k in keys:
            peer = ("mainline",) + k[1:]
            if k[0] != "ours" or k[2] == "none" or peer not in stall:
                continue
            r = []
            for m, fn in (("ioctl_ms", statistics.median), ("ioctl_ms", min),
                          ("guest_stall_ms", statistics.median),
                          ("sweep_ms", statistics.median)):
                a, b = fn(stall[k][m]), fn(stall[peer][m])
                r.append("%.2f" % (a / b) if b else "-")
            f.write("| %s | %s | %s | %d | %s |\n" % (
                k[1], k[2], "on" if k[3] else "off", k[4], " | ".join(r)))


def churn_figures(d):
    """(quiet pages/s [median, min, max], churn pages/s [...], churn/quiet of
    the medians, toggles/s) of one qemu-churn.sh run; the throughput of each
    100 ms sample is its pages over the time since the previous sample."""
    rates = {"quiet": [], "churn": []}
    prev_t = 0
    churn_t, toggles = [], []
    for t, phase, pages, tog in d["samples"]:
        if t > prev_t:
            rates[phase].append(pages * 1000.0 / (t - prev_t))
        if phase == "churn":
            churn_t.append(t)
            toggles.append(tog)
        prev_t = t
    if not rates["quiet"] or not rates["churn"]:
        return None
    q, c = stats(rates["quiet"]), stats(rates["churn"])
    span = (churn_t[-1] - churn_t[0]) / 1000.0 if len(churn_t) > 1 else 0
    rate = (toggles[-1] - toggles[0]) / span if span else 0
    return q, c, c[0] / q[0] if q[0] else 0, rate


def write_churn(churn, compare):
    """churn.md and churn.csv: the real guest's throughput with and without
    churn; with --compare, ours against 6.12."""
    order = list(KERNELS)
    keys = sorted(churn, key=lambda k: (order.index(k[0]), k[1], k[3], -k[2]))
    rows = []
    for k in keys:
        fig = churn_figures(churn[k])
        if fig:
            rows.append((k, fig, churn[k]["result"]))
    with open(os.path.join(OUT, "churn.csv"), "w") as f:
        f.write("kernel,config,quirk,thp,quiet_median,quiet_min,quiet_max,churn_median,"
                "churn_min,churn_max,churn_over_quiet,toggles_per_s,deletes,result\n")
        for k, (q, c, ratio, rate), r in rows:
            f.write("%s,%s,%s,%s,%s,%s,%.3f,%.2f,%s,%s\n" % (
                LABEL[k[0]], k[1], "on" if k[2] else "off", k[3],
                ",".join("%.0f" % x for x in q), ",".join("%.0f" % x for x in c),
                ratio, rate, r.get("deletes", ""), r.get("result", "")))
    with open(os.path.join(OUT, "churn.md"), "w") as f:
        f.write("# A real guest under memslot churn (scripts/qemu-churn.sh)\n\n"
                "The guest (one vCPU, %d MiB written one word per 4 KiB page, round after "
                "round) reports the pages it wrote every 100 ms: %d s without churn, then "
                "%d s while it toggles the VGA BAR's memory decoding every %d ms (QEMU "
                "deletes and re-creates that memslot each time). Throughput in pages/s, "
                "median [min-max] of the 100 ms samples; with/without: the ratio of the "
                "medians; thp: the test VM's transparent huge pages (never: KVM maps the "
                "guest with 4 KiB SPTEs). The guest's one vCPU also makes the toggles, so "
                "each toggle's cost in QEMU and KVM is time the workload does not run.\n\n"
                "| kernel | config | thp | quirk | without churn | with churn | with/without "
                "| toggles/s | memslot deletes | run |\n|---|---|---|---|--:|--:|--:|--:|--:|---|\n"
                % (CHURN_ARGS[3], CHURN_ARGS[0], CHURN_ARGS[1], CHURN_ARGS[2] // 1000))
        for k, (q, c, ratio, rate), r in rows:
            f.write("| %s | %s | %s | %s | %s [%s-%s] | %s [%s-%s] | %.2f | %.1f | %s | %s |\n" % (
                LABEL[k[0]], k[1], k[3], "on" if k[2] else "off",
                *[fmt(x) for x in q], *[fmt(x) for x in c], ratio, rate,
                r.get("deletes", "-"), r.get("result", "no result")))
        if compare:
            f.write("\nours / 6.12, throughput with churn (ratio of the medians; > 1: the "
                    "guest gets more done on ours; only where both runs passed):\n\n| config | thp | quirk | ratio |\n"
                    "|---|---|---|--:|\n")
            figs = {k: fig for k, fig, _ in rows}
            passed = {k: r.get("result") == "pass" for k, _, r in rows}
            for k, fig in figs.items():
                peer = ("mainline",) + k[1:]
                if k[0] == "ours" and peer in figs and figs[peer][1][0] and \
                        passed[k] and passed[peer]:
                    f.write("| %s | %s | %s | %.2f |\n" % (k[1], k[3], "on" if k[2] else "off",
                                                         fig[1][0] / figs[peer][1][0]))
    return rows


def plot_churn(churn, configs):
    """churn.png: the guest's throughput over time, one panel per configuration."""
    if not shutil.which("gnuplot"):
        return
    gp = ["set terminal pngcairo size 1500,500 font ',10'",
          "set output '%s'" % os.path.join(OUT, "churn.png"),
          "set multiplot layout 1,%d title 'a real guest under memslot churn: pages written "
          "per 100 ms (churn from %d s on); solid: 6.1+series, dashed: 6.12'"
          % (len(configs), CHURN_ARGS[0]),
          "set key top right", "set xlabel 'time (s)'", "set ylabel 'pages / 100 ms'"]
    for c in configs:
        plots = []
        for k in sorted(k for k in churn if k[1] == c):
            path = os.path.join(OUT, "churn-%s-%s-%d-%s.dat" % (k[0], c, k[2], k[3] or "default"))
            with open(path, "w") as f:
                for t, _, pages, _ in churn[k]["samples"]:
                    f.write("%g %d\n" % (t / 1000.0, pages))
            plots.append("'%s' using 1:2 with lines dt %d lc %d title '%s quirk %s thp %s'" % (
                path, 1 if k[0] == "ours" else 2, 1 if k[2] else 2, LABEL[k[0]],
                "on" if k[2] else "off", k[3]))
        gp += ["set title '%s'" % c]
        gp.append("plot " + ", ".join(plots) if plots else
                  "set label 1 'no data' at graph 0.5,0.5; plot NaN notitle; unset label 1")
    gp.append("unset multiplot")
    subprocess.run(["gnuplot"], input="\n".join(gp) + "\n", text=True, check=True)


def churn_summary(rows):
    print("\nA real guest under memslot churn (scripts/qemu-churn.sh): pages/s, medians")
    print("  %-10s %-15s %-7s %-5s %12s %12s %8s %10s" % (
        "kernel", "config", "thp", "quirk", "no churn", "churn", "ratio", "toggles/s"))
    for k, (q, c, ratio, rate), r in rows:
        print("  %-10s %-15s %-7s %-5s %12s %12s %8.2f %10.1f%s" % (
            LABEL[k[0]], k[1], k[3], "on" if k[2] else "off", fmt(q[0]), fmt(c[0]), ratio,
            rate, "" if r.get("result") == "pass" else "  (run did not finish)"))
    print("Table: %s/churn.md, plot: %s/churn.png" % (OUT, OUT))


def plot(data, configs):
    """bench.png: DELETE at 1 vCPU, 4 KiB slot, against guest memory."""
    if not shutil.which("gnuplot"):
        print("WARNING: gnuplot not found, no bench.png; run 'make deps'",
              file=sys.stderr)
        return
    series = []
    for kernel in KERNELS:
        for z in (1, 0):
            for c in configs:
                pts = sorted((k[4], data[k]) for k in data
                             if k[:4] == (kernel, c, "delete", z) and k[5:] == (1, 4))
                if not pts:
                    continue
                path = os.path.join(OUT, "plot-%s-%s-%d.dat" % (kernel, c, z))
                with open(path, "w") as f:
                    for mem, d in pts:
                        f.write("%d %g %g\n" % (mem, statistics.median(d["ioctl_us"]),
                                                statistics.median(d["retouch_ms"])))
                series.append((kernel, c, z, path))
    gp = ["set terminal pngcairo size 1500,900 font ',10'",
          "set output '%s'" % os.path.join(OUT, "bench.png"),
          "set multiplot layout 2,%d title 'memslot DELETE, 1 vCPU, 4 KiB slot "
          "(median); solid: 6.1+series, dashed: 6.12'" % len(configs),
          "set logscale xy 2", "set xrange [48:1400]", "set xtics (64, 256, 1024)",
          "set key top left",
          "set xlabel 'guest memory touched (MiB)'"]
    for row, (col, ylabel) in enumerate(((3, "re-touch (ms)"), (2, "DELETE ioctl (us)"))):
        for c in configs:
            plots = ["'%s' using 1:%d with linespoints dt %d lc %d title '%s quirk %s'"
                     % (path, col, 1 if k == "ours" else 2, 1 if z else 2, LABEL[k],
                        "on" if z else "off")
                     for k, cc, z, path in series if cc == c]
            gp += ["set title '%s'" % c, "set ylabel '%s'" % ylabel]
            gp.append("plot " + ", ".join(plots) if plots else
                      "set label 1 'no data' at graph 0.5,0.5; plot NaN notitle; unset label 1")
    gp.append("unset multiplot")
    subprocess.run(["gnuplot"], input="\n".join(gp) + "\n", text=True, check=True)


def summary(data, kernels, configs, compare_rows):
    def med(key, metric):
        return statistics.median(data[key][metric]) if key in data else None

    def cell(x, width):
        return ("%*s" % (width, "-")) if x is None else ("%*s" % (width, fmt(x)))

    print("\nSummary: DELETE of the memslot, 1 vCPU, 4 KiB slot, medians. zap-all = quirk on,"
          "\nleaf = quirk off, base = re-touch with no change before it (quirk off),"
          "\nx = zap-all re-touch / leaf re-touch.")
    print("  %-10s %-15s %5s | %9s %9s %7s | %9s %9s %7s | %9s %6s" % (
        "kernel", "config", "MiB", "ioctl us", "touch ms", "faults",
        "ioctl us", "touch ms", "faults", "base ms", "x"))
    for kernel in KERNELS:
        for c in configs:
            for m in MEMS:
                on, off = (kernel, c, "delete", 1, m, 1, 4), (kernel, c, "delete", 0, m, 1, 4)
                base = (kernel, c, "none", 0, m, 1, 4)
                if on not in data and off not in data:
                    continue
                x = (med(on, "retouch_ms") / med(off, "retouch_ms")
                     if on in data and off in data else None)
                print("  %-10s %-15s %5d | %s %s %s | %s %s %s | %s %s" % (
                    LABEL[kernel], c, m, cell(med(on, "ioctl_us"), 9),
                    cell(med(on, "retouch_ms"), 9), cell(med(on, "faults"), 7),
                    cell(med(off, "ioctl_us"), 9), cell(med(off, "retouch_ms"), 9),
                    cell(med(off, "faults"), 7), cell(med(base, "retouch_ms"), 9),
                    cell(x, 6)))
            refaults = [max(d["faults"]) for k, d in data.items()
                        if k[:2] == (kernel, c) and not k[3]]
            if refaults:
                print("  %-10s %-15s leaf: at most %d faults in any re-touch of any point"
                      % (LABEL[kernel], c, max(refaults)))
    for kernel in KERNELS:
        for m in ("ioctl_us", "retouch_ms"):
            spread = [(max(d[m]) - min(d[m])) / statistics.median(d[m])
                      for k, d in data.items() if k[0] == kernel and len(d[m]) > 1
                      and statistics.median(d[m]) > 0]
            if spread:
                print("  noise, %s %s: (max-min)/median is %.0f%% at the median point,"
                      " %.0f%% at the worst" % (LABEL[kernel], m,
                                                100 * statistics.median(spread),
                                                100 * max(spread)))
    failed = 0
    for path in glob.glob(os.path.join(OUT, "raw", "*", "bench.log")):
        with open(path, errors="replace") as f:
            failed += sum(1 for line in f if re.match(r"status [1-9]", line))
    died = []
    for path in sorted(glob.glob(os.path.join(OUT, "raw", "*", "bench.log"))):
        with open(path, errors="replace") as f:
            n = sum(1 for line in f if line.startswith("vm-died "))
        if n:
            died.append("%s %d" % (os.path.basename(os.path.dirname(path)), n))
    if died:
        print("  the test VM died (times per run): %s; see raw/*/bench.log 'vm-died' and"
              " the dead VM's console-vmN.log. It was booted again for the points left,"
              " except after 'not-booted-again', whose points are missing" % ", ".join(died))
    if failed:
        print("  %d run(s) of a point failed and were repeated (see raw/*/bench.log;"
              " KVM_EXIT_SHUTDOWN is the TCG nested-SVM bug of docs/platform-bugs.md)"
              % failed)
    per_boot = boot_floor_medians(kernels, configs)
    if per_boot:
        print("\nLeaf-only DELETE at 64 MiB, 1 vCPU, 4 KiB: median ioctl us of each boot"
              " of the test VM")
        for (kernel, c), meds in per_boot:
            print("  %-10s %-15s %s" % (LABEL[kernel], c, " / ".join(fmt(x) for x in meds)))
    if compare_rows:
        print("\nours/6.12, leaf-only DELETE ioctl, ratio at each point: median over the"
              " points [min-max]")
        for c in configs:
            for i, what in ((0, "of the medians"), (3, "of the fastest")):
                r = [x[1][i] for x in compare_rows
                     if x[0][1] == c and x[0][2] == "delete" and not x[0][3]]
                if r:
                    print("  %-15s %-15s %.2f [%.2f-%.2f] over %d points"
                          % (c, what, statistics.median(r), min(r), max(r), len(r)))
    print("\nTables: %s/results.md%s, plot: %s/bench.png"
          % (OUT, ", compare.md" if compare_rows else "", OUT))


def boot_floor_medians(kernels, configs):
    """[((kernel, config), [median DELETE ioctl us of each boot])] for the
    leaf-only floor point, where a kernel booted more than once."""
    out = []
    for kernel in kernels:
        for c in configs:
            meds = []
            for path in boot_logs(kernel, c):
                d = {}
                parse_log(path, kernel, c, d, None, None)
                v = d.get((kernel, c, "delete", 0, 64, 1, 4))
                if v:
                    meds.append(statistics.median(v["ioctl_us"]))
            if len(meds) > 1:
                out.append(((kernel, c), meds))
    return out


def stall_summary(stall):
    """The large memslot: medians of the ioctl, the writers' longest stall
    and their sweep, per operation."""
    print("\nLarge memslot deleted while other vCPUs write (memslot_stall_bench), medians:"
          "\nioctl ms / the writers' longest stall as the guest saw it ms / their sweep"
          "\nover all of their memory once the ioctl returned ms; none = a window with no change.")
    print("  %-10s %-15s %5s %-5s | %-22s | %-22s | %-22s" % (
        "kernel", "config", "MiB", "quirk", "none", "delete", "move"))
    order = list(KERNELS)
    points = sorted({(k[0], k[1], k[4], k[3], k[5]) for k in stall},
                    key=lambda p: (order.index(p[0]), p[1], p[2], -p[3]))
    for kernel, config, big, zap, writers in points:
        cells = []
        for op in ("none", "delete", "move"):
            d = stall.get((kernel, config, op, zap, big, writers))
            cells.append("-" if not d else "%s / %s / %s" % tuple(
                fmt(statistics.median(d[m])) for m in ("ioctl_ms", "guest_stall_ms", "sweep_ms")))
        print("  %-10s %-15s %5d %-5s | %-22s | %-22s | %-22s" % (
            LABEL[kernel], config, big, "on" if zap else "off", *cells))
    print("Table: %s/stall.md" % OUT)


def main():
    global OUT, BOOT
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--configs", default="svm-shadow,svm-tdp-legacy,svm-tdp-mmu",
                   help="comma-separated names from tests/mmu-configs")
    p.add_argument("--sweep", choices=("full", "reduced", "leaf", "quick"), default="full")
    p.add_argument("--out", default=os.path.join(BUILD, "bench"),
                   help="output directory (default build/bench)")
    p.add_argument("--reps", type=int,
                   help="DELETE and MOVE rounds per point (default 5, 3 for --sweep quick)")
    p.add_argument("--mem", help="only these guest memory sizes, e.g. 64,256")
    p.add_argument("--compare", action="store_true",
                   help="also run Debian's linux-source-6.12 and write ratios")
    p.add_argument("--boot", default=BOOT,
                   help="extra kernel parameters of the test VM, for both kernels (default: none)")
    p.add_argument("--boots", type=int,
                   help="boots of each kernel per configuration for the memslot_zap_bench"
                   " points, pooled (default %d with --sweep quick, else 1)" % QUICK_FLOOR_BOOTS)
    p.add_argument("--report-only", action="store_true",
                   help="only rebuild the tables and the plot from raw/")
    args = p.parse_args()
    OUT = os.path.abspath(args.out)
    BOOT = args.boot
    configs = args.configs.split(",")
    kernels = ["ours", "mainline"] if args.compare else ["ours"]
    reps = args.reps or (3 if args.sweep == "quick" else 5)
    boots = args.boots or (QUICK_FLOOR_BOOTS if args.sweep == "quick" else 1)
    if args.boots is not None and args.boots < 1:
        die("--boots %d: give 1 or more" % args.boots)
    start = time.time()
    os.makedirs(OUT, exist_ok=True)

    if not args.report_only:
        points = sweep(args.sweep)
        stall_points = stall_sweep(args.sweep)
        churn_points = churn_sweep(args.sweep)
        if args.mem:
            points = [x for x in points if str(x[1]) in args.mem.split(",")]
        if args.compare:
            prepare_612()
        binaries = {k: build_bench(k) for k in kernels}
        bzimages = {k: snapshot_kernel(k) for k in kernels}
        log("%d points x %d reps x %d configurations x %d kernel(s)"
            % (len(points) + len(stall_points) + len(churn_points), reps, len(configs),
               len(kernels)))
        if churn_points:
            run([os.path.join(TOP, "setup/build-l2.sh")], "building the nested guest",
                "the output above says why")
        # Both kernels of a configuration back to back: they see the same
        # host load as far as possible.
        # The extra boots run the memslot_zap_bench points only, the kernels
        # alternating.
        for c in configs:
            for k in kernels:
                # an earlier run's extra boots would be pooled with this one's
                for d in extra_boot_dirs(k, c):
                    shutil.rmtree(d)
            for k in kernels:
                run_config(k, c, bzimages[k], binaries[k], points, stall_points, reps,
                           churn_points)
            for b in range(2, boots + 1):
                for k in kernels:
                    run_config(k, c, bzimages[k], binaries[k], points, [], reps, boot=b)

    data, stall, churn = {}, {}, {}
    for k in kernels:
        for c in configs:
            data.update(parse(k, c, stall, churn))
    if not data and not stall and not churn:
        die("no results under %s/raw; run without --report-only" % OUT)
    if data:
        write_results(data)
        rows = write_compare(data) if args.compare else []
        plot(data, configs)
        summary(data, kernels, configs, rows)
    if stall:
        write_stall(stall, args.compare)
        stall_summary(stall)
    if churn:
        rows = write_churn(churn, args.compare)
        plot_churn(churn, configs)
        churn_summary(rows)
    log("bench: %.0fs" % (time.time() - start))


if __name__ == "__main__":
    main()
