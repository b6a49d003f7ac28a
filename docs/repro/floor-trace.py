#!/usr/bin/env python3
"""Per memslot ioctl in docs/repro/floor-trace.sh's trace: where its time went.

  docs/repro/floor-trace.py [-v] TRACE...

Groups the KVM_SET_USER_MEMORY_REGION calls of each trace by the sequence
of traced functions they went through (a CREATE, a DELETE and a MOVE each
have their own) and prints, per group, the median time of the whole ioctl
and of each step, in microseconds (VM ioctls without any of those steps
are left out). -v lists, for every SRCU grace period
over 1 ms, the events on all CPUs while it waited.
"""
import re
import statistics
import sys

# "  12.345678 |   0)   comm-pid   |  dur us  |  text"  (funcgraph-abstime, -proc)
LINE = re.compile(r"^\s*([\d.]+) \|\s+(\d+)\)\s+(\S+)-(\d+)\s+\|"
                  r"\s+(?:[!#*@$+ ]*\s*([\d.]+) us\s+)?\|\s+(.*)$")
SHORT = {"kvm_arch_prepare_memory_region": "prepare", "synchronize_srcu_expedited": "srcu",
         "kvm_arch_flush_shadow_memslot": "flush", "kvm_arch_commit_memory_region": "commit",
         "kvm_arch_free_memslot": "free"}


def ioctls(lines):
    """[(start, end, [(step, start, end)]), ...] per kvm_vm_ioctl, and the
    events [(time, cpu, task, text)]."""
    stacks, open_ioctl, done, events = {}, {}, [], []
    for line in lines:
        m = LINE.match(line)
        if not m:
            continue
        t, cpu, comm, pid, dur, text = (float(m[1]), int(m[2]), m[3], int(m[4]),
                                        m[5], m[6].strip())
        if text.startswith("/*"):
            events.append((t, cpu, "%s-%d" % (comm, pid), text))
            continue
        stack = stacks.setdefault(pid, [])
        if text.endswith("() {"):
            stack.append((text[:-4], t))
            if text == "kvm_vm_ioctl() {":
                open_ioctl[pid] = (t, [])
        elif text.startswith("}") and stack:
            fn, start = stack.pop()
            if fn == "kvm_vm_ioctl" and pid in open_ioctl:
                done.append((open_ioctl[pid][0], t, open_ioctl.pop(pid)[1]))
            elif pid in open_ioctl and fn in SHORT:
                open_ioctl[pid][1].append((SHORT[fn], start, t))
        elif text.endswith("();") and pid in open_ioctl and text[:-3] in SHORT:
            # a leaf's line carries the time the function was entered
            d = float(dur or 0) / 1e6
            open_ioctl[pid][1].append((SHORT[text[:-3]], t, t + d))
    return done, events


def groups(calls):
    """{(step, ...): [(total_us, [step_us, ...]), ...]} by step sequence."""
    out = {}
    for start, end, steps in calls:
        if not steps:
            continue     # another VM ioctl, not a memslot update
        key = tuple(s for s, a, b in steps)
        out.setdefault(key, []).append(((end - start) * 1e6, [(b - a) * 1e6 for s, a, b in steps]))
    return out


def report(path, verbose):
    with open(path, errors="replace") as f:
        calls, events = ioctls(f)
    print("== %s: %d ioctls" % (path, len(calls)))
    for key, rows in sorted(groups(calls).items(), key=lambda kv: -len(kv[1])):
        steps = ["%s %.0f" % (s, statistics.median(r[1][i] for r in rows))
                 for i, s in enumerate(key)]
        print("  %3d x  total %.0f  (%s)" % (len(rows), statistics.median(r[0] for r in rows),
                                            ", ".join(steps)))
    if verbose:
        for start, end, steps in calls:
            for s, a, b in steps:
                if s == "srcu" and (b - a) > 1e-3:
                    print("  a grace period of %.0f us:" % ((b - a) * 1e6))
                    for t, cpu, task, text in events:
                        if a <= t <= b:
                            print("    +%6.0f cpu%d %-16s %s" % ((t - a) * 1e6, cpu, task, text[:100]))


def main(argv):
    verbose = "-v" in argv
    paths = [a for a in argv if a != "-v"]
    if not paths:
        sys.exit(__doc__)
    for p in paths:
        report(p, verbose)


if __name__ == "__main__":
    main(sys.argv[1:])
