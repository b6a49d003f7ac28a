"""kvm-unit-tests results: parse their TAP, compare the series with the base.

guest/kut-run.sh writes the TAP: a line for every PASS:, FAIL: or SKIP:
line of a test's output and one for run_tests.sh's verdict where the checks
do not already say it (tap_of below):

    ok 3 - smap: write to supervisor page
    not ok 7 - emulator: non-canonical rsp-based access, should #SS(0), got #GP(0)
    ok 9 - pku: PKU not enabled # skip
    not ok 12 - svm_npt: timeout; duration=180s

A test fails if any of its lines is "not ok", is skipped if all of them are
skips, and passes otherwise. guest/kut-run.sh adds a comment line for a test
that failed, matched a platform signature of tests/platform-retries and then
passed; such a test is flaky (counted apart, as make check counts a retried
selftest):

    # flaky svm_npt l1-state-in-l2 (run 2; run 1 not ok 3 - svm_npt: timeout; duration=180s l1-state-in-l2)

Other comment lines ('# start TEST', '# done TEST seconds=N') are ignored.

scripts/kut.sh writes one TAP file per kernel, configuration and quirk mode
into a directory, named KERNEL@CONFIG@MODE.tap (KERNEL: base or series,
MODE: on or off). The rule is "no worse than the base": a test is worse on
the series when the base passed it (or skipped it) and the series did not
pass (or skip) it, in the same configuration.

    python3 -m harness.kut report DIR        table + worse list; exit 1 if worse
    python3 -m harness.kut results DIR FILE  make check's results lines
    python3 -m harness.kut tap TEST LOG STATUSFILE
        the TAP lines of one test that run_tests.sh ran without -t (tap_of):
        LOG its logs/TEST.log, STATUSFILE what run_tests.sh printed
    python3 -m harness.kut settings ARGSFILE DEFAULT [TEST...]
        a line 'TEST SECONDS ARGS' (tab-separated) per TEST: its timeout
        and extra test_args (tests/kut-args, see settings below), DEFAULT
        seconds without a line; without TESTs, only checks ARGSFILE
    python3 -m harness.kut split TAPFILE DIR
        one TEST.tap per test into DIR (split_tap); prints the tests that
        finished in a live test VM, which scripts/kut.sh keeps
"""

import os
import re
import sys

LINE = re.compile(r"^(not )?ok \d+ - ([^:\s]+):?\s*(.*?)\s*$")
FLAKY = re.compile(r"^# flaky (\S+) (.*?)\s*$")
RANK = {"pass": 2, "flaky": 2, "skip": 2, "fail": 0, "missing": 0}


def parse_tap(text):
    """{test: (status, detail)} of one TAP file of guest/kut-run.sh."""
    lines, flaky = {}, {}
    for line in text.splitlines():
        m = FLAKY.match(line)
        if m:
            flaky[m.group(1)] = m.group(2)
            continue
        m = LINE.match(line.rstrip("\r"))
        if not m:
            continue
        detail = m.group(3)
        if m.group(1):
            status = "fail"
        elif detail.lower().endswith("# skip"):
            status, detail = "skip", detail[:-6].strip()
        else:
            status = "pass"
        lines.setdefault(m.group(2), []).append((status, detail))
    out = {}
    for test, seen in lines.items():
        fails = [d for st, d in seen if st == "fail"]
        if fails:
            out[test] = ("fail", "%d of %d checks failed, first: %s" % (len(fails), len(seen), fails[0]))
        elif all(st == "skip" for st, _ in seen):
            out[test] = ("skip", seen[0][1])
        elif test in flaky:
            out[test] = ("flaky", "%d checks, platform signature %s" % (len(seen), flaky[test]))
        else:
            out[test] = ("pass", "%d checks" % len(seen))
    return out


CHECK = re.compile(r"^(PASS|FAIL|SKIP):\s*(.*?)\s*$")
# The reasons for which run_tests.sh skips a whole test that are conditions
# of the test (its architecture, machine, accelerator, a cfg 'disabled_if' or
# 'check', a nodefault group) or its own summary when it exits 77. Any other
# SKIP is QEMU failing to start or a missing test image (KUT's
# premature_failure): e.g. KVM_CREATE_VM refused by the preload library,
# which must fail, not skip.
SKIP_REASON = re.compile(r"^(test marked as manual run only|\S+ only(, but ACCEL=\S*)?|disabled because: .*"
                         r"|\S+ not equal to .*|no gen-se-header available for pv-host test"
                         r"|\d+ tests?(, \d+ [a-z ]+)*)$")
