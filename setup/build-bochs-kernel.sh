#!/bin/bash
# Print the path of the kernel that scripts/bochs.py boots: the test kernel
# of build/obj-test (configs/kvm-test.config, LZ4-compressed, as Bochs
# executes the decompressor instruction by instruction), built first if it
# is not there yet or is of a configuration from before LZ4.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"

need_source
{ [ -f "$OBJ_TEST/arch/x86/boot/bzImage" ] && grep -qx 'CONFIG_KERNEL_LZ4=y' "$OBJ_TEST/.config"; } ||
	"$TOP/setup/build-kernel.sh" "$OBJ_TEST" "$TOP/configs/kvm-test.config" >&2
echo "$OBJ_TEST/arch/x86/boot/bzImage"
