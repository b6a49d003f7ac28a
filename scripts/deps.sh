#!/bin/bash
# Install the Debian packages the project needs (idempotent; quick no-op
# when all are installed already).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PKGS=(
	linux-source-6.1                          # the base (patches/BASE)
	gcc libc6-dev make flex bison bc          # kernel and selftest build
	libelf-dev libssl-dev rsync cpio xz-utils kmod
	ccache                                    # fast rebuilds (every series prefix)
	git perl python3                          # series handling, checkpatch, scripts
	qemu-system-x86                           # the test VM (TCG, -cpu max)
	busybox-static                            # initramfs of the nested QEMU guest (scripts/build-l2.sh)
	sudo                                      # nx_huge_pages_test.sh calls sudo
)

missing=()
for p in "${PKGS[@]}"; do
	[ "$(dpkg-query -W -f '${db:Status-Abbrev}' "$p" 2>/dev/null)" = "ii " ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	log "deps: all ${#PKGS[@]} packages are installed"
	exit 0
fi

SUDO=
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null && sudo -n true 2>/dev/null ||
		die "installing ${missing[*]} needs root: run 'make deps' as root, or set up sudo (sudo -n true must work) for $(id -un)"
	SUDO=sudo
fi
log "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
timed "apt-get update" $SUDO apt-get update -q ||
	die "apt-get update failed; check /etc/apt/sources.list and the network"
timed "apt-get install" $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" ||
	die "apt-get install failed for: ${missing[*]}"