STATUS = re.compile(r"^(PASS|FAIL|SKIP) (\S+)\s*(.*?)\s*$")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def tap_of(test, log_text, status_text):
    """TAP lines for one test from its KUT log and run_tests.sh's status line.

    run_tests.sh -t writes TAP only for the PASS:/FAIL:/SKIP: lines of a
    test's output and for a timeout or a signal: a guest that shuts down or
    exits non-zero without a FAIL: line gets no line at all, so checks that
    passed before it would make the test a pass. kut-run.sh therefore runs
    each test without -t and builds the TAP here: a line per check of the
    log, and run_tests.sh's own verdict (e.g. 'FAIL access (timeout;
    duration=90s)', 'SKIP cmpxchg8b (i386 only)') where the checks do not
    already say it. A test without a verdict line fails.
    """
    out = []                                   # (ok, text after "TEST: ")
    for line in log_text.splitlines():
        m = CHECK.match(line.rstrip("\r"))
        if m:
            kind, text = m.groups()
            out.append((kind != "FAIL", text + (" # skip" if kind == "SKIP" else "")))
    m = None
    for line in (status_text or "").splitlines():
        m = STATUS.match(ANSI.sub("", line).strip())
        if m and m.group(2) == test:
            break
        m = None
    if not m:
        out.append((False, "run_tests.sh printed no verdict for it"))
    else:
        verdict, reason = m.group(1), m.group(3)
        if reason.startswith("(") and reason.endswith(")"):
            reason = reason[1:-1]
        abort = reason.startswith(("timeout", "terminated"))
        if verdict == "FAIL" and (abort or all(ok for ok, _ in out)):
            out.append((False, reason if abort else
                        "failed with no FAIL line (%s; a guest shutdown or a non-zero exit, "
                        "see the log)" % (reason or "no summary")))
        elif verdict == "SKIP" and not out:
            if SKIP_REASON.match(reason):
                out.append((True, reason + " # skip"))
            else:
                out.append((False, "run_tests.sh skipped it for no test condition, QEMU or the "
                                   "image failed: %s" % (reason or "no reason")))
        elif verdict == "PASS" and not out:
            out.append((True, "passed, no PASS line (%s)" % (reason or "exit status 0")))
    return ["%sok %d - %s: %s" % ("" if ok else "not ", i + 1, test, text)
            for i, (ok, text) in enumerate(out)]


def settings(text, test, default):
    """(seconds, [arg...]) of TEST from the text of tests/kut-args.

    Each line is 'TEST SECONDS [args=ARG[,ARG...]] REASON': the timeout
    that fits TCG, extra arguments appended to the test's test_args in
    x86/unittests.cfg (e.g. svm's '-latency_*' to leave out a test of it),
    and why, with the cost measured. A test without a line has DEFAULT
    seconds and no extra arguments. Any malformed line is a ValueError.
    """
    found = None
    for n, line in enumerate(text.splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        has_args = len(words) > 2 and words[2].startswith("args=")
        args = [a for a in words[2][5:].split(",") if a] if has_args else []
        reason = words[3:] if has_args else words[2:]
        if len(words) < 3 or not words[1].isdigit() or int(words[1]) == 0 or not reason or has_args and not args:
            raise ValueError("line %d: want 'TEST SECONDS [args=ARG[,ARG...]] REASON', got: %s"
                             % (n, line.strip()))
        if words[0] == test and found is None:
            found = (int(words[1]), args)
    return found if found is not None else (default, [])


START = re.compile(r"^# start (\S+)\s*$")
DONE = re.compile(r"^# done (\S+)(\s.*)?$")


def split_tap(text):
    """{test: (lines, finished)} of a TAP file of scripts/kut.sh's suite().

    A test's lines run from its '# start TEST' to its '# done TEST' line;
    a result line outside them (a test that never started) is its test's.
    finished: kut-run.sh wrote the '# done TEST seconds=N' line, i.e. the
    test ran to its verdict in a test VM that was alive; a test the VM died
    in or never reached gets its lines from suite() and is not finished.
    """
    out, current = {}, None
    for line in text.splitlines():
        m = START.match(line)
        if m:
            current = m.group(1)
            out[current] = ([line], False)
            continue
        m = DONE.match(line)
        if m and m.group(1) == current:
            lines, _ = out[current]
            lines.append(line)
            out[current] = (lines, bool(re.search(r"\sseconds=\d+", m.group(2) or "")))
            current = None
            continue
        if current is not None:
            out[current][0].append(line)
            continue
        m = LINE.match(line)
        if m:
            lines, fin = out.get(m.group(2), ([], False))
            out[m.group(2)] = (lines + [line], fin)
    return out


def load(directory):
    """{(kernel, config, mode): {test: (status, detail)}} of a results dir."""
    runs = {}
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".tap") or name.count("@") != 2:
            continue
        kernel, config, mode = name[:-4].split("@")
        with open(os.path.join(directory, name), errors="replace") as f:
            runs[(kernel, config, mode)] = parse_tap(f.read())
    return runs


