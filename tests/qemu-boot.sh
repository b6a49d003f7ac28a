#!/bin/bash
# Boot a real guest with Debian's QEMU and KVM, inside the test VM: SeaBIOS,
# then the test kernel with guest/l2-init as its initramfs. The guest writes a
# pattern into RAM, reboots in place (a second BIOS pass, with its memslot
# churn, over memory that is already mapped), checks the pattern and powers
# off. QEMU runs under the preload library, which counts memslot operations
# and the vCPUs' faults, and disables KVM_X86_QUIRK_SLOT_ZAP_ALL for 'off'.
#
# usage: tests/qemu-boot.sh on|off
#   env: SLOTZAP_QEMU_BOOT_TIMEOUT  seconds before QEMU is killed (default
#        300; both boots take 15-40 s under TCG), well inside the time
#        limit of the VM around it, so a hung guest is reported here
# Prints one 'QEMU-BOOT ...' result line; exits non-zero if the guest did not
# get through both boots with its memory intact.
set -uo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:?usage: $0 on|off}
kernel=${L2_KERNEL:-$TOP/build/obj-test/arch/x86/boot/bzImage}
initrd=$TOP/build/l2/initramfs.cpio.gz
lib=$TOP/build/preload/libslotzap-preload.so

for f in "$kernel" "$initrd" "$lib"; do
	[ -f "$f" ] || { echo "qemu-boot: $f is missing; run 'make selftests'"; exit 2; }
done
[ -c /dev/kvm ] || { echo "qemu-boot: no /dev/kvm in this kernel"; exit 2; }

work=$(mktemp -d)
start=$(date +%s%N)
SLOTZAP_QUIRK=$mode SLOTZAP_REPORT=$work/report LD_PRELOAD=$lib \
	timeout "${SLOTZAP_QEMU_BOOT_TIMEOUT:-300}" qemu-system-x86_64 -enable-kvm -cpu host -smp 1 -m 512 \
	-no-user-config -nic none -display none -monitor none \
	-serial "file:$work/console" \
	-kernel "$kernel" -initrd "$initrd" \
	-append 'console=ttyS0 memmap=16M$256M panic=-1 loglevel=4' \
	> "$work/qemu.log" 2>&1
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))

ok=1
grep -q 'SLOTZAP-L2 boot1 pattern written' "$work/console" || ok=0
grep -q 'SLOTZAP-L2 boot2 pattern intact' "$work/console" || ok=0
[ "$rc" = 0 ] || ok=0
[ -s "$work/report" ] || ok=0

printf 'QEMU-BOOT quirk=%s result=%s time_ms=%s %s\n' "$mode" \
	"$([ $ok = 1 ] && echo pass || echo FAIL)" "$ms" "$(head -1 "$work/report" 2>/dev/null)"
if [ $ok != 1 ]; then
	if [ "$rc" = 124 ]; then
		echo "qemu-boot: the guest hung: QEMU killed after ${SLOTZAP_QEMU_BOOT_TIMEOUT:-300} s; its output and the guest console follow"
	else
		echo "qemu-boot: QEMU exited with $rc; its output and the guest console follow"
	fi
	tail -20 "$work/qemu.log"
	tail -40 "$work/console"
fi
rm -rf "$work"
[ $ok = 1 ]
