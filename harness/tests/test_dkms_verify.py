"""scripts/dkms-verify.py: exported CRCs read from an ELF object, and the
per-module verdict (vermagic, imported CRCs, signature)."""
import importlib.util
import os
import shutil
import subprocess
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
spec = importlib.util.spec_from_file_location("dkms_verify", os.path.join(TOP, "scripts/dkms-verify.py"))
dv = importlib.util.module_from_spec(spec)
spec.loader.exec_module(dv)

# what 6.1's EXPORT_SYMBOL emits for MODVERSIONS: a __crc_<sym> label on
# the CRC's 4 bytes in a ___kcrctab section
CRCS = r'''
asm(".section \"___kcrctab+foo\", \"a\"\n__crc_foo:\n.long 0x12345678\n.previous\n");
asm(".section \"___kcrctab_gpl+bar\", \"a\"\n__crc_bar:\n.long 0xdeadbeef\n.previous\n");
int not_a_crc = 7;
'''


@unittest.skipUnless(shutil.which("gcc"), "needs gcc (make deps installs it)")
class ExportedCrcs(unittest.TestCase):
    def test_reads_each_crc_from_its_section(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "m.c"), "w") as f:
                f.write(CRCS)
            subprocess.run(["gcc", "-c", "-o", "m.o", "m.c"], cwd=d, check=True)
            self.assertEqual(dv.exported_crcs(os.path.join(d, "m.o")),
                             {"foo": 0x12345678, "bar": 0xdeadbeef})

    def test_refuses_what_is_not_elf64(self):
        with tempfile.NamedTemporaryFile() as f:
            f.write(b"#!/bin/sh\n")
            f.flush()
            with self.assertRaises(ValueError):
                dv.exported_crcs(f.name)


class Check(unittest.TestCase):
    """check() with modinfo, modprobe and the ELF reader faked."""

    def setUp(self):
        self.info = {("vermagic", "stock/kvm.ko"): "6.1.0-57-amd64 SMP",
                     ("vermagic", "kvm.ko"): "6.1.0-57-amd64 SMP",
                     ("vermagic", "kvm-amd.ko"): "6.1.0-57-amd64 SMP",
                     ("signer", "kvm.ko"): "DKMS module signing key",
                     ("signer", "kvm-amd.ko"): "DKMS module signing key"}
        self.exports = {"kvm.ko": {"kvm_ours": 0x11}, "kvm-amd.ko": {}}
        self.imports = {"kvm.ko": {"printk": 0x22}, "kvm-amd.ko": {"kvm_ours": 0x11, "printk": 0x22}}
        self.symvers = {"printk": 0x22}
        saved = (dv.run, dv.exported_crcs, dv.imported_crcs, dv.kernel_symvers)
        self.addCleanup(lambda: setattr(dv, "run", saved[0]) or setattr(dv, "exported_crcs", saved[1])
                        or setattr(dv, "imported_crcs", saved[2]) or setattr(dv, "kernel_symvers", saved[3]))
        dv.run = lambda *cmd: self.info.get((cmd[2], cmd[3]), "") + "\n"
        dv.exported_crcs = lambda m: self.exports[m]
        dv.imported_crcs = lambda m: self.imports[m]
        dv.kernel_symvers = lambda p: self.symvers

    def verdict(self):
        return dv.check("Module.symvers", "stock/kvm.ko", ["kvm.ko", "kvm-amd.ko"])

    def test_all_match(self):
        lines, bad = self.verdict()
        self.assertEqual(bad, 0, lines)
        self.assertIn("2 imported CRCs match", lines[1])

    def test_vermagic_of_another_kernel_fails(self):
        self.info[("vermagic", "stock/kvm.ko")] = "6.1.0-56-amd64 SMP"
        lines, bad = self.verdict()
        self.assertEqual(bad, 2)
        self.assertIn("vermagic '6.1.0-57-amd64 SMP', the kernel's is '6.1.0-56-amd64 SMP'", lines[0])

    def test_kernel_crc_mismatch_fails(self):
        self.symvers["printk"] = 0x23
        lines, bad = self.verdict()
        self.assertEqual(bad, 2)
        self.assertIn("printk: CRC 0x00000022, Module.symvers has 0x00000023", lines[0])

    def test_our_own_export_is_checked_against_our_module(self):
        self.exports["kvm.ko"]["kvm_ours"] = 0x12
        lines, bad = self.verdict()
        self.assertEqual(bad, 1)
        self.assertIn("kvm_ours: CRC 0x00000011, kvm.ko has 0x00000012", lines[1])

    def test_unknown_import_fails(self):
        self.imports["kvm-amd.ko"]["nowhere"] = 1
        lines, bad = self.verdict()
        self.assertEqual(bad, 1)
        self.assertIn("imports nowhere", lines[1])

    def test_unsigned_fails(self):
        del self.info[("signer", "kvm-amd.ko")]
        lines, bad = self.verdict()
        self.assertEqual(bad, 1)
        self.assertIn("not signed", lines[1])


if __name__ == "__main__":
    unittest.main()
