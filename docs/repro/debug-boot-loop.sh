#!/bin/bash
# Boot a kernel (default: the debug kernel) N times under QEMU TCG with the
# test VM's machine and command line, without a root file system: each boot
# runs every initcall, KVM's included, and ends in the panic at the root
# mount. Counts the boots whose console holds a splat (harness/console.py),
# keeps those consoles, and prints one line per boot; docs/platform-bugs.md
# section 7. Runs on the host:
#   docs/repro/debug-boot-loop.sh [BOOTS] [OUTDIR]
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
boots=${1:-100} out=${2:-$TOP/build/vm/boot-loop}
kernel=${KERNEL:-$TOP/build/obj-debug/arch/x86/boot/bzImage}
[ -r "$kernel" ] || { echo "no kernel at $kernel: make debug-kernel first, or set KERNEL" >&2; exit 1; }
mkdir -p "$out"
splats=0
for i in $(seq "$boots"); do
	t0=$(date +%s)
	timeout 300 qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 4G -nographic \
		-nic none -no-reboot -kernel "$kernel" \
		-append "console=ttyS0 panic=-1 printk.time=1 acpi=noirq kvm_amd.npt=0 softlockup_panic=1 watchdog_thresh=60" \
		> "$out/console.log" 2>&1
	# the panic at the root mount is the end of every boot, not a splat
	sed '/not syncing: VFS: Unable to mount root/,$d' "$out/console.log" > "$out/judged.log"
	r=clean
	if ! grep -q "VFS: Unable to mount root" "$out/console.log"; then
		r="did not reach the root mount"
		cp "$out/console.log" "$out/console-$i.log"
	elif ! (cd "$TOP" && python3 -m harness.console "$out/judged.log") > "$out/verdict"; then
		r="splat: $(head -1 "$out/verdict")"
		splats=$((splats + 1))
		cp "$out/console.log" "$out/console-$i.log"
	fi
	echo "BOOT $i $(($(date +%s) - t0))s $r"
done
echo "BOOTS $boots splats=$splats"
