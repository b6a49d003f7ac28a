"""kvm-unit-tests results: parse their TAP, compare the series with the base.

guest/kut-run.sh writes the TAP: a line for every PASS:, FAIL: or SKIP:
line of a test's output and one for run_tests.sh's verdict where the checks
do not already say it (harness/kut_tap.py):

    ok 3 - smap: write to supervisor page
    not ok 7 - emulator: non-canonical rsp-based access, should #SS(0), got #GP(0)
    ok 9 - pku: PKU not enabled # skip
    not ok 12 - svm_npt: timeout; duration=180s

A test fails if any of its lines is "not ok", is skipped if all of them are
skips, and passes otherwise. It is lost when scripts/kut.sh had to write
its line because a test VM died in it, or before it, or no result came back
("not ok 0 - T: the test VM died in it", "...: not run, ...", "...: no
result ..."): that is worse than a failure, so a series that kills the VM
in a test that also fails on the base is caught. A test that reached its
timeout ("T: timeout; duration=...") is a timeout, worse than a failure and
better than a lost test: a series that hangs in a test the base ran to its
end with failed checks is caught too. A kernel splat in a test
VM is a failed result of its own, 'test-vm-splat'. guest/kut-run.sh adds a comment line for a test
that failed, matched a platform signature of tests/platform-retries and then
passed; such a test is flaky (counted apart, as make check counts a retried
selftest):

    # flaky svm_npt l1-state-in-l2 (run 2; run 1 not ok 3 - svm_npt: timeout; duration=180s l1-state-in-l2)

Other comment lines ('# start TEST', '# done TEST seconds=N') are ignored.

A check that fails now and then on the unpatched base as well as on the
series, for reasons that are not the series' (TCG's timing, say), is
listed in tests/kut-known ('TEST[@CONFIG] CHECK REASON', CHECK in double
quotes when it has spaces, the REASON with the evidence from both
kernels). A test whose failed checks are all listed ones (by their whole
name), in a configuration the line covers, and that lost no test VM, is
'known' on either kernel: neither worse nor better than a pass, and
counted apart. A line with CHECK <timeout> names a hang both kernels run
into instead: the test's timeout there ranks as a failure.

scripts/kut.sh writes one TAP file per kernel, configuration and quirk mode
into a directory, named KERNEL@CONFIG@MODE.tap (KERNEL: base or series,
MODE: on or off). The rule is "no worse than the base": a test is worse on
the series when the base passed it (or skipped it, or has no result for it)
and the series did not pass (or skip) it, or when the base failed it and
the series timed out or lost it (or the base timed out and the series lost
it), in the same configuration. The report also fails when
a run has no result for a test another run has (MISSING).

    python3 -m harness.kut report DIR [KNOWN]        table (with each run's seconds in its
        tests, suite_seconds()) + worse list; exit 1 if worse
    python3 -m harness.kut results DIR FILE [KNOWN]  make check's results lines
        (KNOWN: the known flaky checks, tests/kut-known)
    python3 -m harness.kut settings ARGSFILE DEFAULT [TEST...]
        a line 'TEST SECONDS ARGS' (tab-separated) per TEST: its timeout
        and extra test_args (tests/kut-args, see settings below), DEFAULT
        seconds without a line; without TESTs, only checks ARGSFILE
    python3 -m harness.kut split TAPFILE DIR [SETTINGSFILE]
        one TEST.tap per test into DIR (split_tap); prints the tests that
        ran to their verdict (with the settings of SETTINGSFILE, the output
        of 'settings'), which scripts/kut.sh may keep
"""

import os
import re
import sys

LINE = re.compile(r"^(not )?ok \d+ - ([^:\s]+):?\s*(.*?)\s*$")
FLAKY = re.compile(r"^# flaky (\S+) (.*?)\s*$")
RANK = {"pass": 2, "flaky": 2, "known": 2, "skip": 2, "fail": 0, "timeout": -1, "lost": -2, "missing": -2}
# the lines scripts/kut.sh writes for a test no test VM gave a verdict for
LOST = re.compile(r"^(the test VM died in it|not run, |no result )")
# run_tests.sh's verdict for a test it stopped at its timeout (harness/kut_tap.py)
TIMEOUT = re.compile(r"^timeout\b")
# a line of tests/kut-known: TEST[@CONFIG], CHECK ("quoted" or one word), REASON
KNOWN_LINE = re.compile(r'(\S+)\s+(?:"([^"]+)"|([^"\s]\S*))\s+(\S.*)')
# the CHECK of a tests/kut-known line that names TEST's hang, not a check
KNOWN_HANG = "<timeout>"


