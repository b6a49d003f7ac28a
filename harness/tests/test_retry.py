import os
import tempfile
import unittest

from harness import retry
from harness.tests.common import text


def policy(body):
    fd, path = tempfile.mkstemp()
    with os.fdopen(fd, "w") as f:
        f.write(body)
    try:
        return retry.load(path)
    finally:
        os.unlink(path)


class RealPolicy(unittest.TestCase):
    def setUp(self):
        self.pol = retry.load()
        self.sysmap = text("System.map")

    def decide(self, log, test="memslot_torture_test", config="svm-tdp-mmu", sysmap=None, run=1,
               seen=()):
        return retry.decide(self.pol, test, config, text(log),
                            self.sysmap if sysmap is None else sysmap, run, seen)

    def test_debian_vm_stuck_in_int3_is_retried_once(self):
        ok, sid, _ = self.decide("debian-int3-hang.log", test="debian-modules-vm", config="all")
        self.assertTrue(ok)
        self.assertEqual(sid, "int3-livepatch")
        self.assertFalse(self.decide("debian-int3-hang.log", test="debian-modules-vm", config="all",
                                     run=2, seen=("int3-livepatch",))[0])

    def test_int3_signature_is_not_a_selftest_retry(self):
        self.assertFalse(self.decide("debian-int3-hang.log", test="memslot_zap_test")[0])

    def test_l1_state_signature_is_retried(self):
        ok, sid, _ = self.decide("torture-l1-state.log")
        self.assertTrue(ok)
        self.assertEqual(sid, "l1-state-in-l2")

    def test_l1_state_needs_the_address_in_the_symbol(self):
        moved = "ffffffff81000000 T __svm_vcpu_run\nffffffff81000100 T next\n"
        self.assertFalse(self.decide("torture-l1-state.log", sysmap=moved)[0])

    def test_l1_state_without_system_map_is_not_retried(self):
        self.assertFalse(self.decide("torture-l1-state.log", sysmap="")[0])

    def test_series_assertion_is_never_retried(self):
        ok, _, why = self.decide("torture-violation.log")
        self.assertFalse(ok)
        self.assertIn("series assertion", why)

    def test_unmatched_failure_is_not_retried(self):
        ok, _, why = retry.decide(self.pol, "memslot_zap_test", "svm-shadow",
                                  "==== Test Assertion Failure ====\nexit=254\n", self.sysmap)
        self.assertFalse(ok)
        self.assertEqual(why, "no platform signature matched")

    def test_signature_of_another_test_is_not_retried(self):
        ok, sid, _ = self.decide("nx-recovery-race.log", test="nx_huge_pages_test.sh",
                                 config="svm-shadow")
        self.assertTrue(ok)
        self.assertEqual(sid, "nx-recovery-race")
        self.assertFalse(self.decide("nx-recovery-race.log", test="memslot_zap_test",
                                     config="svm-shadow")[0])

    def test_nx_split_count_needs_the_recovery_workers_zap(self):
        # the CI log of stop 25 as the runner saw it then: no worker zap traced
        log = text("nx-recovery-race.log")
        no_zap = log[:log.index("kvm-nx-lpage-re-")]
        ok, _, why = retry.decide(self.pol, "nx_huge_pages_test.sh", "svm-shadow", no_zap)
        self.assertFalse(ok)
        self.assertEqual(why, "no platform signature matched")
        # a zap by another thread proves nothing
        other = no_zap + log[log.index("kvm-nx-lpage-re-"):].replace("kvm-nx-lpage-re-89",
                                                                     "nx_huge_pages_t-355")
        self.assertFalse(retry.decide(self.pol, "nx_huge_pages_test.sh", "svm-shadow", other)[0])
        # a count above the expected one is no recovery
        higher = log.replace("Expected 2, got 1", "Expected 1, got 2")
        self.assertFalse(retry.decide(self.pol, "nx_huge_pages_test.sh", "svm-shadow", higher)[0])
        # the TDP MMU's zap event proves it too
        tdp = log.replace("kvm_mmu_prepare_zap_page: sp gen 0 gfn 100000 l1 8-byte q0 direct --x nxe ad root 0 sync",
                          "kvm_tdp_mmu_spte_changed: as id 0 gfn 100000 level 2 old_spte 10187f827 new_spte 0")
        self.assertTrue(retry.decide(self.pol, "nx_huge_pages_test.sh", "svm-tdp-mmu", tdp)[0])

    def test_late_ipi_wakeup_is_retried_for_xapic_ipi_test_only(self):
        ok, sid, _ = self.decide("xapic-ipi-late.log", test="xapic_ipi_test")
        self.assertTrue(ok)
        self.assertEqual(sid, "ipi-wakeup-late")
        self.assertFalse(self.decide("xapic-ipi-late.log", test="memslot_zap_test")[0])
        # runs=3: two failures excused, never a third
        self.assertTrue(self.decide("xapic-ipi-late.log", test="xapic_ipi_test", run=2,
                                    seen=("ipi-wakeup-late",))[0])
        self.assertFalse(self.decide("xapic-ipi-late.log", test="xapic_ipi_test", run=3,
                                     seen=("ipi-wakeup-late",) * 2)[0])

    def test_huge_and_contention_entries_get_their_ifetch_retries_under_npt_only(self):
        for t, config, runs in (("memslot_torture_test+contention", "svm-tdp-mmu", 3),
                                ("memslot_torture_test+contention", "svm-tdp-legacy", 3),
                                ("memslot_torture_test+huge", "svm-tdp-mmu", 3),
                                ("memslot_torture_test+huge", "svm-tdp-legacy", 4)):
            for run in range(1, runs):
                self.assertTrue(self.decide("torture-ifetch-pf.log", test=t, config=config, run=run,
                                            seen=["l2-ifetch-pf"] * (run - 1))[0])
            ok, _, why = self.decide("torture-ifetch-pf.log", test=t, config=config, run=runs,
                                     seen=["l2-ifetch-pf"] * (runs - 1))
            self.assertFalse(ok)
            self.assertIn("allows %d runs" % runs, why)
            self.assertFalse(self.decide("torture-ifetch-pf.log", test=t, config="svm-shadow")[0])

    def test_one_retry_at_most(self):
        self.assertEqual(retry.MAX_RUNS, 2)

    def test_ifetch_pf_gets_one_retry_only(self):
        self.assertTrue(self.decide("torture-ifetch-pf.log", run=1)[0])
        ok, _, why = self.decide("torture-ifetch-pf.log", run=2, seen=["l2-ifetch-pf"])
        self.assertFalse(ok)
        self.assertIn("matched 2 times", why)

    def test_ifetch_pf_after_l1_state_has_its_own_retry(self):
        self.assertTrue(self.decide("torture-ifetch-pf.log", run=2, seen=["l1-state-in-l2"])[0])
        self.assertFalse(self.decide("torture-ifetch-pf.log", run=3,
                                     seen=["l1-state-in-l2", "l2-ifetch-pf"])[0])

    def test_l1_state_gets_its_measured_budget(self):
        runs = [r for t, c, s, r, _ in self.pol.retries if s == "l1-state-in-l2"]
        self.assertEqual(runs, [4])
        self.assertTrue(self.decide("torture-l1-state.log", run=3, seen=["l1-state-in-l2"] * 2)[0])
        ok, _, why = self.decide("torture-l1-state.log", run=4, seen=["l1-state-in-l2"] * 3)
        self.assertFalse(ok)
        self.assertIn("allows 4 runs", why)

    def test_no_test_runs_more_than_the_cap(self):
        ok, _, why = self.decide("torture-l1-state.log", run=4, seen=["l2-ifetch-pf"] * 3)
        self.assertFalse(ok)
        self.assertIn("last of 4", why)

    def test_each_run_needs_its_own_match(self):
        ok, _, why = self.decide("torture-violation.log", run=2)
        self.assertFalse(ok)
        self.assertIn("series assertion", why)


