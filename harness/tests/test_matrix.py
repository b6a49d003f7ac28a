"""scripts/matrix.py's VM-death handling, with a fake VM backend."""
import os
import shutil
import sys
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "scripts"))
import matrix  # noqa: E402
from harness.tests.common import data, text  # noqa: E402

BOOT_LINE = "[    0.000000] Linux version 6.1.192\n"


class FakeVM:
    """Each call plays the next script: (status, tests reported, console extra)."""

    def __init__(self, tests, scripts):
        self.tests, self.scripts, self.calls = tests, list(scripts), []

    def __call__(self, config, tests, timeout, kernel, out):
        os.makedirs(out, exist_ok=True)
        status, reported, extra = self.scripts.pop(0)
        planned = tests or self.tests
        self.calls.append(list(planned))
        tap = "TAP version 13\n1..%d\n# tests: %s\n" % (len(planned), " ".join(planned))
        con = BOOT_LINE
        for i, t in enumerate(planned):
            con += "# RUN %s\n" % t
            if t in reported:
                st, _, directive = reported[t].partition(" # ")
                tap += "%s %d %s%s\n" % (st, i + 1, t, " # " + directive if directive else "")
            else:
                con += extra
                break
        with open(os.path.join(out, "results.tap"), "w") as f:
            f.write(tap)
        with open(os.path.join(out, "console.log"), "w") as f:
            f.write(con)
        return status, os.path.join(out, "results.tap")


class HungVM(FakeVM):
    """A FakeVM whose boot number HUNG_BOOT leaves vm.py's 'hung' mark."""

    def __init__(self, hung_boot, tests, scripts):
        super().__init__(tests, scripts)
        self.hung_boot = hung_boot

    def __call__(self, config, tests, timeout, kernel, out):
        r = super().__call__(config, tests, timeout, kernel, out)
        if len(self.calls) == self.hung_boot:
            with open(os.path.join(out, "hung"), "w") as f:
                f.write("181\n")
        return r


class TripleFaultVM(FakeVM):
    """A FakeVM whose first boot leaves vm.py --freeze's register dump."""

    def __call__(self, config, tests, timeout, kernel, out):
        r = super().__call__(config, tests, timeout, kernel, out)
        if len(self.calls) == 1:
            with open(os.path.join(out, "cpus-at-triple-fault.txt"), "w") as f:
                f.write("=== sample 1 at 01:02:03\n"
                        "CPU#0\nRIP=00000000004031cd RFL=00000002 [-------] CPL=0 II=0\n"
                        "CPU#1\nRIP=ffffffff81000000 RFL=00000002 [-------] CPL=0 II=0\n")
        return r


class L2TrFaultVM(FakeVM):
    """A FakeVM whose boots in FAULT_BOOTS triple-fault with the registers of
    the clean-clone check of 2026-12-04: CPU#0 in asm_exc_page_fault with the
    selftest guest's TR, CPU#1 inside __svm_vcpu_run. LOG: what the test
    that was running printed before."""

    def __init__(self, fault_boots, tests, scripts, log=""):
        super().__init__(tests, scripts)
        self.fault_boots, self.log = fault_boots, log
        with open(data("triple-fault-l2-tr.txt")) as f:
            self.dump = f.read()

    def __call__(self, config, tests, timeout, kernel, out):
        r = super().__call__(config, tests, timeout, kernel, out)
        if len(self.calls) in self.fault_boots:
            with open(os.path.join(out, "cpus-at-triple-fault.txt"), "w") as f:
                f.write(self.dump)
            shutil.copy(data("System-2026-12-04.map"), os.path.join(out, "System.map"))
        return r


EARLY_SPLAT = ("[    2.088378] ==================================================================\n"
               "[    2.089357] BUG: KASAN: wild-memory-access in do_raw_spin_lock+0x12d/0x1dc\n"
               "[    2.089482] Call Trace:\n"
               "[    2.089482]  <IRQ>\n"
               "[    2.089482]  do_raw_spin_lock+0x12d/0x1dc\n"
               "[    2.089482]  handle_edge_irq+0x29/0x29c\n"
               "[    2.089482]  </IRQ>\n"
               "[    2.089482] ==================================================================\n")
