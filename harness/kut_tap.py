"""The TAP of one kvm-unit-tests test, made in the test VM.

guest/kut-run.sh runs each test with run_tests.sh (without -t) and calls

    python3 -m harness.kut_tap TEST LOG STATUSFILE

for its TAP lines (tap_of): LOG is the test's logs/TEST.log, STATUSFILE
what run_tests.sh printed. This module is all of the harness that runs in
the test VM, so make kut keys its kept results on it (and on the runner);
harness/kut.py reads the TAP and compares the kernels.
"""

import re
import sys

# a check; KUT's report_abort() prints ABORT: and its summary, then stops
CHECK = re.compile(r"^(PASS|FAIL|SKIP|ABORT):\s*(.*?)\s*$")
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
# KUT's report_summary(), as run_tests.sh passes it on (without SUMMARY:)
SUMMARY = re.compile(r"^\d+ tests(, (\d+) unexpected failures)?(, \d+ [a-z ]+)*$")
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
            if kind == "ABORT":
                out.append((False, "aborted: " + text))
            else:
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
        fails = sum(not ok for ok, _ in out)
        summed = SUMMARY.match(reason)
        if verdict == "FAIL" and (abort or not fails):
            out.append((False, reason if abort else
                        "failed with no FAIL line (%s; a guest shutdown or a non-zero exit, "
                        "see the log)" % (reason or "no summary")))
        elif verdict == "FAIL" and (not summed or int(summed.group(2) or 0) != fails):
            # the FAIL lines are not all of it: a guest that crashed
            # after them (no summary), or failures without a FAIL line
            out.append((False, "failed with %d FAIL line(s) and %s (a guest crash or a non-zero "
                               "exit after them, see the log)" % (fails, reason or "no summary")))
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


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    texts = []
    for path in argv[1:]:
        try:
            with open(path, errors="replace") as f:
                texts.append(f.read())
        except FileNotFoundError:
            texts.append("")
    print("\n".join(tap_of(argv[0], *texts)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
