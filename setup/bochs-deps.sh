#!/bin/bash
# Install the Debian packages of the Bochs (Intel VMX) test backend, only the
# missing ones: a quick no-op when all are there. setup/deps.sh covers the
# QEMU side; this list is kept apart so the Intel runs can be set up alone.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"

PKGS=(
	bochs bochsbios vgabios bochs-term   # the emulator, its BIOS, VGA BIOS, term display
	grub-pc-bin grub-common xorriso mtools  # grub-mkrescue: bootable ISO with bzImage + initramfs
	busybox-static cpio gzip             # the initramfs (shell and tools, archive)
	python3                              # scripts/bochs.py
)

install_pkgs "setup/bochs-deps.sh" "${PKGS[@]}"