def worse(runs):
    """[(test, config, mode, base status, series status, detail)]."""
    out = []
    for (kernel, config, mode), res in sorted(runs.items()):
        if kernel != "series":
            continue
        base = runs.get(("base", config, "on"))
        if base is None:
            continue
        for test, (bst, _) in sorted(base.items()):
            st, detail = res.get(test, ("missing", "no result on the series"))
            if RANK[st] < RANK[bst]:
                out.append((test, config, mode, bst, st, detail))
    return out


def table(runs):
    """Lines: one row per test, one column per (config, kernel/mode)."""
    cols = sorted(runs, key=lambda k: (k[1], k[0] != "base", k[2]))
    tests = sorted({t for res in runs.values() for t in res})
    width = max([len("test")] + [len(t) for t in tests]) + 2
    head = ["test".ljust(width)] + ["%-27s" % ("%s %s%s" % (c, k, "" if k == "base" else " " + m))
                                    for k, c, m in cols]
    lines = ["".join(head).rstrip()]
    for t in tests:
        row = [t.ljust(width)] + ["%-27s" % runs[k].get(t, ("-", ""))[0] for k in cols]
        lines.append("".join(row).rstrip())
    for st in ("pass", "flaky", "fail", "skip"):
        row = [("= " + st).ljust(width)] + ["%-27d" % sum(r[0] == st for r in runs[k].values()) for k in cols]
        lines.append("".join(row).rstrip())
    return lines


def results_lines(runs):
    """make check's results lines for the series runs: pass, skip or fail."""
    lines = []
    bad = {(t, c, m) for t, c, m, _, _, _ in worse(runs)}
    for (kernel, config, mode), res in sorted(runs.items()):
        if kernel != "series":
            continue
        for test, (st, detail) in sorted(res.items()):
            name = "kut %s@%s quirk=%s" % (test, config, mode)
            if st == "fail" and ("base", config, "on") in runs and (test, config, mode) not in bad:
                st, detail = "skip", "fails on the unpatched base too: " + detail
            lines.append("%s\t%s\t%s" % (st, name, detail))
    return lines


def main(argv):
    if len(argv) >= 2 and argv[0] == "report":
        runs = load(argv[1])
        if not runs:
            sys.exit("kut: no KERNEL@CONFIG@MODE.tap files in %s; run scripts/kut.sh first" % argv[1])
        print("\n".join(table(runs)))
        empty = ["%s@%s@%s" % k for k, res in sorted(runs.items()) if not res]
        for name in empty:
            print("EMPTY %s.tap: no test reported anything" % name)
        bad = worse(runs)
        for t, c, m, b, s, d in bad:
            print("WORSE %s@%s quirk=%s: base %s, series %s (%s)" % (t, c, m, b, s, d))
        print("%d test result(s) worse on the series than on the base" % len(bad))
        return 1 if bad or empty else 0
    if len(argv) == 3 and argv[0] == "results":
        runs = load(argv[1])
        with open(argv[2], "w") as f:
            for line in results_lines(runs):
                f.write(line + "\n")
        return 0
    if len(argv) == 4 and argv[0] == "tap":
        texts = []
        for path in argv[2:]:
            try:
                with open(path, errors="replace") as f:
                    texts.append(f.read())
            except FileNotFoundError:
                texts.append("")
        print("\n".join(tap_of(argv[1], *texts)))
        return 0
    if len(argv) >= 3 and argv[0] == "settings" and argv[2].isdigit():
        with open(argv[1]) as f:
            text = f.read()
        try:
            for test in argv[3:] or ["-"]:
                seconds, args = settings(text, test, int(argv[2]))
                if test != "-":
                    print("%s\t%d\t%s" % (test, seconds, " ".join(args)))
        except ValueError as e:
            sys.exit("kut: %s: %s" % (argv[1], e))
        return 0
    if len(argv) == 3 and argv[0] == "split":
        with open(argv[1], errors="replace") as f:
            parts = split_tap(f.read())
        os.makedirs(argv[2], exist_ok=True)
        for test, (lines, finished) in sorted(parts.items()):
            with open(os.path.join(argv[2], test + ".tap"), "w") as f:
                f.write("\n".join(lines) + "\n")
            if finished:
                print(test)
        return 0
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