SMP_UP = "[    2.500000] smp: Brought up 1 node, 2 CPUs\n"


class EarlySplatVM(FakeVM):
    """A FakeVM whose boots in SPLAT_BOOTS print EARLY_SPLAT on the console:
    WHERE 'before' the kernel's smp: Brought up line, 'after' it, or with
    no such line ('nosmp')."""

    def __init__(self, splat_boots, tests, scripts, where="before"):
        super().__init__(tests, scripts)
        self.splat_boots, self.where = splat_boots, where

    def __call__(self, config, tests, timeout, kernel, out):
        r = super().__call__(config, tests, timeout, kernel, out)
        path = os.path.join(out, "console.log")
        with open(path) as f:
            body = f.read()[len(BOOT_LINE):]
        splat = EARLY_SPLAT if len(self.calls) in self.splat_boots else ""
        early = {"before": splat + SMP_UP, "after": SMP_UP + splat, "nosmp": splat}[self.where]
        with open(path, "w") as f:
            f.write(BOOT_LINE + early + body)
        return r


class MatrixCase(unittest.TestCase):
    """run_config() of configuration 'c' into a temporary results directory."""

    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.saved, matrix.RESULTS = matrix.RESULTS, self.dir

    def tearDown(self):
        matrix.RESULTS = self.saved
        shutil.rmtree(self.dir)

    def run_config(self, fake):
        return matrix.run_config("c", [], 1000, "k", "c", boot=fake)[0]


class Deaths(MatrixCase):

    def test_vm_death_fails_the_running_test_and_the_rest_run(self):
        fake = FakeVM(["a", "b", "c"], [(125, {"a": "ok"}, ""), (0, {"c": "ok"}, "")])
        res = self.run_config(fake)
        self.assertEqual(res["b"][0], "fail")
        self.assertIn("the VM died", res["b"][1])
        self.assertEqual(res["c"][0], "pass")
        self.assertEqual(fake.calls[1], ["c"])   # b is not run again

    def test_a_triple_fault_is_named_with_the_vcpus_at_the_fault(self):
        fake = TripleFaultVM(["a", "b"], [(125, {"a": "ok"}, ""), (0, {}, "")])
        res = self.run_config(fake)
        self.assertEqual(res["b"][0], "fail")
        self.assertIn("the test kernel triple-faulted (at the fault: CPU#0 rip=4031cd cpl=0 "
                      "CPU#1 rip=ffffffff81000000 cpl=0;", res["b"][1])

    def test_l2s_tr_in_l1_code_is_named_and_not_rerun(self):
        fake = L2TrFaultVM({1}, ["a", "b", "c"], [(125, {"a": "ok"}, ""), (0, {"c": "ok"}, "")])
        res = self.run_config(fake)
        self.assertEqual(res["b"][0], "fail")
        self.assertIn("matches l1-on-l2-tr", res["b"][1])
        self.assertEqual(fake.calls[1], ["c"])

    def test_the_kernels_own_tr_names_no_signature(self):
        fake = L2TrFaultVM({1}, ["a", "b"], [(125, {"a": "ok"}, ""), (0, {}, "")])
        fake.dump = fake.dump.replace("0000000000003000", "fffffe0000003000")
        res = self.run_config(fake)
        self.assertEqual(res["b"][0], "fail")
        self.assertNotIn("matches", res["b"][1])

    def test_a_hung_vm_is_named_with_its_vcpu_registers(self):
        fake = HungVM(1, ["a", "b"], [(124, {"a": "ok"}, ""), (0, {}, "")])
        res = self.run_config(fake)
        self.assertEqual(res["b"][0], "fail")
        self.assertIn("the VM hung", res["b"][1])
        self.assertIn("cpus-at-timeout.txt", res["b"][1])

    def test_a_hung_second_vm_is_named_too(self):
        fake = HungVM(2, ["a", "b", "c"], [(125, {}, ""), (124, {}, ""), (0, {}, "")])
        res = self.run_config(fake)
        self.assertIn("the VM died", res["a"][1])
        self.assertIn("the VM hung", res["b"][1])
        self.assertIn("boot2", res["b"][1])

    def test_splat_fails_the_test_it_is_blamed_on(self):
        splat = "[   10.0] BUG: unable to handle page fault\n"
        fake = FakeVM(["a", "b"], [(125, {"a": "ok"}, splat), (0, {}, "")])
        res = self.run_config(fake)
        self.assertTrue(res["b"][1].startswith("kernel splat"))

    def test_no_test_started_is_a_failure(self):
        def dead(config, tests, timeout, kernel, out):
            os.makedirs(out, exist_ok=True)
            return 125, os.path.join(out, "results.tap")
        res = self.run_config(dead)
        self.assertEqual([st for st, _ in res.values()], ["fail"])

    def test_nonzero_vm_status_after_all_reported_passes_fails(self):
        fake = FakeVM(["a"], [(1, {"a": "ok"}, "")])
        res = self.run_config(fake)
        self.assertIn("fail", [st for st, _ in res.values()])

    def test_at_most_max_boots(self):
        fake = FakeVM(["a", "b", "c", "d", "e"], [(125, {}, "")] * matrix.MAX_BOOTS)
        res = self.run_config(fake)
        self.assertEqual(len(fake.calls), matrix.MAX_BOOTS)
        self.assertTrue(all(st == "fail" for st, _ in res.values()))
        self.assertEqual(set(res), {"a", "b", "c", "d", "e"})


