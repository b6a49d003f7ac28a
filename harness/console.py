"""Kernel splats on a test VM's serial console, and which test caused them.

The console carries the kernel's messages and the command's own output.
A kernel message is recognised by its printk time stamp ("[   12.345678] "),
so a test printing "WARNING:" is not a splat. vm.py boots every kernel with
printk.time=1; a console with no time-stamped line at all cannot be judged,
and check() says so instead of reporting it clean.
"""

import re
import sys

STAMP = re.compile(r"\[\s*\d+\.\d+\] ")
SPLAT = re.compile(
    r"\[\s*\d+\.\d+\] .*("
    r"BUG:|WARNING:|Oops|general protection fault|KASAN:|UBSAN:|"
    r"Kernel panic|kernel BUG at|possible circular locking|"
    r"possible recursive locking|inconsistent lock state|"
    r"suspicious RCU usage|INFO: .*(lock|RCU|rcu)|rcu: INFO|"
    r"self-detected stall|detected stalls on CPUs|hung_task|"
    r"blocked for more than|list_add corruption|list_del corruption|"
    r"Call Trace:|double fault|unable to handle kernel|"
    r"stack-protector|refcount_t:|BUG kmalloc|Unable to handle|"
    r"kmemleak: \d+ new suspected memory leaks"
    r")"
)
# the end of a report: a WARN's or an oops' trace, a panic, and KASAN's and
# UBSAN's closing rule of '=' (their opening one comes before the first line)
SPLAT_END = re.compile(r"---\[ end trace|---\[ end Kernel panic|\] ={20,}$")
# Under fault injection (make faults) allocations fail on purpose, and the
# test scans kmemleak itself and judges what it finds; find_splats(
# fault_injection=COMM) then skips, and only skips: a failed allocation's
# report (warn_alloc(): a header, a stack, Mem-Info) of task COMM, whose
# header names the failure and COMM, whose stack starts in warn_alloc and
# ends before any other splat line (what follows it is judged again); and
# kmemleak's "new suspected memory leaks" line. When the injection is one
# test among others in a VM (the sweep after the debug selftests),
# blame(injected=(TEST, COMM)) confines that allowance to TEST's lines.
ALLOC_FAILURE = r"\[\s*\d+\.\d+\] %s: (page allocation failure: |vmalloc error: )"
WARN_ALLOC = re.compile(r"\[\s*\d+\.\d+\]\s+warn_alloc\+")
STACK_END = re.compile(r"\[\s*\d+\.\d+\]\s+</TASK>")
KMEMLEAK = re.compile(r"kmemleak: \d+ new suspected memory leaks")
RUN_MARK = re.compile(r"# RUN (\S+)")
# a stack frame of a Call Trace: "[  1.2] do_raw_spin_lock+0x12d/0x1dc";
# "? name+off/len" frames are stale stack words, not callers
FRAME = re.compile(r"\[\s*\d+\.\d+\]\s+([A-Za-z_][\w.]*)\+0x[0-9a-f]+/0x[0-9a-f]+")
TRACE_FRAMES = 8
# the functions that print a report, not the ones that called for it
REPORTING = re.compile(r"dump_stack(_lvl)?|print_report|kasan_report|kasan_check_range|"
                       r"__asan_(load|store)\w*|__warn|report_bug|handle_bug|"
                       r"exc_invalid_op|asm_exc_invalid_op|panic")


class Unjudgeable(Exception):
    """The console holds no kernel message with a time stamp."""


def alloc_failure_end(lines, i, comm):
    """If lines[i] is the Call Trace of a warn_alloc() report of task COMM,
    the index after its stack; else None."""
    header = re.compile(ALLOC_FAILURE % re.escape(comm))
    if "Call Trace:" not in lines[i] or \
            not any(header.search(l) for l in lines[max(0, i - 4):i]) or \
            not any(WARN_ALLOC.search(l) for l in lines[i + 1:i + 6]):
        return None
    for end in range(i + 1, min(len(lines), i + 80)):
        if STACK_END.search(lines[end]):
            return end + 1
        if SPLAT.search(lines[end]):
            return None
    return None


