"""The one parser of the KTAP that guest/run-selftests.sh prints.

    ok 3 memslot_zap_test # time=4.2s
    ok 4 debug_regs # SKIP TCG's SVM does not deliver the #BP intercept
    ok 5 memslot_torture_test # time=90.1s flaky=l1-state-in-l2 (run 2 of 2 ...)
    not ok 6 smm_test # exit=1 time=3.0s

Statuses: pass, fail, skip, and flaky (passed on its second run after the
first failed with a matched platform signature, see retry.py).
"""

import re

LINE = re.compile(r"^(not )?ok \d+ (\S+)(?: # (.*))?$")
FLAKY = re.compile(r"\bflaky=(\S+)")


def parse_line(line):
    """(test, status, detail) for a result line, else None."""
    m = LINE.match(line.rstrip("\r\n"))
    if not m:
        return None
    detail = m.group(3) or ""
    if m.group(1):
        return m.group(2), "fail", detail
    if detail.startswith("SKIP"):
        return m.group(2), "skip", detail[4:].strip()
    if FLAKY.search(detail):
        return m.group(2), "flaky", detail
    return m.group(2), "pass", detail


def parse(text):
    """test -> (status, detail), in the order of the output."""
    results = {}
    for line in text.splitlines():
        r = parse_line(line)
        if r:
            results[r[0]] = (r[1], r[2])
    return results


def planned(text):
    """The tests the runner announced ('# tests: a b c'), or None."""
    m = re.search(r"^# tests: (.*)$", text, re.M)
    return m.group(1).split() if m else None


def read(path):
    """The text of a KTAP file, '' when there is none; bytes never fail."""
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""
