#!/bin/bash
# The demo of 'make': boot the test kernel under QEMU TCG in the TDP MMU
# configuration, show KVM (kvm_amd, nested paging) coming up in the guest,
# run the feature selftest in it, then boot a real QEMU guest inside it with
# KVM_X86_QUIRK_SLOT_ZAP_ALL on and off and compare the two runs.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

log "demo: booting the test kernel (kvm_amd.npt=1 kvm.tdp_mmu=1) and running a selftest inside"
timed demo "$TOP/scripts/vm.py" --config svm-tdp-mmu --timeout 300 --out "$BUILD/vm/demo" '
	echo "guest kernel: $(uname -r), $(nproc) vCPUs"
	echo "CPU flags: $(grep -o -w -E "svm|npt" /proc/cpuinfo | sort -u | tr "\n" " ")"
	echo "kvm_amd: npt=$(cat /sys/module/kvm_amd/parameters/npt) tdp_mmu=$(cat /sys/module/kvm/parameters/tdp_mmu)"
	ls -l /dev/kvm
	echo "--- memslot_zap_test: the quirk at work (refaults after deleting an unrelated 4 KiB memslot) ---"
	build/selftests/install/memslot_zap_test
' || die "demo failed; console log: build/vm/demo/console.log"
log "demo: KVM runs in the guest and the feature selftest passed"

log "demo: a real QEMU guest (SeaBIOS + Linux, in-place reboot) with the quirk on and off"
timed qemu "$TOP/scripts/qemu-guests.sh" svm-tdp-mmu ||
	die "QEMU guest demo failed; console log: build/vm/qemu-svm-tdp-mmu/console.log"
log "demo: memslot operations and faults per run, side by side (quirk=on is stock QEMU, off goes through build/preload/libslotzap-preload.so)"
