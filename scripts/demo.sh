#!/bin/bash
# The demo of 'make': boot the test kernel under QEMU TCG in the TDP MMU
# configuration, show KVM (kvm_amd, nested paging) coming up in the guest,
# and run a KVM selftest in it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

log "demo: booting the test kernel (kvm_amd.npt=1 kvm.tdp_mmu=1) and running a selftest inside"
timed demo "$TOP/scripts/vm.py" --config svm-tdp-mmu --timeout 300 --out "$BUILD/vm/demo" '
	echo "guest kernel: $(uname -r), $(nproc) vCPUs"
	echo "CPU flags: $(grep -o -w -E "svm|npt" /proc/cpuinfo | sort -u | tr "\n" " ")"
	echo "kvm_amd: npt=$(cat /sys/module/kvm_amd/parameters/npt) tdp_mmu=$(cat /sys/module/kvm/parameters/tdp_mmu)"
	ls -l /dev/kvm
	echo "--- set_memory_region_test (KVM selftest) ---"
	build/selftests/install/set_memory_region_test
' || die "demo failed; console log: build/vm/demo/console.log"
log "demo: KVM runs in the guest and the selftest passed"