def known_checks(text):
    """{test: [(check, config or None), ...]} of the text of tests/kut-known:
    lines 'TEST[@CONFIG] CHECK REASON', CHECK the failed check's name (its
    text after any 'prefix: '), in double quotes when it has spaces, for
    CONFIG only when given; lines that start with '#' are comments. CHECK
    <timeout> (KNOWN_HANG) names the test's hang at its timeout instead: a
    hang seen on both kernels, whose end on the base is now a timeout, now
    a failure. A line without a REASON, or with an empty or unclosed quoted
    CHECK, is a ValueError."""
    out = {}
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = KNOWN_LINE.fullmatch(line)
        if not m:
            raise ValueError("line %d: want 'TEST[@CONFIG] CHECK REASON' (CHECK in double quotes if it has"
                             " spaces), got: %s" % (n, line))
        test, at, config = m.group(1).partition("@")
        if not test or at and not config:
            raise ValueError("line %d: want TEST or TEST@CONFIG, got: %s" % (n, m.group(1)))
        out.setdefault(test, []).append((m.group(2) or m.group(3), config or None))
    return out


def is_known(detail, checks, config):
    """Is the failed check DETAIL one of CHECKS (known_checks) in CONFIG?"""
    return any((c is None or c == config) and (detail == k or detail.endswith(": " + k))
               for k, c in checks)


def parse_tap(text, known=None, config=None):
    """{test: (status, detail)} of one TAP file of guest/kut-run.sh; KNOWN,
    the known flaky checks (known_checks) that apply in CONFIG. A timeout
    of a test whose hang KNOWN lists ranks as a failure: its failed checks
    are still compared with the base's."""
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
            status = "lost" if LOST.match(detail) else "fail"
        elif detail.lower().endswith("# skip"):
            status, detail = "skip", detail[:-6].strip()
        else:
            status = "pass"
        lines.setdefault(m.group(2), []).append((status, detail))
    out = {}
    for test, seen in lines.items():
        fails = [d for st, d in seen if st in ("fail", "lost")]
        lost = [d for st, d in seen if st == "lost"]
        timeout = [d for d in fails if TIMEOUT.match(d)]
        if lost:
            out[test] = ("lost", lost[0])
        elif timeout and is_known(KNOWN_HANG, (known or {}).get(test, ()), config):
            out[test] = ("fail", "%d of %d checks failed, then %s, a known hang (tests/kut-known)"
                         % (len(fails) - 1, len(seen), timeout[0]))
        elif timeout:
            out[test] = ("timeout", "%d of %d checks failed, then %s" % (len(fails) - 1, len(seen), timeout[0]))
        elif fails and all(is_known(d, (known or {}).get(test, ()), config) for d in fails):
            out[test] = ("known", "%d of %d checks failed, each a known flaky one (tests/kut-known), first: %s"
                         % (len(fails), len(seen), fails[0]))
        elif fails:
            out[test] = ("fail", "%d of %d checks failed, first: %s" % (len(fails), len(seen), fails[0]))
        elif all(st == "skip" for st, _ in seen):
            out[test] = ("skip", seen[0][1])
        elif test in flaky:
            out[test] = ("flaky", "%d checks, platform signature %s" % (len(seen), flaky[test]))
        else:
            out[test] = ("pass", "%d checks" % len(seen))
    return out


ARG = re.compile(r"^[A-Za-z0-9_*.=+:/-]+$")