class Format(unittest.TestCase):
    def test_config_scoped_retry(self):
        pol = policy("signature s §1 boom\nretry t@c1 s\n")
        self.assertTrue(retry.decide(pol, "t", "c1", "boom")[0])
        self.assertFalse(retry.decide(pol, "t", "c2", "boom")[0])

    def test_unknown_signature_is_rejected(self):
        with self.assertRaises(retry.PolicyError):
            policy("retry t nosuch\n")

    def test_bad_regex_is_rejected(self):
        with self.assertRaises(retry.PolicyError):
            policy("signature s §1 (unclosed\n")

    def test_unknown_kind_is_rejected(self):
        with self.assertRaises(retry.PolicyError):
            policy("retries t s\n")

    def test_runs_budget(self):
        pol = policy("signature s §1 boom\nretry t s runs=3 measured\n")
        self.assertEqual(pol.retries[0][3:], (3, "measured"))
        self.assertTrue(retry.decide(pol, "t", "c", "boom", run=2, seen=["s"])[0])
        self.assertFalse(retry.decide(pol, "t", "c", "boom", run=3, seen=["s", "s"])[0])
        self.assertEqual(policy("signature s §1 boom\nretry t s\n").retries[0][3], retry.MAX_RUNS)

    def test_runs_beyond_the_cap_are_rejected(self):
        for bad in ("runs=9", "runs=1", "runs=x"):
            with self.assertRaises(retry.PolicyError):
                policy("signature s §1 boom\nretry t s %s\n" % bad)

    def test_symbol_needs_a_group(self):
        with self.assertRaises(retry.PolicyError):
            policy("signature s §1 symbol=f rip 0x1\n")

    def test_outside_needs_a_group_too(self):
        with self.assertRaises(retry.PolicyError):
            policy("signature s §1 outside=f rip 0x1\n")

    def test_outside_matches_only_outside_the_symbol(self):
        pol = policy("signature s §1 outside=__svm_vcpu_run at (ffffffff[0-9a-f]{8})\n"
                     "retry * s\n")
        inside, outside = "at ffffffff81443fe8\n", "at ffffffff81444200\n"
        self.assertFalse(retry.decide(pol, "t", "c", inside, text("System.map"))[0])
        self.assertTrue(retry.decide(pol, "t", "c", outside, text("System.map"))[0])
        # no System.map, no proof
        self.assertFalse(retry.decide(pol, "t", "c", outside, "")[0])

    def test_l2_tr_in_l1_code_at_a_triple_fault(self):
        sm = text("System-2026-12-04.map")
        fault = ("triple fault: CPU#0 rip=ffffffff81600b04 cpl=0 tr=0000000000003000\n"
                 "triple fault: CPU#1 rip=ffffffff81444ffc cpl=0 tr=0000000000003000\n")
        # named, but no retry line allows it (it is no proof by itself)
        ok, _, why = retry.decide(retry.load(), "memslot_torture_test+huge", "svm-shadow", fault, sm)
        self.assertFalse(ok)
        self.assertIn("l1-on-l2-tr matched, but no retry", why)
        with open(retry.POLICY) as f:
            pol = policy(f.read() + "retry * l1-on-l2-tr\n")
        ok, sid, _ = retry.decide(pol, "memslot_torture_test+huge", "svm-shadow", fault, sm)
        self.assertTrue(ok)
        self.assertEqual(sid, "l1-on-l2-tr")
        # a zero TR base is no guest's TSS
        zero = fault.replace("tr=0000000000003000", "tr=0000000000000000")
        self.assertFalse(retry.decide(pol, "t", "c", zero, sm)[0])
        # L2's TR inside __svm_vcpu_run (between the VMLOADs) proves nothing
        self.assertFalse(retry.decide(pol, "t", "c", fault.splitlines(True)[1], sm)[0])
        # the test kernel's own TR proves nothing either
        own = fault.replace("tr=0000000000003000", "tr=fffffe0000003000")
        self.assertFalse(retry.decide(pol, "t", "c", own, sm)[0])
        # and a series assertion beside it forbids the retry
        self.assertFalse(retry.decide(pol, "t", "c", "3 violations\n" + fault, sm)[0])

    def test_symbol_range(self):
        self.assertEqual(retry.symbol_range(text("System.map"), "__svm_vcpu_run"),
                         (0xffffffff81443fe0, 0xffffffff81444100))
        self.assertIsNone(retry.symbol_range(text("System.map"), "nosuch"))


if __name__ == "__main__":
    unittest.main()


class Ifetch(unittest.TestCase):
    def test_ifetch_pf_needs_a_retry_line(self):
        sig = "signature l2-ifetch-pf §2 " + retry.load().signatures["l2-ifetch-pf"].regex.pattern
        log = text("torture-ifetch-pf.log")
        self.assertFalse(retry.decide(policy(sig + "\n"), "memslot_torture_test", "svm-tdp-mmu", log)[0])
        allowed = policy(sig + "\nretry memslot_torture_test@svm-tdp-mmu l2-ifetch-pf\n")
        self.assertTrue(retry.decide(allowed, "memslot_torture_test", "svm-tdp-mmu", log)[0])
        self.assertFalse(retry.decide(allowed, "memslot_torture_test", "svm-shadow", log)[0])
