"""The fail-nth sweep in a test VM (tests/faults/run.sh), and its results.

make check runs it in each debug VM after the selftests (scripts/matrix.py
--faults); make faults boots the debug kernel for it alone
(scripts/faults.sh). Either way vm.py's --fault-injection COMM is on, and
judge() reads what run.sh left in the VM's output directory: faults.tap
(its output), faults.status (its exit status, written when it finished)
and console.log (where it printed '# RUN faults' first). run.sh prints one
line per operation and quirk setting, 'ok 3 MOVE, quirk on: DETAIL', then
'ok kmemleak: DETAIL'; each '[not ]ok [N] WHAT: DETAIL' is the result
'faults WHAT@CONFIG'. Fewer than EXPECTED of them, a splat while the sweep
ran, or run.sh or the VM failing without a failed result, is a failure
named 'faults@CONFIG'.

    python3 -m harness.faults CONFIG OUT_DIR [VM_STATUS]
prints the results lines of one configuration.
"""

import os
import re
import sys

from . import console, ktap

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMM = "memslot_failnth"   # the sweep's task: only its allocations fail
MARK = "faults"            # run.sh's '# RUN faults' on the console: the sweep starts
EXPECTED = 13              # 6 operations x quirk on and off, and kmemleak
COMMAND = "tests/faults/run.sh"
LINE = re.compile(r"^(not )?ok (?:\d+ )?([^:]*): (.*)$")
STACK_LINE = re.compile(r"^\s+\d+\t")


def parse(text, config):
    """[(status, 'faults WHAT@CONFIG', detail)] of the sweep's result lines."""
    out = []
    for line in text.splitlines():
        m = LINE.match(line.rstrip("\r"))
        if m:
            out.append(("fail" if m.group(1) else "pass",
                        "faults %s@%s" % (m.group(2), config), m.group(3)))
    return out


def assertion(text):
    """'FILE:LINE: EXPR: MESSAGE' of the first selftest assertion failure in
    TEXT (test_assert(): the header, where, pid, the stack numbered by
    cat -n, the message), or ''."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if "Test Assertion Failure" in line:
            where = lines[i + 1].strip() if i + 1 < len(lines) else ""
            msg = next((l.strip() for l in lines[i + 3:i + 30]
                        if l.startswith("  ") and not STACK_LINE.match(l)), "")
            return ("%s: %s" % (where, msg) if msg else where)[:200]
    return ""


def results(config, text, status, splat=None, vm_status=0, where="its output"):
    """One configuration's results: the sweep's lines, then what else failed.

    TEXT: run.sh's output; STATUS: its exit status, None when it did not
    finish (or never started); SPLAT: the first line of a kernel splat
    while it ran; VM_STATUS: vm.py's, when the VM ran the sweep alone."""
    res = parse(text, config)
    n = len(res)
    why = []
    if splat:
        why.append("kernel splat while the sweep ran: %s" % splat)
    if status is None:
        why.append("%s did not run to its end (the VM died or timed out first)" % COMMAND)
    elif status != 0:
        why.append("%s exited %d" % (COMMAND, status))
    if vm_status:
        why.append("vm.py exit %d (124 timeout, 125 guest died, 126 kernel splat)" % vm_status)
    if why and (splat or not any(st == "fail" for st, _, _ in res)):
        res.append(("fail", "faults@%s" % config, "%s; see %s" % ("; ".join(why), where)))
    if n < EXPECTED:
        res.append(("fail", "faults@%s" % config, "%d of %d results (12 sweeps and kmemleak): %s; see %s"
                    % (n, EXPECTED, assertion(text) or "no assertion failure", where)))
    return res


def judge(config, out, vm_status=0):
    """results() of the sweep that ran in a test VM whose output is in OUT."""
    text = ktap.read(os.path.join(out, "faults.tap"))
    try:
        with open(os.path.join(out, "faults.status")) as f:
            status = int(f.read())
    except (OSError, ValueError):
        status = None
    blamed = console.blame_file(os.path.join(out, "console.log"), (MARK, COMM))
    where = os.path.relpath(out, TOP) + "/ (faults.tap, console.log)"
    return results(config, text, status, blamed.get(MARK), vm_status, where)


def lines(res):
    """The results file's lines (harness.results) of [(status, name, detail)]."""
    return "".join("%s\t%s\t%s\n" % r for r in res)


def main(argv):
    if len(argv) not in (2, 3) or (len(argv) == 3 and not argv[2].isdigit()):
        sys.exit("usage: python3 -m harness.faults CONFIG OUT_DIR [VM_STATUS]")
    sys.stdout.write(lines(judge(argv[0], argv[1], int(argv[2]) if len(argv) == 3 else 0)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
