import importlib.util
import os
import shutil
import subprocess
import tempfile
import time
import unittest
from unittest import mock

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_spec = importlib.util.spec_from_file_location("bench", os.path.join(TOP, "scripts/bench.py"))
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

ZAP = ("result op=delete rep=0 mem_mib=64 vcpus=1 slot_kib=4 zap_all=0"
       " ioctl_ns=300000 retouch_ns=7000000 faults=0\n")


def stall_line(op, quirk, ioctl, guest_stall, sweep_ms, big=512, writers=1):
    return ("RESULT op=%s rep=0 quirk=%s tdp=1 big_mib=%d writers=%d writer_mib=64"
            " ioctl_ms=%s stall_ms=9.0 guest_stall_ms=%s sampler_gap_ms=9.0"
            " sweep_ms=%s map_ms=12000\n" % (op, quirk, big, writers, ioctl, guest_stall, sweep_ms))


class Sweeps(unittest.TestCase):
    def test_stall_points(self):
        self.assertEqual(bench.stall_sweep("full"), [(0, 256), (1, 256), (0, 1024), (1, 1024)])
        self.assertEqual(bench.stall_sweep("quick"), [(0, 128), (1, 128), (0, 512), (1, 512)])
        self.assertEqual(bench.stall_sweep("leaf"), [])

    def test_floor_repeated_more(self):
        s = bench.guest_script(("/b/zap", "/b/stall"), [(0, 64, 1, 4)], [(0, 128)], 3, 1,
                               zap_reps_factor=bench.QUICK_FLOOR_FACTOR)
        self.assertIn("run taskset -c 0 /b/zap -m 64 -v 1 -s 4K -r 15 -q\n", s)
        self.assertIn("run /b/stall -b 128M -m 64M -v 1 -r 3 -q\n", s)

    def test_only_one_vcpu_points_are_pinned(self):
        s = bench.guest_script(("/b/zap", "/b/stall"), [(0, 64, 1, 4), (0, 64, 2, 4)], [], 3, 1)
        self.assertIn("run taskset -c 0 /b/zap -m 64 -v 1 -s 4K -r 3 -q\n", s)
        self.assertIn("run /b/zap -m 64 -v 2 -s 4K -r 3 -q\n", s)

    def test_point_line_names_the_benchmark(self):
        # run() echoes "point ..." from its arguments; taskset must not show
        s = bench.guest_script(("/b/x86_64/memslot_zap_bench", "/b/stall"), [(0, 64, 1, 4)],
                               [], 3, 1)
        run = s.splitlines()[1]
        out = subprocess.run(["bash", "-c", run.replace('"$@"', "true") + "\n" + s.splitlines()[2]],
                             capture_output=True, text=True, check=True).stdout
        self.assertEqual(out.splitlines()[0], "point memslot_zap_bench -m 64 -v 1 -s 4K -r 3 -q")

    def test_quick_has_the_floor_both_ways(self):
        self.assertEqual(bench.sweep("quick"), [(0, 64, 1, 4), (1, 64, 1, 4)])

    def test_guest_script(self):
        s = bench.guest_script(("/b/zap", "/b/stall"), [(0, 64, 1, 4)], [(1, 512), (0, 512)],
                               3, 2)
        self.assertIn("run taskset -c 0 /b/zap -m 64 -v 1 -s 4K -r 3 -q\n", s)
        self.assertIn("run /b/stall -b 512M -m 64M -v 2 -r 3\n", s)
        self.assertIn("run /b/stall -b 512M -m 64M -v 2 -r 3 -q\n", s)


class Churn(unittest.TestCase):
    def test_guest_script_lines(self):
        s = bench.guest_script(("/b/zap", "/b/stall"), [], [], 3, 1, [(0, ""), (1, "never")])
        churn = os.path.join(bench.TOP, "scripts/qemu-churn.sh")
        self.assertIn("\nrun %s off 5 10 100000 256\n" % churn, s)
        self.assertIn("\nTHP=never run %s on 5 10 100000 256\n" % churn, s)

    def test_a_hang_is_not_run_again(self):
        # the generated run() itself: a failure runs up to 3 times, a hang once
        s = bench.guest_script(("/b/zap", "/b/stall"), [], [], 3, 1)
        run = s.splitlines()[1]
        for rc, tries in ((1, 3), (124, 1), (0, 1)):
            out = subprocess.run(["bash", "-c", run + "\nrun bash -c 'exit %d'" % rc],
                                 capture_output=True, text=True, check=True).stdout
            self.assertEqual(out.count("status %d" % rc), tries, out)

    def test_sweeps(self):
        self.assertEqual(bench.churn_sweep("quick"), [(0, ""), (1, "")])
        self.assertEqual(bench.churn_sweep("leaf"), [])
        self.assertIn((1, "never"), bench.churn_sweep("full"))

    def test_figures(self):
        # 100 ms samples: quiet at 1000 pages each, churn at 250 and 500;
        # 4 toggles over the 0.2 s between the first and the last churn sample
        d = {"samples": [(100, "quiet", 100, 0), (200, "quiet", 100, 0),
                         (300, "churn", 25, 1), (400, "churn", 50, 3), (500, "churn", 25, 5)]}
        q, c, ratio, rate = bench.churn_figures(d)
        self.assertEqual(q, (1000.0, 1000.0, 1000.0))
        self.assertEqual(c, (250.0, 250.0, 500.0))
        self.assertAlmostEqual(ratio, 0.25)
        self.assertAlmostEqual(rate, 20.0)

    def test_no_churn_samples_no_figures(self):
        self.assertIsNone(bench.churn_figures({"samples": [(100, "quiet", 5, 0)]}))


