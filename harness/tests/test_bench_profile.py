import importlib.util
import os
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_spec = importlib.util.spec_from_file_location(
    "bench_profile", os.path.join(TOP, "scripts/bench-profile.py"))
bp = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bp)

def stat_line(name, hits, total, avg):
    """One row as 6.1's function_stat_show() prints it."""
    return "  %-30.30s  %10lu    %s    %s    %s\n" % (name, hits, total, avg, "12.5 us")


# two CPUs' trace_stat/function* files, in the kernel's layout
HEAD = ("  Function                               Hit    Time            Avg             s^2\n"
        "  --------                               ---    ----            ---             ---\n")
STAT = (HEAD + stat_line("kvm_set_memslot", 200, "60000.00 us", "300.000 us")
        + stat_line("synchronize_srcu_expedited", 300, "30000.50 us", "100.001 us")
        + stat_line("kvm_mmu_zap_memslot_pages_and_flush", 2, "1234567 us", "617283.5 us")
        + HEAD + stat_line("kvm_set_memslot", 100, "36000.00 us", "360.000 us"))


class ParseStat(unittest.TestCase):
    def test_summed_over_cpus(self):
        got = bp.parse_stat(STAT)
        self.assertEqual(got["kvm_set_memslot"], (300, 96000.0))
        self.assertEqual(got["synchronize_srcu_expedited"], (300, 30000.5))
        # a name cut to 30 characters is the FUNCTIONS entry it begins;
        # from 1 s up the total has no decimals
        self.assertEqual(got["kvm_mmu_zap_memslot_pages_and_flush"], (2, 1234567.0))
        self.assertEqual(len(got), 3)

    def test_rounds_are_the_deletes(self):
        log = ("first touch of 64 MiB by 1 vCPU(s): 3 ms\n"
               "result op=none rep=0 ioctl_ns=0\nresult op=delete rep=0 ioctl_ns=5\n"
               "result op=move rep=0 ioctl_ns=5\nresult op=delete rep=1 ioctl_ns=5\n")
        self.assertEqual(bp.rounds_of(log), 2)


class Table(unittest.TestCase):
    def test_means_calls_per_round_and_ratio(self):
        ours = {"kvm_set_memslot": (300, 96000.0), "kvm_page_track_delete_slot": (200, 100.0)}
        theirs = {"kvm_set_memslot": (300, 80000.0)}
        rows = bp.table("svm-tdp-mmu", ours, theirs, 100)
        self.assertEqual(rows[0], "### svm-tdp-mmu (100 rounds)")
        self.assertIn("| kvm_set_memslot | 3.00 | 320.0 | 3.00 | 266.7 | 1.20 |", rows)
        # a function only one kernel has gets no ratio; ordered by time
        self.assertEqual(rows[-1], "| kvm_page_track_delete_slot | 2.00 | 0.5 | - | - | - |")


if __name__ == "__main__":
    unittest.main()