IRQ_IF_CLEAR = text("console-irq-if-clear.log")
GPTE = "memslot_torture_test+gpte"   # the test tests/platform-retries allows it for


class PlatformDeath(MatrixCase):
    """A VM death whose console proves the platform (irq-if-clear: the test
    kernel took a timer interrupt with IF clear) reruns the test once."""

    def with_log(self, fake, log):
        """FAKE, whose VMs also leave LOG as GPTE's log."""
        def boot(config, tests, timeout, kernel, out):
            r = fake(config, tests, timeout, kernel, out)
            os.makedirs(os.path.join(out, "logs"), exist_ok=True)
            with open(os.path.join(out, "logs", GPTE + ".log"), "w") as f:
                f.write(log)
            return r
        return boot

    def test_the_test_runs_again_first_and_is_flaky_when_it_passes(self):
        fake = HungVM(1, ["a", GPTE, "c"], [(124, {"a": "ok"}, IRQ_IF_CLEAR),
                                            (0, {GPTE: "ok", "c": "ok"}, "")])
        res = self.run_config(fake)
        self.assertEqual(fake.calls[1], [GPTE, "c"])
        self.assertEqual(res[GPTE][0], "flaky")
        self.assertIn("boot 1: platform signature irq-if-clear", res[GPTE][1])
        self.assertIn("spinlock recursion", res[GPTE][1])
        self.assertEqual(res["c"][0], "pass")

    def test_only_once(self):
        fake = FakeVM(["a", GPTE, "c"], [(124, {"a": "ok"}, IRQ_IF_CLEAR), (124, {}, IRQ_IF_CLEAR),
                                         (0, {"c": "ok"}, "")])
        res = self.run_config(fake)
        self.assertEqual(fake.calls[2], ["c"])
        self.assertEqual(res[GPTE][0], "fail")
        self.assertIn("before, boot 1: platform signature irq-if-clear", res[GPTE][1])

    def test_a_rerun_that_fails_or_skips_stays_a_failure(self):
        for rerun in ("not ok", "ok # SKIP no KVM"):
            fake = FakeVM(["a", GPTE], [(124, {"a": "ok"}, IRQ_IF_CLEAR), (0, {GPTE: rerun}, "")])
            res = self.run_config(fake)
            self.assertEqual(res[GPTE][0], "fail", rerun)

    def test_not_with_interrupts_on(self):
        fake = FakeVM(["a", GPTE, "c"], [(124, {"a": "ok"}, IRQ_IF_CLEAR.replace("EFLAGS: 00000083", "EFLAGS: 00000283")),
                                         (0, {"c": "ok"}, "")])
        res = self.run_config(fake)
        self.assertEqual(fake.calls[1], ["c"])
        self.assertEqual(res[GPTE][0], "fail")

    def test_not_for_a_test_without_a_retry_line(self):
        fake = FakeVM(["a", "b", "c"], [(124, {"a": "ok"}, IRQ_IF_CLEAR), (0, {"c": "ok"}, "")])
        res = self.run_config(fake)
        self.assertEqual(fake.calls[1], ["c"])
        self.assertEqual(res["b"][0], "fail")

    def test_not_when_an_earlier_splat_fails_the_test(self):
        warn = "[  398.000000] WARNING: CPU: 1 PID: 156 at arch/x86/kvm/mmu/mmu.c:6000 kvm_mmu_zap_memslot+0x1/0x2\n"
        fake = FakeVM(["a", GPTE, "c"], [(124, {"a": "ok"}, warn + IRQ_IF_CLEAR), (0, {"c": "ok"}, "")])
        res = self.run_config(fake)
        self.assertEqual(fake.calls[1], ["c"])
        self.assertIn("WARNING", res[GPTE][1])

    def test_not_when_its_log_has_a_violation(self):
        fake = FakeVM(["a", GPTE, "c"], [(124, {"a": "ok"}, IRQ_IF_CLEAR), (0, {"c": "ok"}, "")])
        res = self.run_config(self.with_log(fake, "memory of a deleted memslot changed after DELETE\n"))
        self.assertEqual(fake.calls[1], ["c"])
        self.assertEqual(res[GPTE][0], "fail")

    def test_not_after_the_most_runs_in_the_vm(self):
        fake = FakeVM(["a", GPTE, "c"], [(124, {"a": "ok"}, IRQ_IF_CLEAR), (0, {"c": "ok"}, "")])
        log = "".join("=== run %d after run %d exit=1: retry l1-state-in-l2\n" % (k + 1, k) for k in (1, 2, 3))
        self.run_config(self.with_log(fake, log))
        self.assertEqual(fake.calls[1], ["c"])

    def test_not_in_the_last_vm(self):
        fake = FakeVM(["a", "b", GPTE, "d"], [(125, {}, ""), (125, {}, ""), (124, {}, IRQ_IF_CLEAR)])
        res = self.run_config(fake)
        self.assertEqual(len(fake.calls), matrix.MAX_BOOTS)
        self.assertEqual(res[GPTE][0], "fail")
        self.assertIn("spinlock recursion", res[GPTE][1])
        self.assertNotIn("irq-if-clear", res[GPTE][1])