class Parse(unittest.TestCase):
    def setUp(self):
        self.out = tempfile.mkdtemp()
        self.saved, bench.OUT = bench.OUT, self.out

    def tearDown(self):
        bench.OUT = self.saved

    def write(self, kernel, config, text):
        d = os.path.join(self.out, "raw", "%s-%s" % (kernel, config))
        os.makedirs(d)
        with open(os.path.join(d, "bench.log"), "w") as f:
            f.write(text)

    def test_both_benchmarks(self):
        self.write("ours", "svm-shadow", ZAP + "point x\n" + stall_line("delete", "off", 285, 8.8, 21)
                   + stall_line("delete", "off", 300, 9.8, 23) + "status 0\n")
        stall = {}
        data = bench.parse("ours", "svm-shadow", stall)
        self.assertEqual(list(data), [("ours", "svm-shadow", "delete", 0, 64, 1, 4)])
        d = stall[("ours", "svm-shadow", "delete", 0, 512, 1)]
        self.assertEqual(d["ioctl_ms"], [285.0, 300.0])
        self.assertEqual(d["guest_stall_ms"], [8.8, 9.8])

    def test_churn_lines(self):
        self.write("ours", "svm-tdp-mmu",
                   "CHURN quirk=off thp=madvise t_ms=100 phase=quiet pages=9 toggles=0\n"
                   "CHURN quirk=off thp=madvise t_ms=200 phase=churn pages=4 toggles=1\n"
                   "CHURN-RESULT quirk=off thp=madvise result=pass period_us=100000 mib=256"
                   " quirk=off creates=30 deletes=12 moves=0\n")
        churn = {}
        bench.parse("ours", "svm-tdp-mmu", {}, churn)
        d = churn[("ours", "svm-tdp-mmu", 0, "madvise")]
        self.assertEqual(d["samples"], [(100, "quiet", 9, 0), (200, "churn", 4, 1)])
        self.assertEqual(d["result"]["deletes"], "12")
        self.assertEqual(d["result"]["result"], "pass")

    def test_churn_ratio_only_where_both_passed(self):
        for kernel, result in (("ours", "pass"), ("mainline", "FAIL")):
            self.write(kernel, "svm-shadow",
                       "CHURN quirk=off thp=madvise t_ms=100 phase=quiet pages=9 toggles=0\n"
                       "CHURN quirk=off thp=madvise t_ms=200 phase=churn pages=4 toggles=1\n"
                       "CHURN quirk=off thp=madvise t_ms=300 phase=churn pages=4 toggles=2\n"
                       "CHURN-RESULT quirk=off thp=madvise result=%s period_us=100000 mib=256"
                       " quirk=off creates=3 deletes=2 moves=0\n" % result)
        churn = {}
        for k in ("ours", "mainline"):
            bench.parse(k, "svm-shadow", {}, churn)
        rows = bench.write_churn(churn, True)
        self.assertEqual(len(rows), 2)
        with open(os.path.join(self.out, "churn.md")) as f:
            md = f.read()
        self.assertIn("| FAIL |", md)
        self.assertNotIn("| svm-shadow |", md[md.index("ours / 6.12"):])

    def test_stall_tables_and_ratios(self):
        self.write("ours", "svm-tdp-mmu", stall_line("delete", "on", 50, 8, 1400)
                   + stall_line("none", "on", 0, 6, 10))
        self.write("mainline", "svm-tdp-mmu", stall_line("delete", "on", 100, 8, 700))
        stall = {}
        for k in ("ours", "mainline"):
            bench.parse(k, "svm-tdp-mmu", stall)
        bench.write_stall(stall, True)
        with open(os.path.join(self.out, "stall.md")) as f:
            md = f.read()
        # ioctl, ioctl min, guest stall, sweep: ours / 6.12; op none has no ratio
        self.assertIn("| svm-tdp-mmu | delete | on | 512 | 0.50 | 0.50 | 1.00 | 2.00 |", md)
        self.assertNotIn("| svm-tdp-mmu | none |", md)
        with open(os.path.join(self.out, "stall.csv")) as f:
            self.assertEqual(len(f.read().splitlines()), 4)



