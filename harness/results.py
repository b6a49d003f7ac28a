"""Statuses, results files, and the verdict of make check.

A results file has one line per result: STATUS <tab> NAME <tab> DETAIL,
STATUS one of STATUSES. Each stage of make check writes its own file and
its exit status goes to stages.tsv (NAME <tab> RC <tab> SECONDS <tab> FILE).
The verdict fails closed: a stage that exited non-zero without a failed
result, or wrote no result at all, is a 'crashed' result of its own, and
only files named in stages.tsv are read (check.sh empties the directory
first, so nothing of an earlier run is counted).

    python3 -m harness.results verdict build/results
prints the FAILED lines, the flaky line and 'N passed, N failed, N skipped'
(crashed counts as failed, flaky apart); exit 1 if anything failed.
"""

import os
import re
import sys

STATUSES = ("pass", "fail", "skip", "flaky", "crashed")
FAILED = ("fail", "crashed")


def read_results(path):
    """[(status, name, detail)] of a results file; unknown status = crashed."""
    out = []
    try:
        with open(path, errors="replace") as f:
            for line in f:
                line = line.rstrip("\n")
                if not line.strip():
                    continue
                st, _, rest = line.partition("\t")
                name, _, detail = rest.partition("\t")
                if st not in STATUSES:
                    detail = "bad results line in %s: %r" % (path, line[:120])
                    st, name = "crashed", name or "?"
                out.append((st, name, detail))
    except FileNotFoundError:
        pass
    return out


def write_results(path, labelled, prefix="selftest"):
    """One line per test and configuration: [(label, {test: (status, detail)})]."""
    with open(path, "w") as f:
        for label, results in labelled:
            for t, (st, detail) in results.items():
                f.write("%s\t%s %s@%s\t%s\n" % (st, prefix, t, label, detail))


def counts(statuses):
    statuses = list(statuses)
    return {s: statuses.count(s) for s in STATUSES}


def counts_line(label, results, wall, extra=""):
    """'CONFIG  N passed, N failed, N skipped, N flaky (Ns)' for one configuration."""
    n = counts(st for st, _ in results.values())
    return "%-16s %3d passed, %3d failed, %3d skipped, %d flaky  (%.0fs%s)" % (
        label, n["pass"], n["fail"] + n["crashed"], n["skip"], n["flaky"], wall, extra)


def read_stages(path):
    """[(name, rc, seconds, results file)] from stages.tsv. A row that is not
    NAME, RC, SECONDS, FILE (a write cut short) is a stage that crashed."""
    stages = []
    with open(path) as f:
        for i, line in enumerate(f, 1):
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 4 and re.fullmatch(r"-?\d+", parts[1]):
                stages.append((parts[0], int(parts[1]), parts[2], parts[3]))
            else:
                stages.append(("(row %d of stages.tsv: %r)" % (i, line.rstrip("\n")), 1, "?", ""))
    return stages


def verdict(stages, base):
    """All results of the run, the stage crashes included."""
    allres = []
    for name, rc, _, rfile in stages:
        res = read_results(os.path.join(base, rfile)) if rfile else []
        allres += res
        failed = any(st in FAILED for st, _, _ in res)
        if rc != 0 and not failed:
            why = {124: "timed out"}.get(rc, "exited %d" % rc)
            allres.append(("crashed", "stage %s" % name,
                           "%s without reporting a failure (see its output above)" % why))
        elif rc == 0 and not res:
            allres.append(("crashed", "stage %s" % name,
                           "exited 0 but wrote no results (%s)" % (rfile or "no results file")))
    return allres


def report(allres):
    """The closing lines, and whether the run failed."""
    lines = ["FAILED: %s%s%s" % (name, " (%s)" % detail if detail else "",
                                 " [crashed]" if st == "crashed" else "")
             for st, name, detail in allres if st in FAILED]
    n = counts(st for st, _, _ in allres)
    flaky = [name for st, name, _ in allres if st == "flaky"]
    if flaky:
        lines.append("flaky: %d (platform signature matched: %s)" % (len(flaky), ", ".join(flaky)))
    lines.append("%d passed, %d failed, %d skipped" % (
        n["pass"], n["fail"] + n["crashed"], n["skip"]))
    return lines, n["fail"] + n["crashed"] > 0


def main(argv):
    if len(argv) != 2 or argv[0] != "verdict":
        sys.exit("usage: python3 -m harness.results verdict RESULTS_DIR")
    base = argv[1]
    stages_file = os.path.join(base, "stages.tsv")
    if not os.path.exists(stages_file):
        print("FAILED: make check (no %s: no stage ran)" % stages_file)
        print("0 passed, 1 failed, 0 skipped")
        return 1
    lines, failed = report(verdict(read_stages(stages_file), base))
    print("\n".join(lines))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