def settings(text, test, default):
    """(seconds, [arg...]) of TEST from the text of tests/kut-args.

    Each line is 'TEST SECONDS [args=ARG[,ARG...]] REASON': the timeout
    that fits TCG, extra arguments appended to the test's test_args in
    x86/unittests.cfg (e.g. svm's '-latency_*' to leave out a test of it),
    and why, with the cost measured. A test without a line has DEFAULT
    seconds and no extra arguments. Any malformed line is a ValueError.
    """
    found, seen = None, set()
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
        bad = [a for a in args if not ARG.match(a)]
        if bad:
            raise ValueError("line %d: %s: an ARG is letters, digits and _*.=+:/- only "
                             "(it goes through KUT's eval)" % (n, bad[0]))
        if words[0] in seen:
            raise ValueError("line %d: %s has a line already" % (n, words[0]))
        seen.add(words[0])
        if words[0] == test:
            found = (int(words[1]), args)
    return found if found is not None else (default, [])


START = re.compile(r"^# start (\S+)\s*$")
DONE = re.compile(r"^# done (\S+) seconds=\d+(?: (.*?))?\s*$")
SECONDS = re.compile(r"^# done \S+ seconds=(\d+)")


def done_tail(seconds, args):
    """What guest/kut-run.sh writes after '# done TEST seconds=N' for a test
    run with SECONDS and ARGS (a list)."""
    return "timeout=%ds" % seconds + (" args=" + " ".join(args) if args else "")


def split_tap(text, expect=None):
    """{test: (lines, finished)} of a TAP file of scripts/kut.sh's suite().

    A test's lines run from its '# start TEST' to its '# done TEST' line;
    a result line outside them (a test that never started) is its test's.
    finished: guest/kut-run.sh wrote its '# done TEST seconds=N ...' line,
    i.e. the test ran to its verdict, and (with EXPECT, {test: done_tail})
    with the timeout and arguments expected. A test the VM died in or
    never reached gets its lines from suite() and is not finished; nor is
    one that started twice or has a result line outside its brackets.
    """
    out, current = {}, None
    for line in text.splitlines():
        m = START.match(line)
        if m:
            current = m.group(1)
            lines, _ = out.get(current, ([], None))
            out[current] = (lines + [line], "again" if current in out else "started")
            continue
        if current is not None:
            lines, state = out[current]
            lines.append(line)
            if line == "# done " + current or line.startswith("# done %s " % current):
                m = DONE.match(line)
                fin = (state == "started" and m is not None and m.group(1) == current
                       and (expect is None or expect.get(current) == m.group(2)))
                out[current] = (lines, "finished" if fin else "ended")
                current = None
            continue
        m = LINE.match(line)
        if m:
            lines, _ = out.get(m.group(2), ([], None))
            out[m.group(2)] = (lines + [line], None)
    return {t: (lines, state == "finished") for t, (lines, state) in out.items()}


def load(directory, known=None):
    """{(kernel, config, mode): {test: (status, detail)}} of a results dir
    (KNOWN as for parse_tap)."""
    runs = {}
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".tap") or name.count("@") != 2:
            continue
        kernel, config, mode = name[:-4].split("@")
        with open(os.path.join(directory, name), errors="replace") as f:
            runs[(kernel, config, mode)] = parse_tap(f.read(), known, config)
    return runs


def worse(runs):
    """[(test, config, mode, base status, series status, detail)]: every
    test of either kernel whose result on the series ranks below the
    base's; a test the base has no result for, or lost (its test VM died),
    counts as passed there: only a verdict of the base excuses one."""
    out = []
    for (kernel, config, mode), res in sorted(runs.items()):
        if kernel != "series":
            continue
        base = runs.get(("base", config, "on"))
        if base is None:
            continue
        for test in sorted(set(base) | set(res)):
            bst = base.get(test, ("missing",))[0]
            st, detail = res.get(test, ("missing", "no result on the series"))
            if RANK[st] < (2 if bst in ("missing", "lost") else RANK[bst]):
                out.append((test, config, mode, bst, st, detail))
    return out


def missing(runs):
    """[(KERNEL@CONFIG@MODE, test)]: a test some run of the same
    configuration has a result for and this one does not."""
    out = []
    for key, res in sorted(runs.items()):
        others = set().union(*(r for k, r in runs.items() if k[1] == key[1]))
        out += [("%s@%s@%s" % key, t) for t in sorted(others - set(res))]
    return out