class VmRestart(unittest.TestCase):
    """What a fresh test VM runs after one died: the points not finished."""

    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        self.script = os.path.join(self.dir, "s.sh")
        with open(self.script, "w") as f:
            f.write("exec\nrun() {}\nrun a\nrun b\nrun c\n")

    def rest(self, log):
        with open(os.path.join(self.dir, "bench.log"), "w") as f:
            f.write(log)
        return bench.remaining(self.script, self.dir)

    def test_the_point_it_died_in_runs_again(self):
        self.assertEqual(self.rest("point a\nstatus 0\npoint b\nresult x\n"),
                         (["exec", "run() {}"], ["run b", "run c"]))

    def test_a_failed_try_is_not_a_finished_point(self):
        self.assertEqual(self.rest("point a\nstatus 1\npoint a\n")[1], ["run a", "run b", "run c"])

    def test_three_failed_tries_finish_a_point_and_a_hang_one(self):
        log = "point a\nstatus 1\npoint a\nstatus 1\npoint a\nstatus 1\npoint b\nstatus 124\n"
        self.assertEqual(self.rest(log)[1], ["run c"])

    def test_a_death_is_a_failed_try(self):
        log = "point a\nstatus 1\npoint a\nvm-died exit=125 remaining=3\n"
        self.assertEqual(self.rest(log)[1], ["run a", "run b", "run c"])
        log += "point a\nvm-died exit=125 remaining=3\n"
        self.assertEqual(self.rest(log)[1], ["run b", "run c"])

    def test_a_death_between_points_is_no_try(self):
        log = "point a\nstatus 0\nvm-died exit=125 remaining=2\npoint b\nstatus 1\n"
        self.assertEqual(self.rest(log)[1], ["run b", "run c"])

    def test_no_log(self):
        self.assertEqual(bench.remaining(self.script, self.dir)[1], ["run a", "run b", "run c"])

    def test_all_done(self):
        self.assertEqual(self.rest("status 0\nstatus 0\nstatus 0\n")[1], [])


class Boots(unittest.TestCase):
    """The extra boots' rounds are pooled; each boot's median is reported."""

    def setUp(self):
        p = mock.patch.object(bench, "OUT", tempfile.mkdtemp())
        p.start()
        self.addCleanup(p.stop)
        self.addCleanup(shutil.rmtree, bench.OUT)

    def write(self, name, ioctls):
        d = os.path.join(bench.OUT, "raw", name)
        os.makedirs(d)
        with open(os.path.join(d, "bench.log"), "w") as f:
            for ns in ioctls:
                f.write(ZAP.replace("ioctl_ns=300000", "ioctl_ns=%d" % ns))

    def test_pooled_over_boots(self):
        self.write("ours-svm-shadow", [100000, 200000])
        self.write("ours-svm-shadow-boot2", [300000])
        self.write("ours-svm-shadow-boot10", [400000])
        d = bench.parse("ours", "svm-shadow")
        self.assertEqual(d[("ours", "svm-shadow", "delete", 0, 64, 1, 4)]["ioctl_us"],
                         [100.0, 200.0, 300.0, 400.0])
        self.assertEqual(bench.boot_floor_medians(["ours"], ["svm-shadow"]),
                         [(("ours", "svm-shadow"), [150.0, 300.0, 400.0])])

    def test_only_bootN_directories(self):
        self.write("ours-svm-shadow", [100000])
        self.write("ours-svm-shadow-boot2", [300000])
        self.write("ours-svm-shadow-boot2.old", [900000])
        self.write("ours-svm-shadow-bootx", [900000])
        self.assertEqual(bench.boot_floor_medians(["ours"], ["svm-shadow"]),
                         [(("ours", "svm-shadow"), [100.0, 300.0])])

    def test_kernels_not_run_are_not_reported(self):
        self.write("mainline-svm-shadow", [100000])
        self.write("mainline-svm-shadow-boot2", [300000])
        self.assertEqual(bench.boot_floor_medians(["ours"], ["svm-shadow"]), [])

    def test_one_boot_has_no_per_boot_line(self):
        self.write("ours-svm-shadow", [100000])
        self.assertEqual(bench.boot_floor_medians(["ours"], ["svm-shadow"]), [])

    def test_run_dir(self):
        self.assertEqual(bench.run_dir("ours", "svm-tdp-mmu", 2),
                         os.path.join(bench.OUT, "raw", "ours-svm-tdp-mmu-boot2"))
        self.assertEqual(bench.run_dir("ours", "svm-tdp-mmu"),
                         os.path.join(bench.OUT, "raw", "ours-svm-tdp-mmu"))