class EarlyBootSplat(MatrixCase):
    """A splat before the CPUs came up: the VM runs again, once
    (tests/platform-retries, pre-initcall-splat)."""

    PASS = {"a": "ok", "b": "ok"}

    def test_the_vm_runs_again_and_boot_is_flaky(self):
        fake = EarlySplatVM({1}, ["a", "b"], [(126, self.PASS, ""), (0, self.PASS, "")])
        res = self.run_config(fake)
        self.assertEqual(fake.calls, [["a", "b"], ["a", "b"]])
        self.assertEqual(res["boot"][0], "flaky")
        self.assertIn("pre-initcall-splat on boot 1, clean on boot 2", res["boot"][1])
        self.assertIn("(called from: do_raw_spin_lock < handle_edge_irq)", res["boot"][1])
        self.assertEqual((res["a"][0], res["b"][0]), ("pass", "pass"))

    def test_only_once(self):
        fake = EarlySplatVM({1, 2}, ["a", "b"], [(126, self.PASS, "")] * 3)
        res = self.run_config(fake)
        self.assertEqual(len(fake.calls), 2)
        self.assertEqual(res["boot"][0], "fail")
        self.assertIn("KASAN", res["boot"][1])

    def test_not_after_the_cpus_came_up(self):
        fake = EarlySplatVM({1}, ["a", "b"], [(126, self.PASS, "")] * 2, where="after")
        res = self.run_config(fake)
        self.assertEqual(len(fake.calls), 1)
        self.assertEqual(res["boot"][0], "fail")

    def test_not_without_the_line_that_proves_it(self):
        fake = EarlySplatVM({1}, ["a", "b"], [(126, self.PASS, "")] * 2, where="nosmp")
        res = self.run_config(fake)
        self.assertEqual(len(fake.calls), 1)
        self.assertEqual(res["boot"][0], "fail")

    def test_not_when_a_test_failed_too(self):
        for status in (1, 0):   # 0: a runner that failed a test and exited 0 all the same
            fake = EarlySplatVM({1}, ["a", "b"], [(status, {"a": "not ok", "b": "ok"}, "")] * 2)
            res = self.run_config(fake)
            self.assertEqual(len(fake.calls), 1)
            self.assertEqual((res["a"][0], res["boot"][0]), ("fail", "fail"))

    def test_not_when_the_vm_died(self):
        fake = EarlySplatVM({1}, ["a", "b", "c"], [(125, {"a": "ok"}, ""), (0, {"c": "ok"}, "")])
        res = self.run_config(fake)
        self.assertEqual(fake.calls, [["a", "b", "c"], ["c"]])
        self.assertEqual((res["b"][0], res["boot"][0]), ("fail", "fail"))

    def test_not_when_a_test_that_passed_splatted(self):
        vm = EarlySplatVM({1}, ["a", "b"], [(126, self.PASS, "")] * 2)

        def boot(config, tests, timeout, kernel, out):
            r = vm(config, tests, timeout, kernel, out)
            with open(os.path.join(out, "console.log"), "a") as f:
                f.write("[   30.0] WARNING: CPU: 1 PID: 99 at arch/x86/kvm/mmu/mmu.c:1 f+0x1/0x2\n")
            return r
        res = self.run_config(boot)
        self.assertEqual(len(vm.calls), 1)
        self.assertEqual((res["b"][0], res["boot"][0]), ("fail", "fail"))
        self.assertIn("mmu.c", res["b"][1])

    def test_not_when_a_later_splat_is_the_tests(self):
        test_splat = "[   30.0] WARNING: CPU: 1 PID: 99 at arch/x86/kvm/mmu/mmu.c:1 f+0x1/0x2\n"
        fake = EarlySplatVM({1}, ["a", "b"], [(126, {"a": "ok"}, test_splat)] * 2)
        res = self.run_config(fake)
        self.assertEqual(len(fake.calls), 1)
        self.assertEqual((res["b"][0], res["boot"][0]), ("fail", "fail"))
        self.assertIn("mmu.c", res["b"][1])


