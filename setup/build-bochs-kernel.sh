#!/bin/bash
# Build the kernel that scripts/bochs.py boots and print the path of its
# bzImage: the test kernel (configs/kvm-test.config), compressed with LZ4.
# Bochs executes the kernel's decompressor instruction by instruction: XZ
# (tinyconfig's default) costs ~1.3 billion guest instructions per boot there
# (15-60 s of wall time, depending on the load), LZ4 ~0.15 billion.
# If the test kernel of build/obj-test is LZ4 already, its bzImage is used;
# otherwise build/obj-bochs is the same kernel plus configs/bochs-kernel.config.
# Its first build takes about a minute when ccache holds obj-test's objects
# (obj-bochs sits next to obj-test, so the compiler sees the same relative
# paths), later builds are incremental.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"

need_source
if grep -qx 'CONFIG_KERNEL_LZ4=y' "$OBJ_TEST/.config" 2>/dev/null &&
		[ -f "$OBJ_TEST/arch/x86/boot/bzImage" ]; then
	echo "$OBJ_TEST/arch/x86/boot/bzImage"
	exit 0
fi
command -v lz4 >/dev/null || "$TOP/setup/bochs-deps.sh" >&2
"$TOP/setup/build-kernel.sh" "$BUILD/obj-bochs" "$TOP/configs/kvm-test.config" \
	"$TOP/configs/bochs-kernel.config" >&2
echo "$BUILD/obj-bochs/arch/x86/boot/bzImage"
