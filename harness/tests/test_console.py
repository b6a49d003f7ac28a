import unittest

from harness import console
from harness.tests.common import data


class Splats(unittest.TestCase):
    def test_splat_mid_test_is_blamed_on_that_test(self):
        blamed = console.blame(console.read(data("console-splat-mid-test.log")))
        self.assertEqual(list(blamed), ["smm_test"])
        self.assertIn("kvm_multiple_exception", blamed["smm_test"])

    def test_test_output_is_not_a_splat(self):
        lines = console.read(data("console-splat-mid-test.log"))
        starts = [lines[i] for i, _ in console.find_splats(lines)]
        self.assertEqual(len(starts), 1)
        self.assertTrue(starts[0].startswith("[   19.204512] WARNING"))

    def test_splat_before_any_test_is_the_boots(self):
        blamed = console.blame(console.read(data("console-splat-at-boot.log")))
        self.assertEqual(list(blamed), ["boot"])
        self.assertIn("NULL pointer", blamed["boot"])

    def test_a_splat_names_its_callers(self):
        # a failure line is all CI's log keeps: the callers, innermost first,
        # without the "?" frames (stale stack words) and the report's own
        blamed = console.blame(console.read(data("console-kasan-at-boot.log")))
        self.assertEqual(blamed["boot"], (
            "[    1.246214] BUG: KASAN: wild-memory-access in do_raw_spin_lock+0x12d/0x1dc "
            "(called from: do_raw_spin_lock < _raw_spin_lock < some_init_function < "
            "kernel_init_freeable < kernel_init < ret_from_fork)"))

    def test_callers_stop_at_the_end_of_the_stack_and_at_their_limit(self):
        trace = ["[ 1.0] Call Trace:", "[ 1.0]  <TASK>"] + [
            "[ 1.0]  f%d+0x1/0x2" % n for n in range(20)] + ["[ 1.0]  </TASK>"]
        self.assertEqual(console.callers(trace), ["f%d" % n for n in range(console.TRACE_FRAMES)])
        self.assertEqual(console.callers(trace[:4] + trace[-1:] + ["[ 1.0]  g+0x1/0x2"]),
                         ["f0", "f1"])
        self.assertEqual(console.callers(["[ 1.0] WARNING: at x", "[ 1.0]  f+0x1/0x2"]), [])

    def test_console_without_time_stamps_cannot_pass(self):
        lines = console.read(data("console-no-timestamps.log"))
        with self.assertRaises(console.Unjudgeable):
            console.check(lines)
        self.assertEqual(list(console.blame_file(data("console-no-timestamps.log"))), ["boot"])

    def test_missing_console_blames_the_boot(self):
        self.assertIn("no console log", console.blame_file(data("nonexistent.log"))["boot"])

    def test_kmemleak_report_is_a_splat(self):
        lines = ["[    1.0] Linux version 6.1.192", "# RUN memslot_zap_test",
                 "[  300.5] kmemleak: 3 new suspected memory leaks (see /sys/kernel/debug/kmemleak)"]
        self.assertEqual(list(console.blame(lines)), ["memslot_zap_test"])

    def test_alloc_failure_is_a_splat_by_default(self):
        lines = console.read(data("console-alloc-failure.log"))
        self.assertEqual(len(console.check(lines)), 1)

    def test_alloc_failure_of_the_injected_task_is_allowed(self):
        lines = console.read(data("console-alloc-failure.log"))
        self.assertEqual(console.check(lines, fault_injection="memslot_failnth"), [])

    def test_alloc_failure_of_another_task_still_counts(self):
        lines = console.read(data("console-alloc-failure.log"))
        self.assertEqual(len(console.check(lines, fault_injection="qemu-system-x86")), 1)

    def test_splat_after_an_allowed_alloc_failure_still_counts(self):
        lines = console.read(data("console-alloc-failure.log"))
        end = next(i for i, l in enumerate(lines) if "</TASK>" in l)
        lines[end + 1:end + 1] = ["[  148.000001] WARNING: CPU: 1 PID: 70 at arch/x86/kvm/mmu/mmu.c:6040"]
        splats = console.check(lines, fault_injection="memslot_failnth")
        self.assertEqual([s[0] for s in splats], [end + 1])

    def test_splat_inside_an_alloc_failure_stack_still_counts(self):
        lines = console.read(data("console-alloc-failure.log"))
        trace = next(i for i, l in enumerate(lines) if "Call Trace:" in l)
        lines[trace + 8:trace + 8] = ["[  147.951681] BUG: KASAN: use-after-free in kvm_set_memslot+0x6fa/0x9bc"]
        self.assertEqual(len(console.check(lines, fault_injection="memslot_failnth")), 1)

    def test_kmemleak_is_left_to_the_test_under_fault_injection(self):
        lines = ["[    1.0] Linux version 6.1.192",
                 "[  300.5] kmemleak: 3 new suspected memory leaks (see /sys/kernel/debug/kmemleak)"]
        self.assertEqual(console.check(lines, fault_injection="memslot_failnth"), [])

    def test_other_splat_with_a_stack_is_not_an_alloc_failure(self):
        lines = console.read(data("console-splat-mid-test.log"))
        self.assertEqual(len(console.check(lines, fault_injection="smm_test")),
                         len(console.check(lines)))

    def test_clean_console(self):
        lines = ["[    0.000000] Linux version 6.1.192", "# RUN a", "ok 1 a"]
        self.assertEqual(console.blame(lines), {})


if __name__ == "__main__":
    unittest.main()
