import importlib.util
import os
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_spec = importlib.util.spec_from_file_location("kut_exit_cost",
                                               os.path.join(TOP, "docs/repro/kut-exit-cost.py"))
kec = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(kec)

# A vmexit.flat log as QEMU's serial writes it (CRLF), cut short
LOG = ("=== run 1\r\ntimeout -k 1s 600s qemu-system-x86_64 ... -append cpuid vmcall\r\n"
       "enabling apic\r\ncr0 = 80010011\r\npci-testdev at 0x10 membar febff000 iobar c000\r\n"
       "cpuid 1000\r\nvmcall 3000\r\ntscdeadline_immed (skipped)\r\n  ipi self_ipi 77\r\n"
       "\r\nok 1 - vmexit_cpuid: passed\r\nPASS vmexit_cpuid \r\nseconds=31\r\n")


def write(top, name, run, text):
    d = os.path.join(top, name, "kut-exit-cost", run + ".logs")
    os.makedirs(d)
    with open(os.path.join(d, "vmexit_cpuid.log"), "w") as f:
        f.write(text)


class ExitCost(unittest.TestCase):
    def test_parse_takes_only_name_cycles_lines(self):
        # not 'cr0 = ...', '(skipped)', the indented ipi detail or 'seconds=31'
        self.assertEqual(kec.parse(LOG), {"cpuid": 1000, "vmcall": 3000})

    def test_collect_per_dir_and_mode_and_table(self):
        with tempfile.TemporaryDirectory() as top:
            write(top, "base", "on-1", LOG)
            write(top, "base", "on-2", LOG.replace("cpuid 1000", "cpuid 1200"))
            write(top, "series", "on-1", LOG.replace("cpuid 1000", "cpuid 2200"))
            write(top, "series", "off-1", "guest died\r\n")
            runs = kec.collect([os.path.join(top, "base"), os.path.join(top, "series") + "/"])
            self.assertEqual(runs[("base", "on")], {"cpuid": [1000, 1200], "vmcall": [3000, 3000]})
            self.assertEqual(runs[("series", "off")], {})
            lines = kec.table(runs)
        row = {tuple(l.split()[:2]): l.split()[2:] for l in lines[1:]}
        self.assertEqual(row[("cpuid", "base/on")], ["1100", "1000-1200", "2", "1.00"])
        self.assertEqual(row[("cpuid", "series/on")], ["2200", "2200-2200", "1", "2.00"])
        self.assertEqual(row[("cpuid", "series/off")], ["-"])

    def test_a_dir_without_runs_says_what_to_give(self):
        with tempfile.TemporaryDirectory() as top:
            with self.assertRaises(SystemExit) as e:
                kec.collect([top])
        self.assertIn("--out directory", str(e.exception.code))

    def test_no_runs(self):
        self.assertEqual(kec.table({}), ["no runs"])


if __name__ == "__main__":
    unittest.main()
