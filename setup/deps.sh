#!/bin/bash
# Install the Debian packages the project needs (idempotent; quick no-op
# when all are installed already).
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"
. "$TOP/patches/BASE"

PKGS=(
	gcc libc6-dev make flex bison bc          # kernel and selftest build
	libelf-dev libssl-dev rsync cpio xz-utils kmod
	lz4                                       # the test kernel is LZ4-compressed (configs/kvm-test.config)
	ccache                                    # fast rebuilds (every series prefix)
	git perl python3                          # series handling, checkpatch, scripts
	qemu-system-x86                           # the test VM (TCG, -cpu max)
	busybox-static                            # initramfs of the nested QEMU guest (setup/build-l2.sh)
	sudo                                      # nx_huge_pages_test.sh calls sudo
	gnuplot-nox                               # make bench: build/bench/bench.png
	dwarves                                   # pahole: Kconfig writes its version into every .config
	                                          # (CONFIG_PAHOLE_VERSION), so it is here from the start,
	                                          # not only once the Debian modules step installs it:
	                                          # make kut keys its kept results on the .config
)

# The base and the Debian kernel headers at exactly the versions that
# patches/BASE pins. Another installed version of the source package is
# reported, not replaced: setup/source.sh fetches the pinned one.
have=$(dpkg-query -W -f '${db:Status-Abbrev} ${Version}' "$PACKAGE" 2>/dev/null | awk '$1 == "ii" { print $2 }' || true)
if [ -z "$have" ]; then
	PKGS+=("$PACKAGE=$VERSION")
elif [ "$have" != "$VERSION" ]; then
	log "make deps: $PACKAGE $have is installed, the base is $VERSION (patches/BASE); source.sh fetches $VERSION. To move the base: make rebase VERSION=$have"
fi
PKGS+=("linux-headers-$DEBIAN_ABI=$VERSION")

install_pkgs "make deps" "${PKGS[@]}"
