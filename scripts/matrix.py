#!/usr/bin/env python3
"""Run the x86_64 KVM selftests in every MMU configuration, one fresh boot each.

  scripts/matrix.py [--configs svm-shadow,svm-tdp-mmu] [--kernel BZIMAGE --name NAME] [TEST...]

Each configuration (tests/mmu-configs) boots the test kernel with its
parameters and runs guest/run-selftests.sh inside. Per configuration,
build/results/CONFIG/ keeps results.tap, results.txt (test, status, detail),
logs/TEST.log and console.log. A kernel splat fails the test that was
running (or the boot). When the VM dies mid-run, the running test fails and
a fresh VM runs the rest (see run_config(); its files are in CONFIG/bootN/),
the running test first when its console lines prove the platform.
build/results/matrix.results has one line per test and configuration for
`make check`; build/results/summary.txt the table.
With --name NAME (e.g. another --kernel), results go to build/results/NAME-CONFIG/,
NAME.results and NAME-summary.txt instead, and tests are labelled TEST@NAME-CONFIG.
With --faults (make check's debug stage, on the debug kernel), each VM then
runs the fail-nth sweep of make faults (harness/faults.py) after the tests:
its results 'faults WHAT@CONFIG' go to the same results file.
"""

import argparse
import functools
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vm  # noqa: E402
sys.path.insert(0, vm.TOP)
from harness import faults, ktap, plan, retry  # noqa: E402
from harness import console as splats  # noqa: E402
from harness.console import blame_file  # noqa: E402
from harness.results import counts_line, write_results  # noqa: E402

TOP = vm.TOP
RESULTS = os.path.join(TOP, "build/results")


MAX_BOOTS = 3


def run_boot(config, tests, timeout, kernel, out, scoped=False, sweep=False, mem=None, scale=1):
    """One VM: run-selftests.sh with TESTS (all when empty) -> (status, tap).

    SCOPED (make check): tests/check-scope confines some tests to one
    configuration. SWEEP: then the fail-nth sweep (harness/faults.py).
    MEM: the VM's memory (vm.py --mem). SCALE: every test's timeout times
    this (run-selftests.sh -x)."""
    cmd = ('guest/run-selftests.sh -c %s -o "$OUT" %s%s%s | tee "$OUT/results.tap"'
           '; s=${PIPESTATUS[0]}' % (config, "-s " if scoped else "",
                                     "-x %d " % scale if scale != 1 else "", " ".join(tests)))
    # --freeze: a triple fault of the test kernel leaves its vCPUs' registers
    argv = ["--config", config, "--out", out, "--kernel", kernel, "--timeout", str(timeout),
            "--freeze"]
    argv += ["--mem", mem] if mem else []
    runner_status = os.path.join(out, "runner.status")
    if sweep:
        # The sweep runs last. The selftests then run as they would without
        # it: run.sh's debugfs knobs are not set yet (they are filters
        # anyway: with probability 0 nothing fails but the fail-nth the
        # sweep arms for its own task) and no error path of a failed
        # allocation has run. A VM the sweep kills takes no selftest with
        # it. And kmemleak's "nothing new" stays sound: run.sh scans, waits
        # out kmemleak's 5 s minimum age, scans again and clears, so what
        # the tests left is set aside before the sweep and only what
        # turns up after it is counted; an object a test leaked that
        # surfaces only then fails the sweep's kmemleak result with its
        # report naming that test's task: a real leak, never a hidden one.
        cmd += '; echo $s > "$OUT/runner.status"; ' + faults.COMMAND
        argv += ["--fault-injection", faults.COMM]
    status = vm.main(argv + [cmd + "; exit $s"])
    if sweep and os.path.exists(runner_status):
        # the runner finished: what the VM did after it (died, timed out,
        # a splat while the sweep ran) is the sweep's, judged by sweep_results()
        with open(runner_status) as f:
            status = int(f.read())
    return status, os.path.join(out, "results.tap")


def sweep_results(config, label):
    """(results, seconds) of the sweep that ran in CONFIG's last VM (the
    first one, or the bootN/ after VM deaths); seconds between the files
    written before and after it (0 when it did not finish)."""
    out = os.path.join(RESULTS, label)
    boots = [out] + [os.path.join(out, "boot%d" % n) for n in range(2, MAX_BOOTS + 1)]
    last = ([b for b in boots if os.path.exists(os.path.join(b, "console.log"))] or [out])[-1]
    try:
        secs = (os.path.getmtime(os.path.join(last, "faults.status"))
                - os.path.getmtime(os.path.join(last, "runner.status")))
    except OSError:
        secs = 0
    return faults.judge(config, last), secs