class EarlyBootSplatAndSweep(MatrixCase):
    """The debug VMs run the fail-nth sweep after the tests: its allocation
    failures on the console are no splat after the CPUs came up."""

    def boot(self, sweep_ok):
        vm = EarlySplatVM({1}, ["a"], [(0, {"a": "ok"}, "")] * 2)

        def boot(config, tests, timeout, kernel, out):
            r = vm(config, tests, timeout, kernel, out)
            with open(os.path.join(out, "console.log"), "a") as f:
                f.write("# RUN faults\n" + text("console-alloc-failure.log"))
            with open(os.path.join(out, "faults.tap"), "w") as f:
                f.write("".join("%sok %d op%d: fine\n" % ("" if sweep_ok or n else "not ", n + 1, n)
                                for n in range(13)))
            with open(os.path.join(out, "faults.status"), "w") as f:
                f.write("0\n")
            return r
        res = matrix.run_config("c", [], 1000, "k", "c", boot=boot, sweep=True)[0]
        return vm, res

    def test_the_vm_runs_again(self):
        vm, res = self.boot(sweep_ok=True)
        self.assertEqual(len(vm.calls), 2)
        self.assertEqual(res["boot"][0], "flaky")

    def test_not_when_the_sweep_failed(self):
        vm, res = self.boot(sweep_ok=False)
        self.assertEqual(len(vm.calls), 1)
        self.assertEqual(res["boot"][0], "fail")


