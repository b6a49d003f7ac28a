#!/bin/bash
# Build what tests/qemu-boot.sh needs besides the test kernel: the preload
# library that disables KVM_X86_QUIRK_SLOT_ZAP_ALL in an unmodified VMM, and
# the initramfs of the small guest that QEMU boots inside the test VM (its
# kernel is the test kernel itself), with guest/churn-bench.c for
# scripts/qemu-churn.sh. Output in build/preload and build/l2.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"

BUSYBOX=/bin/busybox
OUT_PRELOAD=$BUILD/preload
OUT_L2=$BUILD/l2

mkdir -p "$OUT_PRELOAD" "$OUT_L2"

log "building build/preload/libslotzap-preload.so"
gcc -shared -fPIC -O2 -Wall -Wextra -Werror \
	-o "$OUT_PRELOAD/libslotzap-preload.so" "$TOP/preload/slotzap-preload.c" -ldl ||
	die "building the preload library failed (gcc and libc6-dev come with 'make deps')"

log "building build/l2/initramfs.cpio.gz"
file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked' ||
	ldd "$BUSYBOX" 2>&1 | grep -q 'not a dynamic executable' ||
	die "$BUSYBOX is not a static busybox; install busybox-static ('make deps')"
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,proc,sys}
cp "$BUSYBOX" "$root/bin/busybox"
cp "$TOP/guest/l2-init" "$root/init"
gcc -static -O2 -Wall -Wextra -Werror -o "$root/bin/churn-bench" "$TOP/guest/churn-bench.c" ||
	die "building guest/churn-bench.c (static) failed (gcc and libc6-dev come with 'make deps')"
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -9 > "$OUT_L2/initramfs.cpio.gz.tmp"
mv "$OUT_L2/initramfs.cpio.gz.tmp" "$OUT_L2/initramfs.cpio.gz"
