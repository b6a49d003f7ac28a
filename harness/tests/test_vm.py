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


if __name__ == "__main__":
    unittest.main()
