import importlib.util
import os
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_spec = importlib.util.spec_from_file_location("floor_trace",
                                               os.path.join(TOP, "docs/repro/floor-trace.py"))
ft = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ft)

# One CREATE of a real trace (6.1+series, svm-shadow), with an event inside
# its grace period and a context-switch banner that is not a trace line.
CREATE = """\
   11.183448 |   0)   memslot-70   |               |  kvm_vm_ioctl() {
   11.183491 |   0)   memslot-70   |               |    kvm_set_memslot() {
   11.183496 |   0)   memslot-70   | ! 160.786 us  |      kvm_arch_prepare_memory_region();
   11.183681 |   0)   memslot-70   |               |      synchronize_srcu_expedited() {
   11.183700 |   0)   memslot-70   |               |        /* workqueue_queue_work: work struct=x function=process_srcu */
 0)   memslot-70   =>   kworker-13
   11.184294 |   0)   memslot-70   | ! 613.437 us  |      }
   11.184322 |   0)   memslot-70   |   9.939 us    |      kvm_arch_commit_memory_region();
   11.184333 |   0)   memslot-70   | ! 850.617 us  |    }
   11.184337 |   0)   memslot-70   | ! 898.579 us  |  }
"""


class FloorTrace(unittest.TestCase):
    def test_steps_of_one_ioctl(self):
        calls, events = ft.ioctls(CREATE.splitlines())
        self.assertEqual(len(calls), 1)
        start, end, steps = calls[0]
        self.assertAlmostEqual((end - start) * 1e6, 889, places=0)
        self.assertEqual([s for s, a, b in steps], ["prepare", "srcu", "commit"])
        self.assertAlmostEqual((steps[0][2] - steps[0][1]) * 1e6, 160.786, places=2)
        self.assertAlmostEqual((steps[1][2] - steps[1][1]) * 1e6, 613, places=0)
        self.assertEqual(len(events), 1)
        self.assertTrue(all(start <= a <= b <= end for s, a, b in steps), steps)

    def test_groups_by_step_sequence(self):
        calls, _ = ft.ioctls((CREATE + CREATE.replace("11.18", "12.18")).splitlines())
        g = ft.groups(calls)
        self.assertEqual(list(g), [("prepare", "srcu", "commit")])
        self.assertEqual(len(g[("prepare", "srcu", "commit")]), 2)

    def test_ioctls_without_steps_are_left_out(self):
        bare = ("   1.000000 |   0)   memslot-70   |               |  kvm_vm_ioctl() {\n"
                "   1.000100 |   0)   memslot-70   | + 100.000 us  |  }\n")
        calls, _ = ft.ioctls((bare + CREATE).splitlines())
        self.assertEqual(len(calls), 2)
        self.assertEqual(sum(len(v) for v in ft.groups(calls).values()), 1)

    def test_other_tasks_do_not_mix_in(self):
        other = CREATE.replace("memslot-70", "qemu-99").replace("kvm_vm_ioctl() {", "kvm_x() {")
        calls, _ = ft.ioctls((CREATE + other).splitlines())
        self.assertEqual(len(calls), 1)


if __name__ == "__main__":
    unittest.main()