def sysmap_of(bout):
    """The System.map of the kernel the VM in BOUT booted ('' without one:
    the signatures that need it then never match)."""
    try:
        with open(os.path.join(bout, "System.map"), errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def fault_signatures(bout, dump):
    """The platform signatures of the retry policy (tests/platform-retries)
    that the vCPUs' state at a triple fault of the VM in BOUT matches, DUMP
    being vm.py --freeze's register dump: a diagnosis for the failure line,
    which excuses nothing (docs/platform-bugs.md §3)."""
    sysmap = sysmap_of(bout)
    evidence = "".join("triple fault: " + line + "\n" for line in vm.cpu_states(dump).splitlines())
    try:
        sigs = retry.load().signatures.values()
        return [s.id for s in sigs if retry.matched(s, evidence, sysmap)]
    except (OSError, ValueError, retry.PolicyError):
        return []


def death_excused(bout, config, test, seen):
    """(signature id, why) when TEST, which was running when the VM in BOUT
    died or hung, may run again in a fresh VM: the first kernel report of
    its console lines (the one that fails it) matches a signature that a
    retry line of the policy (tests/platform-retries) allows for TEST, no
    'never' pattern matches that splat or TEST's own log, and TEST has
    runs left (its log's in-VM runs, RUNS_CAP at most). SEEN: the
    signatures of its earlier such deaths. Otherwise None: a VM death
    proves nothing by itself (docs/platform-bugs.md §3)."""
    try:
        pol = retry.load()
        lines = splats.read(os.path.join(bout, "console.log"))
        first, end = splats.running(lines, test)
        found = splats.check(lines[first:end])
        if not found:
            return None
        # the first report alone: up to the next report's first line
        start = first + found[0][0]
        stop = next((i for i in range(start + 1, end) if splats.SPLAT.search(lines[i])
                     and "Call Trace:" not in lines[i]), end)
        log, runs = "", 1
        path = os.path.join(bout, "logs", test + ".log")
        if os.path.exists(path):
            with open(path, errors="replace") as f:
                log = f.read()
            runs += len(re.findall(r"(?m)^=== run \d+ ", log))
        if any(rx.search(log) for rx in pol.never):
            return None
        ok, sid, why = retry.decide(pol, test, config, "\n".join(lines[start:stop]), sysmap_of(bout),
                                    run=runs + len(seen), seen=seen)
    except (OSError, splats.Unjudgeable, retry.PolicyError):
        return None
    return (sid, why) if ok else None


# smp_init() has brought up the CPUs; the initcalls (KVM's module_init
# among them) run after it, so a splat before this line is not KVM's
SMP_UP = re.compile(r"\[\s*\d+\.\d+\] smp: Brought up ")


def boot_excused(bout, config, status, sweep):
    """(signature id, the splat in one line) when the VM in BOUT may run
    again: its command exited 0 (STATUS 0, or vm.py's 126: 0 but a splat)
    and every test it ran, and its sweep if any, passed; its console has
    kernel splats before the kernel brought up its CPUs (SMP_UP), so
    before any KVM code ran, and none after (the sweep's own allocation
    failures apart, as blame() has them); and the retry policy
    (tests/platform-retries) allows the pseudo-test 'boot' a retry on the
    console up to that line. Otherwise None: a VM with anything else wrong
    is judged as it is."""
    try:
        lines = splats.read(os.path.join(bout, "console.log"))
        up = next((i for i, l in enumerate(lines) if SMP_UP.search(l)), None)
        if up is None or status not in (0, 126):
            return None
        # after that line, judged as blame() judges it: the sweep's own
        # allocation failures are not splats
        comm, within = None, None
        if sweep:
            first, end = splats.running(lines, faults.MARK)
            comm, within = faults.COMM, (max(0, first - up - 1), max(0, end - up - 1))
        found = splats.check(lines[:up + 1])
        if not found or splats.find_splats(lines[up + 1:], comm, within):
            return None
        text = ktap.read(os.path.join(bout, "results.tap"))
        names, got = ktap.planned(text), ktap.parse(text)
        if names is None or any(t not in got or got[t][0] == "fail" for t in names):
            return None
        if sweep and any(st == "fail" for st, _, _ in faults.judge(config, bout)):
            return None
        ok, sid, _ = retry.decide(retry.load(), "boot", config, "\n".join(lines[:up + 1]))
    except (OSError, splats.Unjudgeable, retry.PolicyError):
        return None
    index, splat = found[0]
    return (sid, splats.summary(lines, index, splat)) if ok else None


def run_config(config, tests, timeout, kernel, label, boot=run_boot, sweep=False):
    """Run TESTS in CONFIG (all when empty) -> ({test: (status, detail)}, wall).

    BOOT(config, tests, timeout, kernel, out) runs one VM and returns (VM
    status, path of its KTAP). A kernel splat fails the test it is blamed
    on. When the VM dies before the runner reported every test, the test
    that was running fails (a VM death by itself tells a series bug that
    kills the VM from the platform's by nothing), and the tests after it
    run in a fresh VM. At a triple fault the failure names the vCPUs'
    RIP and CPL and the platform signatures their state matches
    (fault_signatures()). A test whose death the retry policy excuses on
    its console lines and log (death_excused(): a signature that proves the
    platform, e.g. an interrupt taken with IF clear) runs again first in
    the fresh VM, as its retry line allows: flaky if it then passes, its
    new result otherwise, with the death in the detail. At most MAX_BOOTS
    VMs per configuration.

    Once per configuration, a VM that passed everything but splatted
    before the kernel ran its initcalls, so before any KVM code, runs again
    in a fresh VM when a platform signature allows it (boot_excused()): its
    results are void, and 'boot' is flaky when the fresh VM's boot is clean.
    """
    out = os.path.join(RESULTS, label)
    start = time.time()
    results, remaining, excused = {}, list(tests), None
    reruns = {}     # test -> [(signature, boot, why)] of its excused deaths
    for n in range(1, MAX_BOOTS + 1):
        bout = out if n == 1 else os.path.join(out, "boot%d" % n)
        left = max(300, int(timeout - (time.time() - start)))
        status, tap = boot(config, remaining, left, kernel, bout)
        console = os.path.join(bout, "console.log")
        if not excused and n < MAX_BOOTS:
            excused = boot_excused(bout, config, status, sweep)
            if excused:
                excused += (n,)
                print("    %s: platform signature %s (tests/platform-retries) on boot %d: %s; "
                      "its results are void, a fresh VM runs them again" % (
                          config, excused[0], n, excused[1]), flush=True)
                continue
        text = ktap.read(tap)
        names = ktap.planned(text)
        if names is None:
            results["runner@boot%d" % n] = (
                "fail", "no test started (VM status %d); see %s" % (status, console))
            break
        got = ktap.parse(text)
        results.update(got)
        # the splats while the sweep of --faults ran are its own:
        # sweep_results() judges them, its task's allocations failing on purpose
        for t, first in blame_file(console).items():
            if t != faults.MARK:
                results[t] = ("fail", "kernel splat: " + first)
        missing = [t for t in names if t not in got]
        if not missing:
            if status != 0 and not any(st == "fail" for st, _ in results.values()):
                results["runner@boot%d" % n] = (
                    "fail", "the VM exited %d after every test reported; see %s" % (status, console))
            break
        why = {124: "the VM timed out", 125: "the VM died"}.get(
            status, "the VM exited with status %d" % status)
        if status == 124 and os.path.exists(os.path.join(bout, "hung")):
            why = "the VM hung (its heartbeat stopped; vCPU registers in %s)" % (
                os.path.join(bout, "cpus-at-timeout.txt"))
        died = missing[0]
        fault = os.path.join(bout, "cpus-at-triple-fault.txt")
        if os.path.exists(fault):
            with open(fault) as f:
                dump = f.read()
            sigs = fault_signatures(bout, dump)
            why = "the test kernel triple-faulted (at the fault: %s%s; registers in %s)" % (
                vm.where_cpus_were(dump),
                "; matches %s, docs/platform-bugs.md §3, not retried" % ", ".join(sigs) if sigs else "",
                fault)
        print("    %s: %s while %s ran (boot %d; %s)" % (config, why, died, n, console),
              flush=True)
        results.setdefault(died, ("fail", "%s while it ran; see %s" % (why, console)))
        remaining = missing[1:]
        rerun = death_excused(bout, config, died, [sid for sid, _, _ in reruns.get(died, [])])
        if rerun and n < MAX_BOOTS:
            print("    %s: %s; %s runs again in a fresh VM" % (config, rerun[1], died), flush=True)
            reruns.setdefault(died, []).append((rerun[0], n, results.pop(died)[1]))
            remaining = [died] + remaining
        if not remaining:
            break
        if n == MAX_BOOTS:
            for t in remaining:
                results.setdefault(t, ("fail", "not run: %s %d times" % (why, MAX_BOOTS)))
    for t, deaths in reruns.items():
        st, detail = results.get(t, ("fail", "not run again"))
        before = "; ".join("boot %d: platform signature %s (tests/platform-retries): %s" % (b, sid, what)
                           for sid, b, what in deaths)
        # a rerun that skipped proves nothing: the death stays a failure
        st = {"pass": "flaky", "skip": "fail"}.get(st, st)
        results[t] = (st, "%s; before, %s" % (detail, before))
    if excused and "boot" not in results:
        results["boot"] = ("flaky", "platform signature %s on boot %d, clean on boot %d: %s" % (
            excused[0], excused[2], excused[2] + 1, excused[1]))
    wall = time.time() - start
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "results.txt"), "w") as f:
        for test, (st, detail) in results.items():
            f.write("%s\t%s\t%s\n" % (test, st, detail))
    print("    [%s: %.0fs]" % (config, wall), flush=True)
    return results, wall


