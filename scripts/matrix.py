#!/usr/bin/env python3
"""Run the x86_64 KVM selftests in every MMU configuration, one fresh boot each.

  scripts/matrix.py [--configs svm-shadow,svm-tdp-mmu] [--kernel BZIMAGE --name NAME] [TEST...]

Each configuration (tests/mmu-configs) boots the test kernel with its
parameters and runs scripts/run-selftests.sh inside. Per configuration,
build/results/CONFIG/ keeps results.tap, results.txt (test, status, detail),
logs/TEST.log and console.log. A kernel splat fails the test that was
running (or the boot). When the VM dies mid-run, a fresh one runs the rest
(see run_config(); its files are in CONFIG/bootN/).
build/results/matrix.results has one line per test and configuration for
`make check`; build/results/summary.txt the table.
With --name NAME (e.g. another --kernel), results go to build/results/NAME-CONFIG/,
NAME.results and NAME-summary.txt instead, and tests are labelled TEST@NAME-CONFIG.
"""

import argparse
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vm  # noqa: E402

TOP = vm.TOP
RESULTS = os.path.join(TOP, "build/results")
TAP_LINE = re.compile(r"^(not )?ok \d+ (\S+)(?: # (.*))?$")


def parse_tap(path):
    """test -> (status, detail) from a KTAP file written by the runner."""
    results = {}
    if not os.path.exists(path):
        return results
    with open(path) as f:
        for line in f:
            m = TAP_LINE.match(line.rstrip("\n"))
            if not m:
                continue
            detail = m.group(3) or ""
            if m.group(1):
                status = "fail"
            elif detail.startswith("SKIP"):
                status, detail = "skip", detail[4:].strip()
            else:
                status = "pass"
            results[m.group(2)] = (status, detail)
    return results


def splats_by_test(console):
    """test (or 'boot') -> first line of the first kernel splat it caused."""
    with open(console, errors="replace") as f:
        lines = f.read().splitlines()
    blamed = {}
    for index, splat in vm.find_splats(lines):
        test = "boot"
        for line in reversed(lines[:index]):
            m = re.search(r"# RUN (\S+)", line)
            if m:
                test = m.group(1)
                break
        blamed.setdefault(test, splat[2 if len(splat) > 2 else 0].strip())
    return blamed


def counts_line(label, results, wall, extra=""):
    """'CONFIG  N passed, N failed, N skipped  (Ns...)' for one configuration."""
    counts = {s: sum(1 for st, _ in results.values() if st == s)
              for s in ("pass", "fail", "skip")}
    return "%-16s %3d passed, %3d failed, %3d skipped  (%.0fs%s)" % (
        label, counts["pass"], counts["fail"], counts["skip"], wall, extra)


def write_results(path, labelled):
    """The make check results file: one line per test and configuration."""
    with open(path, "w") as f:
        for label, results in labelled:
            for t, (st, detail) in results.items():
                f.write("%s\tselftest %s@%s\t%s\n" % (st, t, label, detail))


MAX_BOOTS = 3


def run_boot(config, tests, timeout, kernel, out):
    """One VM: run-selftests.sh with TESTS (all when empty) -> (status, tap)."""
    cmd = ('scripts/run-selftests.sh -c %s -o "$OUT" %s | tee "$OUT/results.tap"'
           '; exit ${PIPESTATUS[0]}' % (config, " ".join(tests)))
    status = vm.main(["--config", config, "--out", out, "--kernel", kernel,
                      "--timeout", str(timeout), cmd])
    return status, os.path.join(out, "results.tap")


def run_config(config, tests, timeout, kernel, label):
    """Run TESTS in CONFIG; a VM that dies mid-run is booted again.

    The test that was running when the VM died (QEMU exited or timed out
    before the runner reported it) fails if the console shows a kernel
    splat, or if it kills a VM a second time; otherwise (the TCG nested-SVM
    bugs of docs/platform-bugs.md take the whole test VM down now and then)
    it runs once more in a fresh VM, and its result says so. The tests after
    it run in the fresh VM too. At most MAX_BOOTS VMs per configuration.
    """
    out = os.path.join(RESULTS, label)
    print("==> matrix: %s (%s)" % (config, vm.mmu_configs()[config]), flush=True)
    start = time.time()
    results, notes, deaths, remaining = {}, {}, {}, list(tests)
    for boot in range(1, MAX_BOOTS + 1):
        bout = out if boot == 1 else os.path.join(out, "boot%d" % boot)
        left = max(300, int(timeout - (time.time() - start)))
        status, tap = run_boot(config, remaining, left, kernel, bout)
        console = os.path.join(bout, "console.log")
        got = parse_tap(tap)
        listed = re.findall(r"^# tests: (.*)$", open(tap).read(), re.M) \
            if os.path.exists(tap) else []
        if not listed:
            results["runner"] = ("fail", "no test started (VM status %d); see %s"
                                 % (status, console))
            break
        names = listed[0].split()
        for t, (st, detail) in got.items():
            results[t] = (st, detail + notes.get(t, ""))
        splats = splats_by_test(console)
        for t, first in splats.items():
            results[t] = ("fail", "kernel splat: " + first)
        missing = [t for t in names if t not in got]
        if not missing:
            break
        died = missing[0]
        why = {124: "the VM timed out", 125: "the VM died"}.get(
            status, "the VM exited with status %d" % status)
        deaths[died] = deaths.get(died, 0) + 1
        print("    %s: %s while %s ran (boot %d; %s)" % (config, why, died, boot, console),
              flush=True)
        if died in splats or deaths[died] > 1 or boot == MAX_BOOTS:
            results.setdefault(died, ("fail", "%s while it ran; see %s" % (why, console)))
            remaining = missing[1:]
        else:
            notes[died] = " (%s during run 1, with no kernel message; run again in a fresh VM: %s)" % (
                why, os.path.relpath(console, TOP))
            remaining = missing
        if not remaining:
            break
        if boot == MAX_BOOTS:
            for t in remaining:
                results.setdefault(t, ("fail", "not run: %s %d times" % (why, MAX_BOOTS)))
    wall = time.time() - start
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
    args = p.parse_args()
    configs = args.configs.split(",")
    for c in configs:
        if c not in vm.mmu_configs():
            p.error("unknown configuration %s" % c)
    if not os.path.exists(os.path.join(TOP, "build/selftests/install/tests.txt")):
        sys.exit("matrix: no selftests installed; run 'make selftests' first")

    if not os.path.exists(args.kernel):
        sys.exit("matrix: no kernel at %s; build it first (see README)" % args.kernel)
    label = {c: "%s-%s" % (args.name, c) if args.name else c for c in configs}
    table, walls = {}, {}
    for c in configs:
        table[c], walls[c] = run_config(c, args.tests, args.timeout, args.kernel, label[c])

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
    for c in configs:
        for t, (st, detail) in table[c].items():
            if st == "fail":
                lines.append("FAILED %s@%s: %s" % (t, label[c], detail))
    os.makedirs(RESULTS, exist_ok=True)
    prefix = args.name + "-" if args.name else ""
    with open(os.path.join(RESULTS, prefix + "summary.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    write_results(os.path.join(RESULTS, (args.name or "matrix") + ".results"),
                  [(label[c], table[c]) for c in configs])
    print("\n".join(lines))
    failed = any(st == "fail" for c in configs for st, _ in table[c].values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
