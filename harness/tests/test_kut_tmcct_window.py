import importlib.util
import os
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_spec = importlib.util.spec_from_file_location("kut_tmcct_window",
                                               os.path.join(TOP, "docs/repro/kut-tmcct-window.py"))
ktw = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ktw)


def ev(t, rw, msr, val):
    return ("  qemu-system-x86-4242    [001] d..1.  %.6f: kvm_msr: msr_%s %x = 0x%x" % (t, rw, msr, val))


# The first switch to periodic (no TMCCT read before it), then the one the
# check is about: reads down to half, LVTT read/write/read, the non-zero
# read, the checked read; then the last switch, made with TMCCT at 0.
TRACE = [
    "# tracer: nop",
    ev(10.000000, "write", 0x832, 0x20000),
    ev(10.000100, "read", 0x839, 0x900000),
    ev(10.004000, "read", 0x839, 0x4c0000),        # <= TMICT/2: 4.98 ms left
    ev(10.004040, "read", 0x832, 0x00000),
    ev(10.004080, "write", 0x832, 0x20000),
    ev(10.004120, "read", 0x832, 0x20000),
    ev(10.004160, "read", 0x839, 0x4b0000),
    ev(10.008000, "read", 0x839, 0x080000),        # the checked read, 4.0 ms later
    ev(10.020000, "read", 0x839, 0x0),
    ev(10.020040, "write", 0x832, 0x20000),
    ev(10.020080, "read", 0x839, 0x0),
    ev(10.020120, "read", 0x839, 0x0),
]


class TmcctWindow(unittest.TestCase):
    def test_events_parse_reads_and_writes(self):
        evs = ktw.events(TRACE)
        self.assertEqual(len(evs), 12)
        self.assertEqual(evs[0], (10.0, "write", 0x832, 0x20000))

    def test_only_the_switch_made_at_half_is_a_window(self):
        (left, took, val), = ktw.windows(ktw.events(TRACE))
        self.assertEqual(left, 0x4c0000)
        self.assertEqual(took, 4000000)
        self.assertEqual(val, 0x080000)

    def test_a_trace_cut_before_the_checked_read(self):
        self.assertEqual(ktw.windows(ktw.events(TRACE[:8])), [(0x4c0000, None, None)])

    def test_report_margin_and_the_taps_verdict(self):
        with tempfile.TemporaryDirectory() as top:
            d = os.path.join(top, "tmcct-series", "kut-tmcct")
            os.makedirs(d)
            with open(os.path.join(d, "x2apic-on-1.trace"), "w") as f:
                f.write("\n".join(TRACE) + "\n")
            with open(os.path.join(d, "x2apic-on-1.tap"), "w") as f:
                f.write("ok 40 - x2apic: TMCCT should have a non-zero value\n"
                        "not ok 41 - x2apic: TMCCT should not be reset to TMICT value\n")
            lines = ktw.report([os.path.join(top, "tmcct-series")])
        self.assertEqual(lines[1].split(), ["tmcct-series/x2apic-on-1.trace", "4.981", "4.000",
                                            "-", "0x80000", "fail"])

    def test_phase_in_the_period_after_the_timer_reached_zero(self):
        self.assertEqual(ktw.phase(5000000, 4000000), "-")
        self.assertEqual(ktw.phase(5000000, 5000000 + ktw.TMICT // 4), "0.25")
        # 1.5 periods on: past the first reload, the counter below half again
        self.assertEqual(ktw.phase(5000000, 5000000 + ktw.TMICT * 3 // 2), "0.50")

    def test_tap_verdict(self):
        with tempfile.TemporaryDirectory() as top:
            tap = os.path.join(top, "t.tap")
            self.assertEqual(ktw.tap_verdict(tap), "no TAP")
            for text, want in (("ok 41 - x2apic: TMCCT should not be reset to TMICT value\n", "pass"),
                               ("not ok 41 - x2apic: TMCCT should not be reset to TMICT value\n", "fail"),
                               ("ok 40 - x2apic: TMCCT should have a non-zero value\n", "absent")):
                with open(tap, "w") as f:
                    f.write(text)
                self.assertEqual(ktw.tap_verdict(tap), want)

    def test_a_dir_without_traces_says_what_to_give(self):
        with tempfile.TemporaryDirectory() as top:
            with self.assertRaises(SystemExit) as e:
                ktw.report([top])
        self.assertIn("--out directory", str(e.exception.code))


if __name__ == "__main__":
    unittest.main()
