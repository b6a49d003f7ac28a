#!/usr/bin/env python3
"""How long x2apic's TMCCT check took, from docs/repro/kut-tmcct-window.sh.

  docs/repro/kut-tmcct-window.py DIR...

In kvm-unit-tests' test_apic_change_mode, the guest reads TMCCT until it
is at most half of TMICT (one-shot), switches LVTT to periodic, reads TMCCT
(must be non-zero), prints that check's PASS line on the serial port, and
reads TMCCT again: "TMCCT should not be reset to TMICT value" wants that
last value below TMICT/2. The timer reaches 0 'left' after the last read
before the switch and then reloads TMICT every period P (TMICT ns); the
checked read comes 'took' after that read. So the check passes if took <
left, or if the phase of took - left in P, ((took - left) mod P) / P, is
over 0.5 (the counter is back below TMICT/2). Per run (DIR/kut-tmcct/
*.trace, kvm_msr events of TMCCT 0x839 and LVTT 0x832), prints left,
took, that phase ('-' when took < left), the checked value and the TAP's
verdict on the check.
"""
import glob
import os
import re
import sys

TMICT = 0x999999        # test_apic_change_mode's initial count (1 ns a count in KVM)
PERIODIC = 1 << 17      # LVTT timer mode: periodic
TMCCT, LVTT = 0x839, 0x832
# "qemu-system-x86-1234 [001] d..1.  123.456789: kvm_msr: msr_read 839 = 0x4c4b40"
EVENT = re.compile(r"\s([\d.]+): kvm_msr: msr_(read|write) ([0-9a-f]+) = 0x([0-9a-f]+)")


def events(lines):
    """[(seconds, 'read'|'write', msr, value)] of the trace's kvm_msr lines."""
    out = []
    for line in lines:
        m = EVENT.search(line)
        if m:
            out.append((float(m.group(1)), m.group(2), int(m.group(3), 16), int(m.group(4), 16)))
    return out


def windows(evs):
    """Each switch to periodic made with the timer between 0 and TMICT/2:
    (left_ns, took_ns, checked value); None for took/value when the trace
    ends before the checked read."""
    out = []
    last = None                     # the last TMCCT read: (time, value)
    for i, (t, rw, msr, val) in enumerate(evs):
        if msr == TMCCT and rw == "read":
            last = (t, val)
        elif msr == LVTT and rw == "write" and val & PERIODIC and last and 0 < last[1] <= TMICT // 2:
            reads = [(t2, v2) for t2, rw2, m2, v2 in evs[i + 1:] if m2 == TMCCT and rw2 == "read"][:2]
            if len(reads) < 2:
                out.append((last[1], None, None))
            else:
                out.append((last[1], round((reads[1][0] - last[0]) * 1e9), reads[1][1]))
            last = None
    return out


def phase(left, took):
    """'%.2f' of ((took - left) mod TMICT) / TMICT, '-' if took < left."""
    return "-" if took < left else "%.2f" % ((took - left) % TMICT / TMICT)


def tap_verdict(tap):
    """'pass' or 'fail' as the TAP has the check, 'absent' (the guest died
    before it) or 'no TAP'."""
    try:
        with open(tap, errors="replace") as f:
            lines = [l for l in f if l.rstrip().endswith(": TMCCT should not be reset to TMICT value")]
    except OSError:
        return "no TAP"
    if not lines:
        return "absent"
    return "fail" if lines[0].startswith("not ok") else "pass"


def report(dirs):
    lines = ["%-32s %9s %9s %6s %10s %s" % ("run", "left ms", "took ms", "phase", "checked", "TAP")]
    for d in dirs:
        traces = sorted(glob.glob(os.path.join(d, "kut-tmcct", "*.trace")))
        if not traces:
            sys.exit("kut-tmcct-window: no kut-tmcct/*.trace under %s: give the --out directory"
                     " of a test VM that ran docs/repro/kut-tmcct-window.sh" % d)
        for trace in traces:
            with open(trace, errors="replace") as f:
                found = windows(events(f))
            tap = trace[:-len(".trace")] + ".tap"
            verdict = tap_verdict(tap)
            name = os.path.join(os.path.basename(os.path.normpath(d)), os.path.basename(trace))
            if not found:
                lines.append("%-32s no switch to periodic in the trace" % name)
            for left, took, val in found:
                if took is None:
                    lines.append("%-32s %9.3f %9s %6s %10s %s" % (name, left / 1e6, "-", "-", "-", verdict))
                else:
                    lines.append("%-32s %9.3f %9.3f %6s %#10x %s"
                                 % (name, left / 1e6, took / 1e6, phase(left, took), val, verdict))
    return lines


def main(argv):
    if not argv:
        sys.exit(__doc__)
    print("\n".join(report(argv)))


if __name__ == "__main__":
    main(sys.argv[1:])
