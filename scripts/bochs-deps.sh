#!/bin/bash
# Install the Debian packages of the Bochs (Intel VMX) test backend, only the
# missing ones: a quick no-op when all are there. scripts/deps.sh covers the
# QEMU side; this list is kept apart so the Intel runs can be set up alone.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PKGS=(
	bochs bochsbios vgabios bochs-term   # the emulator, its BIOS, VGA BIOS, term display
	grub-pc-bin grub-common xorriso mtools  # grub-mkrescue: bootable ISO with bzImage + initramfs
	busybox-static cpio gzip             # the initramfs (shell and tools, archive)
	lz4 rsync                            # the LZ4 variant of the test kernel (build-bochs-kernel.sh)
	python3                              # scripts/bochs.py
)

missing=()
for p in "${PKGS[@]}"; do
	[ "$(dpkg-query -W -f '${db:Status-Abbrev}' "$p" 2>/dev/null)" = "ii " ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null && sudo -n true 2>/dev/null ||
		die "installing ${missing[*]} needs root: run scripts/bochs-deps.sh as root, or set up sudo (sudo -n true must work)"
	SUDO=sudo
fi
log "bochs-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
timed "apt-get update" $SUDO apt-get update -q ||
	die "apt-get update failed; check /etc/apt/sources.list and the network"
timed "apt-get install" $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" ||
	die "apt-get install failed for: ${missing[*]}"
