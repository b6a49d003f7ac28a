#!/bin/bash
# Reproducer of docs/platform-bugs.md, section 4: create and close VMs in a
# loop while another task context-switches all the time. Each first VM and
# each last VM flips the preempt-notifier static key, i.e. live-patches
# finish_task_switch(); on Debian's kernel under QEMU TCG that hangs the
# two-CPU guest. HOLD=1 keeps one VM open, so the key stays on; a guest
# with one CPU (--smp 1) does not hang either way.
# Runs in the Debian guest, with the stock modules:
#   scripts/debian-vm.py --timeout 300 'docs/repro/vm-create-loop.sh 4000'
#   scripts/debian-vm.py --timeout 300 'HOLD=1 docs/repro/vm-create-loop.sh 4000'
#   scripts/debian-vm.py --smp 1 --timeout 300 'docs/repro/vm-create-loop.sh 4000'
n=${1:-4000}
modprobe kvm && modprobe kvm_amd || exit 1
python3 -c '
import time
while True:
    time.sleep(0.0002)' &
python3 - "$n" <<'PY'
import fcntl, os, sys, time
KVM_CREATE_VM = 0xAE01
n = int(sys.argv[1])
kvm = os.open("/dev/kvm", os.O_RDWR)
if os.environ.get("HOLD"):
    held = fcntl.ioctl(kvm, KVM_CREATE_VM, 0)
start = time.time()
for i in range(n):
    os.close(fcntl.ioctl(kvm, KVM_CREATE_VM, 0))
    if i % 500 == 0:
        print("vm-create-loop: %d VMs, %.1fs" % (i, time.time() - start), flush=True)
print("vm-create-loop: done, %d VMs in %.1fs" % (n, time.time() - start), flush=True)
PY
rc=$?
kill %1
exit $rc