def main():
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("tests", nargs="*", help="only these tests (default: all)")
    p.add_argument("--configs", default=",".join(vm.mmu_configs()),
                   help="comma-separated MMU configurations")
    p.add_argument("--timeout", type=int, default=1800,
                   help="hard limit per configuration, seconds")
    p.add_argument("--kernel", default=vm.DEFAULT_KERNEL, help="bzImage to boot")
    p.add_argument("--name", help="label of this run (default: the plain matrix)")
    p.add_argument("--check", action="store_true",
                   help="make check's scope: tests/check-scope runs some tests in one configuration only")
    p.add_argument("--faults", action="store_true",
                   help="then, in the same VM, the fail-nth sweep of make faults (debug kernel only)")
    p.add_argument("--mem", help="the VMs' memory (vm.py --mem, default 4G)")
    p.add_argument("--timeout-scale", type=int, default=1, metavar="N",
                   help="every test's timeout times N (make debug-matrix: the debug kernel is slower)")
    args = p.parse_args()
    if args.timeout_scale < 1:
        p.error("--timeout-scale takes a whole number of 1 or more")
    configs = args.configs.split(",")
    for c in configs:
        if c not in vm.mmu_configs():
            p.error("unknown configuration %s" % c)
    if not os.path.exists(os.path.join(TOP, "build/selftests/install/tests.txt")):
        sys.exit("matrix: no selftests installed; run 'make selftests' first")

    if not os.path.exists(args.kernel):
        sys.exit("matrix: no kernel at %s; build it first (see README)" % args.kernel)
    label = {c: "%s-%s" % (args.name, c) if args.name else c for c in configs}
    table, walls, sweeps, sweep_secs = {}, {}, {}, {}
    for c in configs:
        print("==> matrix: %s (%s)%s" % (c, vm.mmu_configs()[c],
                                         ", then the fail-nth sweep" if args.faults else ""), flush=True)
        boot = functools.partial(run_boot, scoped=args.check, sweep=args.faults, mem=args.mem,
                                 scale=args.timeout_scale)
        table[c], walls[c] = run_config(c, args.tests, args.timeout, args.kernel, label[c], boot,
                                        args.faults)
        if args.faults:
            sweeps[c], sweep_secs[c] = sweep_results(c, label[c])
            print("".join("    %s %s: %s\n" % r for r in sweeps[c]), end="", flush=True)

    tests = []
    for c in configs:
        tests += [t for t in table[c] if t not in tests]
    width = max(len(t) for t in tests) + 2
    lines = ["%-*s" % (width, "test") + "".join("%-16s" % label[c] for c in configs)]
    for t in tests:
        lines.append("%-*s" % (width, t) + "".join(
            "%-16s" % table[c].get(t, ("-", ""))[0] for c in configs))
    lines.append("")
    for c in configs:
        lines.append(counts_line(label[c], table[c], walls[c]))
    for c in sweeps:
        lines.append(counts_line("faults@" + c, dict(enumerate((st, d) for st, _, d in sweeps[c])),
                                 sweep_secs[c], " of the VM above"))
    if args.check:
        scoped = [w for _, w in plan.entries(os.path.join(TOP, "tests/check-scope"))]
        lines.append("make check's scope: %d test(s) run in one configuration only, "
                     "'-' above (tests/check-scope; make matrix runs every test everywhere)"
                     % len(scoped))
    for c in configs:
        for t, (st, detail) in table[c].items():
            if st == "fail":
                lines.append("FAILED %s@%s: %s" % (t, label[c], detail))
        lines += ["FAILED %s: %s" % (n, d) for st, n, d in sweeps.get(c, []) if st == "fail"]
    os.makedirs(RESULTS, exist_ok=True)
    prefix = args.name + "-" if args.name else ""
    with open(os.path.join(RESULTS, prefix + "summary.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    path = os.path.join(RESULTS, (args.name or "matrix") + ".results")
    write_results(path, [(label[c], table[c]) for c in configs])
    with open(path, "a") as f:
        f.write("".join(faults.lines(sweeps[c]) for c in sweeps))
    print("\n".join(lines))
    failed = any(st in ("fail", "crashed") for c in configs for st, _ in table[c].values()) \
        or any(st == "fail" for c in sweeps for st, _, _ in sweeps[c])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