FAKE_VM = """#!/usr/bin/env python3
# scripts/vm.py's part that matters here: it empties --out, then runs the
# command; the VM "dies" (exit 125) when the benchmark says so
import os, shutil, subprocess, sys
a = sys.argv[1:]
out = a[a.index("--out") + 1]
if os.path.isdir(out):
    shutil.rmtree(out)
os.makedirs(out)
with open(os.path.join(out, "console.log"), "w") as f:
    f.write("console\\n")
boots = os.path.join(os.environ["STATE"], "boots")
n = int(open(boots).read()) + 1 if os.path.exists(boots) else 1
open(boots, "w").write(str(n))
r = subprocess.run(["bash", "-c", a[-1]], env=dict(os.environ, OUT=out, BOOT_N=str(n)))
sys.exit(125 if os.path.exists(os.path.join(out, "died")) else r.returncode)
"""

# A benchmark that kills its test VM at the memory size $DIE_AT_<boot>.
FAKE_BENCH = """#!/bin/bash
eval "die=\\${DIE_AT_$BOOT_N:-}"
if [ "$2" = "$die" ]; then touch "$OUT/died"; kill -9 $PPID; exit 1; fi
echo "result op=delete rep=0 mem_mib=$2 vcpus=1 slot_kib=4 zap_all=0 ioctl_ns=1000 retouch_ns=1 faults=0"
"""


class RunConfig(unittest.TestCase):
    """run_config() with a fake vm.py: a dead test VM's points are kept and
    the points it left run in a fresh one."""

    def setUp(self):
        self.top = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.top)
        os.makedirs(os.path.join(self.top, "scripts"))
        os.makedirs(os.path.join(self.top, "bin/x86_64"))
        for path, text in (("scripts/vm.py", FAKE_VM), ("bin/x86_64/zap", FAKE_BENCH)):
            with open(os.path.join(self.top, path), "w") as f:
                f.write(text)
            os.chmod(os.path.join(self.top, path), 0o755)
        patches = [mock.patch.object(bench, "TOP", self.top),
                   mock.patch.object(bench, "OUT", os.path.join(self.top, "out")),
                   # run_config() polls every 5 s; 10 ms keeps the test short
                   mock.patch.object(bench.time, "sleep", lambda s, sleep=time.sleep: sleep(0.01)),
                   mock.patch.dict(os.environ, {"STATE": self.top})]
        for p in patches:
            p.start()
            self.addCleanup(p.stop)

    def run_points(self, mems, **dies):
        os.environ.update({"DIE_AT_%s" % k[1:]: str(v) for k, v in dies.items()})
        for k in dies:
            self.addCleanup(os.environ.pop, "DIE_AT_%s" % k[1:])
        points = [(0, m, 2, 4) for m in mems]   # 2 vCPUs: not pinned, no taskset
        with mock.patch("sys.stderr"), mock.patch("sys.stdout"):
            bench.run_config("ours", "svm-shadow", "/dev/null",
                             (os.path.join(self.top, "bin/x86_64/zap"), "x"), points, [], 1)
        out = bench.run_dir("ours", "svm-shadow")
        with open(os.path.join(out, "bench.log")) as f:
            log = f.read()
        return log, sorted(os.listdir(out))

    def test_each_point_once_after_two_deaths(self):
        log, files = self.run_points((1, 2, 3, 4, 5), b1=2, b2=4)
        mems = [line.split()[3] for line in log.splitlines() if line.startswith("result")]
        self.assertEqual(mems, ["mem_mib=1", "mem_mib=2", "mem_mib=3", "mem_mib=4",
                                "mem_mib=5"])
        self.assertEqual(log.count("vm-died exit=125"), 2)
        self.assertIn("console-vm1.log", files)
        self.assertIn("console-vm2.log", files)
        self.assertIn("console.log", files)

    def test_the_last_death_is_written_down(self):
        log, files = self.run_points((1, 2, 3), b1=2, b2=2, b3=2)
        self.assertIn("vm-died exit=125 remaining=2 not-booted-again", log)
        self.assertIn("console-vm3.log", files)
        self.assertNotIn("mem_mib=2", log)

    def test_a_clean_run_boots_once(self):
        log, files = self.run_points((1, 2))
        self.assertNotIn("vm-died", log)
        with open(os.path.join(self.top, "boots")) as f:
            self.assertEqual(f.read(), "1")


if __name__ == "__main__":
    unittest.main()
