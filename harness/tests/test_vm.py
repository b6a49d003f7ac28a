import os
import sys
import tempfile
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
            accel, smp, mem, kernel, append = "tcg", 2, "4G", "bzImage", ""
        cmd = vm.qemu_command(Args, "/out")
        self.assertEqual(cmd[cmd.index("-D") + 1], "/out/qemu.log")
        self.assertEqual(cmd[cmd.index("-d") + 1], "cpu_reset")


    def test_monitor_socket_only_when_asked(self):
        class Args:
            accel, smp, mem, kernel, append = "tcg", 2, "4G", "bzImage", ""
        self.assertNotIn("-monitor", vm.qemu_command(Args, "/out"))
        cmd = vm.qemu_command(Args, "/out", "/tmp/m/hmp")
        self.assertEqual(cmd[cmd.index("-monitor") + 1], "unix:/tmp/m/hmp,server=on,wait=off")


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
    """silent_for(): when vm.py declares a guest hung."""

    def setUp(self):
        self.path = os.path.join(tempfile.mkdtemp(), "heartbeat")

    def beat(self, at):
        with open(self.path, "w") as f:
            f.write("1\n")
        os.utime(self.path, (at, at))

    def test_no_beat_yet_is_no_hang(self):
        self.assertEqual(vm.silent_for(self.path, 180, now=10000), 0)

    def test_recent_beat(self):
        self.beat(10000 - 179)
        self.assertEqual(vm.silent_for(self.path, 180, now=10000), 0)

    def test_stopped_beat(self):
        self.beat(10000 - 181)
        self.assertEqual(vm.silent_for(self.path, 180, now=10000), 181)

    def test_zero_limit_never_hangs(self):
        self.beat(0)
        self.assertEqual(vm.silent_for(self.path, 0, now=10000), 0)


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
