import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "scripts"))
import vm  # noqa: E402


class TripleFault(unittest.TestCase):
    """What vm.py says of a test kernel that stopped without a word."""

    def said(self, text):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "qemu.log")
            if text is not None:
                with open(path, "w") as f:
                    f.write(text)
            return vm.triple_fault(path)

    def test_a_triple_fault_is_named(self):
        self.assertIn("triple fault of the test kernel",
                      self.said("CPU Reset (CPU 0)\nRAX=0\nTriple fault\n"))

    def test_resets_alone_are_no_triple_fault(self):
        self.assertIn("no triple fault", self.said("CPU Reset (CPU 0)\nRAX=0\n"))

    def test_no_log(self):
        self.assertEqual(self.said(None), "no QEMU log")

    def test_qemu_writes_the_log_into_the_vm_directory(self):
        class Args:
            accel, smp, mem, kernel, append, freeze = "tcg", 2, "4G", "bzImage", "", False
        cmd = vm.qemu_command(Args, "/out")
        self.assertEqual(cmd[cmd.index("-D") + 1], "/out/qemu.log")
        self.assertEqual(cmd[cmd.index("-d") + 1], "cpu_reset")


    def test_monitor_socket_only_when_asked(self):
        class Args:
            accel, smp, mem, kernel, append, freeze = "tcg", 2, "4G", "bzImage", "", False
        self.assertNotIn("-monitor", vm.qemu_command(Args, "/out"))
        cmd = vm.qemu_command(Args, "/out", "/tmp/m/hmp")
        self.assertEqual(cmd[cmd.index("-monitor") + 1], "unix:/tmp/m/hmp,server=on,wait=off")

    def test_freeze_stops_the_vm_instead_of_ending_qemu(self):
        class Args:
            accel, smp, mem, kernel, append, freeze = "tcg", 2, "4G", "bzImage", "", False
        cmd = vm.qemu_command(Args, "/out")
        self.assertIn("-no-reboot", cmd)
        self.assertNotIn("-action", cmd)
        Args.freeze = True
        cmd = vm.qemu_command(Args, "/out")
        self.assertNotIn("-no-reboot", cmd)
        self.assertEqual(cmd[cmd.index("-action") + 1], "reboot=shutdown,shutdown=pause")


def dump(*samples):
    """A cpu_snapshot() file: per sample, (RIP, CPL) of each vCPU."""
    out = ""
    for i, cpus in enumerate(samples):
        out += "=== sample %d at 12:00:0%d\n\n" % (i + 1, i)
        for n, (rip, cpl) in enumerate(cpus):
            out += ("CPU#%d\nRAX=0000000000000000 RBX=0000000000000000\n"
                    "RIP=%016x RFL=00000246 [---Z-P-] CPL=%d II=0 A20=1 SMM=0 HLT=0\n"
                    % (n, rip, cpl))
    return out


class WhereCpusWere(unittest.TestCase):
    L2 = 0x402a10            # selftest guest code: CPL 0, lower half
    L1K = 0xffffffff8144da93  # the test kernel
    L1U = 0x402a10           # the selftest process itself: CPL 3

    def test_all_nested_in_all_samples(self):
        said = vm.where_cpus_were(dump(*[[(self.L2, 0), (self.L2 + 8, 0)]] * 3))
        self.assertTrue(said.startswith("every vCPU in a nested guest"), said)
        self.assertIn("in all 3 samples", said)

    def test_one_vcpu_in_its_kernel_once_is_not(self):
        said = vm.where_cpus_were(dump([(self.L2, 0), (self.L2, 0)], [(self.L2, 0), (self.L1K, 0)]))
        self.assertNotIn("every vCPU", said)
        self.assertIn("CPU#1 rip=ffffffff8144da93 cpl=0", said)

    def test_every_sample_counts(self):
        for bad in range(3):
            samples = [[(self.L2, 0), (self.L2, 0)] for _ in range(3)]
            samples[bad][0] = (self.L1K, 0)
            self.assertNotIn("every vCPU", vm.where_cpus_were(dump(*samples)), bad)

    def test_user_space_of_the_test_kernel_is_not(self):
        said = vm.where_cpus_were(dump([(self.L1U, 3), (self.L2, 0)]))
        self.assertNotIn("every vCPU", said)

    def test_no_dump(self):
        self.assertEqual(vm.where_cpus_were(""), "no register dump")
        self.assertEqual(vm.where_cpus_were("=== sample 1 at 12:00:00\n"), "no register dump")

    def test_real_dump_of_an_idle_guest(self):
        real = ("=== sample 1 at 19:43:18\n\nCPU#0\n"
                "RIP=ffffffff8144da93 RFL=00000246 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=1\n"
                "CPU#1\nRIP=ffffffff8144da93 RFL=00000246 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=1\n")
        self.assertEqual(vm.where_cpus_were(real),
                         "CPU#0 rip=ffffffff8144da93 cpl=0 CPU#1 rip=ffffffff8144da93 cpl=0")