def suite_seconds(directory):
    """{(kernel, config, mode): seconds}: the sum of the tests' own times
    ('# done TEST seconds=N', retries included) of each run in DIRECTORY,
    i.e. a whole suite's time in its test VMs, without their boots."""
    out = {}
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".tap") or name.count("@") != 2:
            continue
        with open(os.path.join(directory, name), errors="replace") as f:
            out[tuple(name[:-4].split("@"))] = sum(int(m.group(1)) for m in map(SECONDS.match, f) if m)
    return out


def table(runs, times=None):
    """Lines: one row per test, one column per (config, kernel/mode); with
    TIMES (suite_seconds()), a last row of each run's seconds."""
    cols = sorted(runs, key=lambda k: (k[1], k[0] != "base", k[2]))
    tests = sorted({t for res in runs.values() for t in res})
    width = max([len("= timeout")] + [len(t) for t in tests]) + 2
    head = ["test".ljust(width)] + ["%-27s" % ("%s %s%s" % (c, k, "" if k == "base" else " " + m))
                                    for k, c, m in cols]
    lines = ["".join(head).rstrip()]
    for t in tests:
        row = [t.ljust(width)] + ["%-27s" % runs[k].get(t, ("-", ""))[0] for k in cols]
        lines.append("".join(row).rstrip())
    for st in ("pass", "flaky", "known", "fail", "timeout", "skip", "lost"):
        row = [("= " + st).ljust(width)] + ["%-27d" % sum(r[0] == st for r in runs[k].values()) for k in cols]
        lines.append("".join(row).rstrip())
    if times is not None:
        row = [("= seconds").ljust(width)] + ["%-27d" % times.get(k, 0) for k in cols]
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
            if st in ("fail", "timeout", "lost") and ("base", config, "on") in runs and (test, config, mode) not in bad:
                st, detail = "skip", "fails on the unpatched base too: " + detail
            elif st == "known":
                st = "skip"
            elif st in ("timeout", "lost"):
                st = "fail"
            lines.append("%s\t%s\t%s" % (st, name, detail))
    return lines


def read_known(path):
    """known_checks of the file PATH; exits with what is wrong in it."""
    if path is None:
        return None
    try:
        with open(path) as f:
            return known_checks(f.read())
    except (OSError, ValueError) as e:
        sys.exit("kut: the known flaky checks (tests/kut-known): %s: %s" % (path, e))


def main(argv):
    if len(argv) in (2, 3) and argv[0] == "report":
        runs = load(argv[1], read_known(argv[2] if len(argv) == 3 else None))
        if not runs:
            sys.exit("kut: no KERNEL@CONFIG@MODE.tap files in %s; run scripts/kut.sh first" % argv[1])
        print("\n".join(table(runs, suite_seconds(argv[1]))))
        empty = ["%s@%s@%s" % k for k, res in sorted(runs.items()) if not res]
        for name in empty:
            print("EMPTY %s.tap: no test reported anything" % name)
        gaps = missing(runs)
        for name, t in gaps:
            print("MISSING %s in %s.tap: another run of its configuration has a result for it" % (t, name))
        bad = worse(runs)
        for t, c, m, b, s, d in bad:
            print("WORSE %s@%s quirk=%s: base %s, series %s (%s)" % (t, c, m, b, s, d))
        print("%d test result(s) worse on the series than on the base" % len(bad))
        return 1 if bad or empty or gaps else 0
    if len(argv) in (3, 4) and argv[0] == "results":
        runs = load(argv[1], read_known(argv[3] if len(argv) == 4 else None))
        with open(argv[2], "w") as f:
            for line in results_lines(runs):
                f.write(line + "\n")
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
    if len(argv) in (3, 4) and argv[0] == "split":
        expect = None
        if len(argv) == 4:
            with open(argv[3]) as f:
                expect = {t: done_tail(int(sec), a.split()) for t, sec, a in
                          (line.rstrip("\n").split("\t") for line in f if line.strip())}
        with open(argv[1], errors="replace") as f:
            parts = split_tap(f.read(), expect)
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