def find_splats(lines, fault_injection=None, within=None):
    """The splats in LINES as (index of the first line, its lines).

    fault_injection: the command name (comm) of the task whose allocations
    fail on purpose; its allocation-failure reports and kmemleak's count
    line are not splats (see ALLOC_FAILURE). within: (first, end), the
    indices of the lines that allowance holds for (default: all)."""
    splats, i = [], 0
    first, last = within or (0, len(lines))
    while i < len(lines):
        allowed = fault_injection if first <= i < last else None
        end = allowed and alloc_failure_end(lines, i, allowed)
        if end:
            i = end
        elif allowed and KMEMLEAK.search(lines[i]):
            i += 1
        elif SPLAT.search(lines[i]):
            end = i + 1
            while end < len(lines) and end < i + 60:
                end += 1
                if SPLAT_END.search(lines[end - 1]):
                    break
            splats.append((i, lines[max(0, i - 2):end]))
            i = end
        else:
            i += 1
    return splats


def check(lines, fault_injection=None, within=None):
    """find_splats(), refusing a console that printed no time stamp."""
    if lines and not any(STAMP.search(l) for l in lines):
        raise Unjudgeable("no kernel message with a printk time stamp on the "
                          "console: boot with printk.time=1 (vm.py does)")
    return find_splats(lines, fault_injection, within)


def callers(splat):
    """The first TRACE_FRAMES functions of the first Call Trace in SPLAT's
    lines, innermost first, less the REPORTING ones: what a failure line
    needs to say where a splat came from when only the end of a log is
    kept."""
    try:
        start = next(i for i, l in enumerate(splat) if "Call Trace:" in l)
    except StopIteration:
        return []
    frames = []
    for line in splat[start + 1:]:
        if STACK_END.search(line) or len(frames) == TRACE_FRAMES:
            break
        m = FRAME.search(line)
        if m and not REPORTING.fullmatch(m.group(1)):
            frames.append(m.group(1))
    return frames


def summary(lines, index, splat):
    """A splat in one line: its first line, and its callers when it has a
    Call Trace."""
    frames = callers(splat)
    first = lines[index].strip()
    return first + (" (called from: %s)" % " < ".join(frames) if frames else "")


def running(lines, test):
    """(first, end): the indices of the lines from TEST's '# RUN TEST' to the
    next '# RUN', (0, 0) when it never started."""
    marks = [(i, m.group(1)) for i, m in enumerate(map(RUN_MARK.search, lines)) if m]
    first = next((i for i, t in marks if t == test), None)
    if first is None:
        return 0, 0
    return first, next((i for i, _ in marks if i > first), len(lines))


def blame(lines, injected=None):
    """test (or 'boot') -> the first line of the first splat it caused.

    A splat belongs to the last test the runner announced with '# RUN NAME'
    before it; before any, to the boot. injected: (TEST, COMM), while TEST
    runs the allocations of task COMM fail on purpose (find_splats'
    fault_injection, for TEST's lines only).
    """
    blamed, comm, within = {}, None, None
    if injected:
        comm, within = injected[1], running(lines, injected[0])
    for index, splat in check(lines, comm, within):
        test = "boot"
        for line in reversed(lines[:index]):
            m = RUN_MARK.search(line)
            if m:
                test = m.group(1)
                break
        blamed.setdefault(test, summary(lines, index, splat))
    return blamed


def read(path):
    """The lines of a console log, whatever bytes it holds."""
    with open(path, errors="replace") as f:
        return f.read().splitlines()


def blame_file(path, injected=None):
    """blame() of a console log; a missing or unjudgeable one blames 'boot'."""
    try:
        return blame(read(path), injected)
    except FileNotFoundError:
        return {"boot": "no console log at %s" % path}
    except Unjudgeable as e:
        return {"boot": "console cannot be judged: %s" % e}


def main(argv):
    """python3 -m harness.console CONSOLE.LOG: exit 0 when the console is
    clean, 1 (naming the first line of each splat) when it is not or
    cannot be judged."""
    if len(argv) != 1:
        sys.exit("usage: python3 -m harness.console CONSOLE.LOG")
    try:
        lines = read(argv[0])
        splats = check(lines)
    except (OSError, Unjudgeable) as e:
        print("console: %s: %s" % (argv[0], e))
        return 1
    for index, splat in splats:
        print("console: %s: a splat: %s" % (argv[0], summary(lines, index, splat)))
    return 1 if splats else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
