#!/usr/bin/env python3
"""Run the memslot feature selftests on Intel VMX (Bochs), in every MMU configuration.

  scripts/intel-matrix.py [--configs vmx-shadow,vmx-tdp-mmu] [-j N] [TEST...]

The Intel counterpart of scripts/matrix.py. Each configuration of
tests/mmu-configs-intel (kvm_intel.ept=0; ept=1 kvm.tdp_mmu=0; ept=1
kvm.tdp_mmu=1) boots the test kernel under Bochs (scripts/bochs.py, CPU model
corei7_haswell_4770: VMX with EPT) and runs the tests of tests/intel-tests
inside with guest/bochs-run-tests. Bochs runs one emulated CPU on one host
thread, so the configurations run in parallel (-j, default: all at once).

Per configuration, build/results/intel/CONFIG/ keeps console.log, bochs.log,
results.tap, results.txt and timing. A kernel splat fails the test that was
running (or 'boot'). Prints one line per test, labelled by vendor through the
configuration name ('ok 3 vmx-tdp-mmu memslot_zap_test'), writes
build/results/intel.results (one line per test and configuration, the format
of `make check`) and build/results/intel-summary.txt.
"""

import argparse
import concurrent.futures
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bochs  # noqa: E402
sys.path.insert(0, bochs.TOP)
from harness import ktap, results as hres  # noqa: E402
from harness.console import blame_file as blame_console  # noqa: E402

TOP = bochs.TOP
RESULTS = os.path.join(TOP, "build/results")
TEST_LIST = os.path.join(TOP, "tests/intel-tests")


def listed_tests():
    tests = []
    with open(TEST_LIST) as f:
        for line in f:
            fields = line.split("#", 1)[0].split()
            if fields:
                name = fields[0].split("@")[0]   # TEST@CONFIG: same test
                if name not in tests:
                    tests.append(name)
    return tests


def run_config(config, tests, timeout, kernel):
    out = os.path.join(RESULTS, "intel", config)
    cmd = "run-tests -c %s %s" % (config, " ".join(tests))
    start = time.time()
    status = bochs.main(["--config", config, "--out", out, "--quiet",
                         "--kernel", kernel,
                         "--timeout", str(timeout), cmd])
    wall = time.time() - start
    console = os.path.join(out, "console.log")
    # The guest's TAP is in the console, between the kernel's messages.
    with open(console, errors="replace") as f:
        tap = [l for l in f.read().splitlines()
               if l.startswith(("ok ", "not ok ", "#", "TAP ", "1.."))]
    with open(os.path.join(out, "results.tap"), "w") as f:
        f.write("\n".join(tap) + "\n")
    results = ktap.parse("\n".join(tap))
    for test in tests:
        if test not in results:
            why = {124: "Bochs timed out after %ds" % timeout,
                   125: "the guest died"}.get(status, "no result")
            results[test] = ("fail", "not run: " + why)
    for test, first in blame_console(console).items():
        results[test] = ("fail", "kernel splat: " + first)
    with open(os.path.join(out, "results.txt"), "w") as f:
        for test, (st, detail) in results.items():
            f.write("%s\t%s\t%s\n" % (test, st, detail))
    timing = ""
    try:
        with open(os.path.join(out, "timing")) as f:
            timing = f.read().strip()
    except OSError:
        pass
    return results, wall, timing, tap


def fail_early(what):
    """Record a failure for make check when no configuration could run."""
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "intel.results"), "w") as f:
        f.write("fail\tIntel (Bochs): %s\tsee the output above\n" % what)
    sys.exit("intel-matrix: " + what)


def main():
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("tests", nargs="*",
                   help="only these tests (default: all of tests/intel-tests)")
    p.add_argument("--configs", default=",".join(bochs.mmu_configs()),
                   help="comma-separated configurations of tests/mmu-configs-intel")
    p.add_argument("-j", "--jobs", type=int, default=0,
                   help="configurations run at once (default: all)")
    p.add_argument("--timeout", type=int, default=600,
                   help="hard limit per configuration, seconds (Bochs is killed)")
    p.add_argument("--kernel", help="bzImage to boot (default: the LZ4 build "
                   "of the test kernel, setup/build-bochs-kernel.sh)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="print each configuration's whole TAP")
    args = p.parse_args()
    configs = args.configs.split(",")
    known = bochs.mmu_configs()
    for c in configs:
        if c not in known:
            p.error("unknown configuration %s; known: %s" % (c, ", ".join(known)))
    tests = args.tests or listed_tests()

    kernel = args.kernel
    if not kernel:
        r = subprocess.run([os.path.join(TOP, "setup/build-bochs-kernel.sh")],
                           stdout=subprocess.PIPE, universal_newlines=True)
        if r.returncode:
            fail_early("could not build the kernel for Bochs")
        kernel = r.stdout.strip().splitlines()[-1]
    r = subprocess.run([os.path.join(TOP, "setup/build-bochs-initramfs.sh")])
    if r.returncode:
        fail_early("could not build the initramfs")

    start = time.time()
    table, walls, timings = {}, {}, {}
    print("==> intel matrix: %s under Bochs (%s), %d at once" % (
        ", ".join("%s (%s)" % (c, known[c]) for c in configs), bochs.CPU_MODEL,
        args.jobs or len(configs)), flush=True)
    # SIGTERM (make check's stage timeout): every Bochs is ended, none left running
    signal.signal(signal.SIGTERM, lambda signum, frame: bochs.STOP.set())
    with concurrent.futures.ThreadPoolExecutor(args.jobs or len(configs)) as ex:
        futures = {ex.submit(run_config, c, tests, args.timeout, kernel): c
                   for c in configs}
        for fut in concurrent.futures.as_completed(futures):
            c = futures[fut]
            table[c], walls[c], timings[c], tap = fut.result()
            print("    [%s: %.0fs; %s]" % (c, walls[c], timings[c]), flush=True)
            if args.verbose:
                print("\n".join("    " + l for l in tap))
    total = time.time() - start
    if bochs.STOP.is_set():
        sys.exit("intel-matrix: stopped by SIGTERM after %.0fs; no results written" % total)

    n, lines = 0, []
    for c in configs:
        for t in tests:
            st, detail = table[c].get(t, ("fail", "no result"))
            n += 1
            lines.append("%s %d %s %s%s" % (
                "not ok" if st == "fail" else "ok", n, c, t,
                " # SKIP " + detail if st == "skip" else
                " # " + detail if detail else ""))
        for t, (st, detail) in table[c].items():
            if t not in tests:      # 'boot' splats
                n += 1
                lines.append("%s %d %s %s # %s" % (
                    "not ok" if st == "fail" else "ok", n, c, t, detail))
    summary = ["1..%d" % n] + lines + [""]
    for c in configs:
        summary.append(hres.counts_line(c, table[c], walls[c], ": " + timings[c]))
    summary.append("intel matrix wall time: %.0fs" % total)
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "intel-summary.txt"), "w") as f:
        f.write("\n".join(summary) + "\n")
    hres.write_results(os.path.join(RESULTS, "intel.results"),
                         [(c, table[c]) for c in configs])
    print("\n".join(summary))
    failed = any(st == "fail" for c in configs for st, _ in table[c].values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