class Heartbeat(unittest.TestCase):
    """vm.Heartbeat: when vm.py declares a guest hung."""

    def setUp(self):
        self.path = os.path.join(tempfile.mkdtemp(), "heartbeat")

    def beat(self, text="12.34"):
        with open(self.path, "w") as f:
            f.write(text + "\n")

    def test_no_beat_yet_is_no_hang(self):
        hb = vm.Heartbeat(self.path, 180)
        self.assertEqual(hb.silent_for(now=10000), 0)
        self.assertFalse(hb.started())

    def test_silence_counts_from_the_last_change_on_the_host(self):
        hb = vm.Heartbeat(self.path, 180)
        self.beat("10.0")
        self.assertEqual(hb.silent_for(now=1000), 0)
        self.assertTrue(hb.started())
        self.assertEqual(hb.silent_for(now=1180), 0)
        self.assertEqual(hb.silent_for(now=1181), 181)

    def test_a_new_beat_restarts_the_count(self):
        hb = vm.Heartbeat(self.path, 180)
        self.beat("10.0")
        hb.silent_for(now=1000)
        self.beat("20.0")
        self.assertEqual(hb.silent_for(now=1170), 0)
        self.assertEqual(hb.silent_for(now=1300), 0)
        self.assertEqual(hb.silent_for(now=1351), 181)

    def test_the_files_wall_clock_time_does_not_matter(self):
        hb = vm.Heartbeat(self.path, 180)
        self.beat()
        os.utime(self.path, (0, 0))   # a host clock step, a skewed share
        self.assertEqual(hb.silent_for(now=5), 0)

    def test_a_file_that_vanishes_is_silence(self):
        hb = vm.Heartbeat(self.path, 180)
        self.beat()
        hb.silent_for(now=0)
        os.unlink(self.path)
        self.assertEqual(hb.silent_for(now=200), 200)

    def test_zero_limit_never_hangs(self):
        hb = vm.Heartbeat(self.path, 0)
        self.beat()
        hb.silent_for(now=0)
        self.assertEqual(hb.silent_for(now=10000), 0)


