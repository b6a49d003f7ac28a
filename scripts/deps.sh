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
	gnuplot-nox                               # make bench: build/bench/bench.png
)

install_pkgs "make deps" "${PKGS[@]}"