class Sweep(unittest.TestCase):
    """--faults: the sweep after the tests in the same VM (harness/faults.py)."""

    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.saved = matrix.RESULTS, matrix.vm.main
        matrix.RESULTS = self.dir

    def tearDown(self):
        matrix.RESULTS, matrix.vm.main = self.saved
        shutil.rmtree(self.dir)

    def fake_vm(self, status, runner=None):
        """A VM whose runner wrote RUNNER to runner.status (None: it never finished)."""
        def main(argv):
            self.argv = argv
            out = argv[argv.index("--out") + 1]
            os.makedirs(out, exist_ok=True)
            if runner is not None:
                with open(os.path.join(out, "runner.status"), "w") as f:
                    f.write("%d\n" % runner)
            return status
        matrix.vm.main = main

    def boot(self, sweep=True):
        return matrix.run_boot("c", ["a"], 100, "k", os.path.join(self.dir, "c"), sweep=sweep)[0]

    def test_the_sweep_runs_after_the_tests_with_its_fault_injection(self):
        self.fake_vm(0, 0)
        self.boot()
        cmd = self.argv[-1]
        self.assertLess(cmd.index("run-selftests.sh"), cmd.index("tests/faults/run.sh"))
        self.assertEqual(self.argv[self.argv.index("--fault-injection") + 1], "memslot_failnth")

    def test_what_the_vm_did_after_the_runner_is_the_sweeps(self):
        self.fake_vm(125, 0)
        self.assertEqual(self.boot(), 0)

    def test_the_runners_own_status_stays(self):
        self.fake_vm(126, 1)
        self.assertEqual(self.boot(), 1)

    def test_a_vm_that_died_in_the_tests_keeps_its_status(self):
        self.fake_vm(125)
        self.assertEqual(self.boot(), 125)

    def test_a_timeout_scale_reaches_the_runner_and_one_adds_nothing(self):
        self.fake_vm(0, 0)
        matrix.run_boot("c", ["a"], 100, "k", os.path.join(self.dir, "c"), scale=3)
        self.assertIn("run-selftests.sh -c c -o \"$OUT\" -x 3 a |", self.argv[-1])
        self.boot(sweep=False)
        self.assertNotIn("-x", self.argv[-1])

    def test_without_the_sweep_nothing_changes(self):
        self.fake_vm(125, 0)
        self.assertEqual(self.boot(sweep=False), 125)
        self.assertNotIn("--fault-injection", self.argv)
        self.assertNotIn("faults", self.argv[-1])

    def test_the_sweep_of_the_last_vm_is_judged(self):
        for d, tap in (("c", ""), ("c/boot2", text("faults-sweep.tap"))):
            os.makedirs(os.path.join(self.dir, d))
            for name, body in (("console.log", BOOT_LINE + "# RUN faults\n"),
                               ("faults.tap", tap), ("faults.status", "0\n"), ("runner.status", "0\n")):
                with open(os.path.join(self.dir, d, name), "w") as f:
                    f.write(body)
        res, _ = matrix.sweep_results("c", "c")
        self.assertEqual(len(res), 13)
        self.assertEqual([st for st, _, _ in res], ["pass"] * 13)

    def test_the_sweeps_splats_are_not_the_tests(self):
        sweep = ("# RUN faults\n" + text("console-alloc-failure.log")
                 + "[  149.0] BUG: KASAN: slab-out-of-bounds in kvm_set_memslot\n")

        def boot(config, tests, timeout, kernel, out):
            FakeVM(["a"], [(0, {"a": "ok"}, "")])(config, tests, timeout, kernel, out)
            with open(os.path.join(out, "console.log"), "a") as f:
                f.write(sweep)
            return 0, os.path.join(out, "results.tap")
        res = matrix.run_config("c", [], 1000, "k", "c", boot=boot)[0]
        self.assertEqual(res, {"a": ("pass", "")})

    def test_no_sweep_is_a_named_failure(self):
        res, secs = matrix.sweep_results("c", "c")
        self.assertEqual({n for st, n, _ in res if st == "fail"}, {"faults@c"})
        self.assertEqual(secs, 0)


if __name__ == "__main__":
    unittest.main()