FAKE_QEMU = r'''#!/usr/bin/env python3
# A stand-in for qemu-system-x86_64: MODE hang beats once, then stops (its
# monitor still answers with two vCPUs in a nested guest); MODE beat beats
# every 0.05 s for 1 s (twice the --hang limit), then reports exit status 0
# (and stays, stopped, under --freeze's -action); MODE triplefault logs a
# triple fault and stays, stopped (without -action: exits, as -no-reboot
# does); MODE latefault reports exit status 0, then triple-faults; MODE
# lastword writes exit status 0, then prints its last line and powers off
# while vm.py asks the monitor whether it stopped.
import os, socket, sys, threading, time
args = sys.argv[1:]
mon = args[args.index("-monitor") + 1].split(",")[0][len("unix:"):]
out = [a.split("path=")[1].split(",")[0] for a in args if a.startswith("local,id=out,")][0]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(mon)
srv.listen(4)
def serve():
    while True:
        c, _ = srv.accept()
        c.sendall(b"QEMU monitor\r\n(qemu) ")
        line = c.recv(1024)
        if line.startswith(b"info status"):
            if mode == "lastword" and not stopped.is_set():
                # the guest's last line, and its power-off, while vm.py asks
                print("SLOTZAP-EXIT 0", flush=True)
                stopped.set()
            reply = b"VM status: paused (shutdown)\r\n" if stopped.is_set() else b"VM status: running\r\n"
        else:
            reply = b"".join(b"CPU#%d\r\nRIP=0000000000402a10 RFL=00000002 [-------] CPL=0 II=0\r\n" % n
                             for n in range(2))
        c.sendall(line.rstrip(b"\n") + b"\r\n" + reply + b"(qemu) ")
        c.close()
stopped = threading.Event()
mode = os.environ["FAKE_QEMU_MODE"]
threading.Thread(target=serve, daemon=True).start()
print("[    0.000000] Linux version 6.1.192 (fake)", flush=True)
print("SLOTZAP-START fake", flush=True)
with open(os.path.join(out, "fake-qemu.pid"), "w") as f:
    f.write("%d\n" % os.getpid())
def beat(n):
    with open(os.path.join(out, "heartbeat"), "w") as f:
        f.write("%d\n" % n)
if mode == "hang":
    beat(1)
    time.sleep(600)
def triple_fault():
    with open(args[args.index("-D") + 1], "a") as f:
        f.write("Triple fault\n")
    if "-action" not in args:
        sys.exit(0)
    stopped.set()
    time.sleep(600)
if mode == "triplefault":
    beat(1)
    triple_fault()
for n in range(20):
    beat(n)
    time.sleep(0.05)
with open(os.path.join(out, "exit-status"), "w") as f:
    f.write("0\n")
if mode == "lastword":
    time.sleep(600)
print("SLOTZAP-EXIT 0", flush=True)
if mode == "latefault":
    triple_fault()
if "-action" in args:
    # reboot=shutdown,shutdown=pause: the powered-off VM stays, stopped
    stopped.set()
    time.sleep(600)
'''


class RunWithFakeQemu(unittest.TestCase):
    """vm.run() end to end against a fake QEMU: a guest whose heartbeat stops
    is ended as hung long before the timeout, with its vCPUs' registers."""

    def setUp(self):
        self.dir = tempfile.mkdtemp()
        bindir = os.path.join(self.dir, "bin")
        os.makedirs(bindir)
        fake = os.path.join(bindir, "qemu-system-x86_64")
        with open(fake, "w") as f:
            f.write(FAKE_QEMU)
        os.chmod(fake, 0o755)
        self.kernel = os.path.join(self.dir, "bzImage")
        open(self.kernel, "w").close()
        self.env = dict(os.environ)
        # the loop's and the samples' waits shortened; --hang below is 0.5 s
        self.waits = vm.POLL, vm.SAMPLE_GAP
        vm.POLL, vm.SAMPLE_GAP = 0.05, 0.05
        os.environ["PATH"] = bindir + os.pathsep + os.environ["PATH"]
        self.out = os.path.join(self.dir, "out")

    def tearDown(self):
        vm.POLL, vm.SAMPLE_GAP = self.waits
        os.environ.clear()
        os.environ.update(self.env)

    def run_vm(self, mode, *extra):
        import contextlib
        import io
        os.environ["FAKE_QEMU_MODE"] = mode
        err, start = io.StringIO(), time.monotonic()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            rc = vm.main(["--kernel", self.kernel, "--out", self.out, "--timeout", "5",
                          "--hang", "0.5", "-q"] + list(extra) + ["true"])
        return rc, err.getvalue(), time.monotonic() - start

    def test_a_stopped_heartbeat_ends_the_vm_as_hung(self):
        rc, err, secs = self.run_vm("hang")
        # ended by its heartbeat (0.5 s of silence), not by its 5 s timeout
        self.assertLess(secs, 5)
        self.assertEqual(rc, 124)
        self.assertIn("HUNG", err)
        self.assertTrue(os.path.exists(os.path.join(self.out, "hung")))
        with open(os.path.join(self.out, "cpus-at-timeout.txt")) as f:
            self.assertEqual(f.read().count("=== sample"), 3)
        self.assertIn("every vCPU in a nested guest", err)

    def test_freeze_keeps_the_registers_of_a_triple_fault(self):
        rc, err, _ = self.run_vm("triplefault", "--freeze", "--hang", "0")
        self.assertEqual(rc, 125, err)
        self.assertIn("the test kernel triple-faulted", err)
        with open(os.path.join(self.out, "cpus-at-triple-fault.txt")) as f:
            self.assertEqual(f.read().count("=== sample"), 1)

    def test_a_triple_fault_after_the_exit_status_still_fails(self):
        rc, err, _ = self.run_vm("latefault", "--freeze", "--hang", "0")
        self.assertEqual(rc, 125, err)
        self.assertIn("the test kernel triple-faulted (command status 0)", err)

    def test_without_freeze_a_triple_fault_leaves_no_registers(self):
        rc, err, _ = self.run_vm("triplefault", "--hang", "0")
        self.assertEqual(rc, 125, err)
        self.assertIn("QEMU logged a triple fault", err)
        self.assertFalse(os.path.exists(os.path.join(self.out, "cpus-at-triple-fault.txt")))

    def test_freeze_reads_the_last_output_of_a_stopped_vm(self):
        rc, err, _ = self.run_vm("lastword", "--freeze", "--hang", "0")
        self.assertEqual(rc, 0, err)
        with open(os.path.join(self.out, "console.log")) as f:
            self.assertEqual(f.read().splitlines()[-1], "SLOTZAP-EXIT 0")

    def test_freeze_ends_a_powered_off_vm_after_its_last_output(self):
        rc, err, _ = self.run_vm("beat", "--freeze", "--hang", "0")
        self.assertEqual(rc, 0, err)
        self.assertFalse(os.path.exists(os.path.join(self.out, "cpus-at-triple-fault.txt")))
        with open(os.path.join(self.out, "console.log")) as f:
            self.assertEqual(f.read().splitlines()[-1], "SLOTZAP-EXIT 0")

    def test_sigterm_ends_qemu_too(self):
        # QEMU runs in a session of its own: a SIGTERM to vm.py alone (a
        # stage's timeout) must not leave it running
        env = dict(os.environ, FAKE_QEMU_MODE="hang")
        p = subprocess.Popen([sys.executable, os.path.join(vm.TOP, "scripts/vm.py"), "--kernel", self.kernel,
                              "--out", self.out, "--timeout", "60", "--hang", "0", "-q", "true"],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        pidfile = os.path.join(self.out, "fake-qemu.pid")
        for _ in range(200):
            if os.path.exists(pidfile) and os.path.getsize(pidfile):
                break
            time.sleep(0.05)
        with open(pidfile) as f:
            pid = int(f.read())
        self.addCleanup(lambda: subprocess.run(["kill", "-9", str(pid)], stderr=subprocess.DEVNULL))
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(10), 128 + signal.SIGTERM)
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            self.fail("QEMU (pid %d) still ran after vm.py's SIGTERM" % pid)

    def test_a_beating_guest_runs_to_its_end(self):
        rc, err, _ = self.run_vm("beat")
        self.assertEqual(rc, 0, err)
        self.assertFalse(os.path.exists(os.path.join(self.out, "hung")))


