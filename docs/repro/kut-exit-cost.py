#!/usr/bin/env python3
"""The exit costs of docs/repro/kut-exit-cost.sh, one kernel against another.

  docs/repro/kut-exit-cost.py DIR...

Each DIR is a test VM's --out directory; its kut-exit-cost/MODE-RUN.logs/
vmexit_cpuid.log are the runs' KUT logs. Prints, per exit kind and per
DIR and quirk mode, the median TSC cycles per exit, the smallest and
largest run and the number of runs, and the ratio of each median to the
first DIR's first mode. A benchmark: numbers with their spread, no verdict.
"""
import glob
import os
import re
import statistics
import sys

# vmexit.c's 'NAME CYCLES' (its '  ipi NAME CYCLES' detail lines are indented)
EXIT = re.compile(r"^([a-z0-9_]+) (\d+)\r?$")
RUN = re.compile(r"^(on|off)-(\d+)\.logs$")


def parse(text):
    """{exit: cycles} of one vmexit.flat log."""
    return {m.group(1): int(m.group(2)) for m in map(EXIT.match, text.splitlines()) if m}


def collect(dirs):
    """{(dir's name, mode): {exit: [cycles per run]}}; a run that printed no
    cycles (a dead guest) adds nothing."""
    out = {}
    for d in dirs:
        logs = sorted(glob.glob(os.path.join(d, "kut-exit-cost", "*.logs", "vmexit_cpuid.log")))
        if not logs:
            sys.exit("kut-exit-cost: no kut-exit-cost/*.logs/vmexit_cpuid.log under %s:"
                     " give the --out directory of a test VM that ran docs/repro/kut-exit-cost.sh" % d)
        for log in logs:
            m = RUN.match(os.path.basename(os.path.dirname(log)))
            if not m:
                continue
            per = out.setdefault((os.path.basename(os.path.normpath(d)), m.group(1)), {})
            with open(log, errors="replace") as f:
                for name, cycles in parse(f.read()).items():
                    per.setdefault(name, []).append(cycles)
    return out


def table(runs):
    """Lines of the comparison; the first (dir, mode) is the reference."""
    if not runs:
        return ["no runs"]
    keys = list(runs)
    ref = runs[keys[0]]
    exits = sorted({e for per in runs.values() for e in per})
    lines = ["%-20s %-24s %10s %17s %4s %7s" % ("exit", "kernel/mode", "median", "min-max", "n", "ratio")]
    for e in exits:
        for k in keys:
            vals = runs[k].get(e, [])
            if not vals:
                lines.append("%-20s %-24s %10s" % (e, "/".join(k), "-"))
                continue
            med = statistics.median(vals)
            base = ref.get(e)
            ratio = "%.2f" % (med / statistics.median(base)) if base else "-"
            lines.append("%-20s %-24s %10.0f %17s %4d %7s"
                         % (e, "/".join(k), med, "%d-%d" % (min(vals), max(vals)), len(vals), ratio))
    return lines


def main(argv):
    if not argv:
        sys.exit(__doc__)
    print("\n".join(table(collect(argv))))


if __name__ == "__main__":
    main(sys.argv[1:])