class Monitor(unittest.TestCase):
    """hmp() against a fake QEMU human monitor."""

    def serve(self, replies):
        import socket
        import threading
        d = tempfile.mkdtemp()
        path = os.path.join(d, "hmp")
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(path)
        srv.listen(1)
        self.got = []

        def run():
            conn, _ = srv.accept()
            conn.sendall(b"QEMU 7.2.22 monitor - type 'help' for more information\r\n(qemu) ")
            cmd = conn.recv(1024)
            self.got.append(cmd)
            # QEMU echoes the line, with terminal escapes, then answers
            conn.sendall(b"\x1b[K" + cmd.rstrip(b"\n") + b"\r\n" + replies + b"(qemu) ")
            conn.close()
            srv.close()
        threading.Thread(target=run, daemon=True).start()
        return path

    def test_command_and_its_output(self):
        path = self.serve(b"CPU#0\r\nRIP=0000000000402000 RFL=00000002\r\nCS =0008 CPL=0\r\n")
        out = vm.hmp(path, "info registers -a", timeout=5)
        self.assertEqual(self.got, [b"info registers -a\n"])
        self.assertEqual(out, "CPU#0\nRIP=0000000000402000 RFL=00000002\nCS =0008 CPL=0\n")

    def test_snapshot_says_why_there_is_none(self):
        d = tempfile.mkdtemp()
        said = vm.cpu_snapshot(os.path.join(d, "nothing-listens"), os.path.join(d, "cpus.txt"), samples=1)
        self.assertTrue(said.startswith("none ("), said)


if __name__ == "__main__":
    unittest.main()
