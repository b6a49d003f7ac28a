#!/bin/bash
# Build the initramfs of the Bochs test VM (scripts/bochs.py): Bochs has no
# 9p, so the guest gets everything it runs from here.
#   build-bochs-initramfs.sh [OUTPUT]   (default build/bochs/initramfs.cpio.gz)
# Contents: busybox-static (shell and tools), guest/bochs-init as /init,
# guest/bochs-run-tests as /bin/run-tests, tests/intel-tests,
# preload/bochs-guest-if.c built as /bin/bochs-guest-if.so, and in
# /selftests the selftest binaries that tests/intel-tests names (plus those in
# $BOCHS_EXTRA_TESTS), with the shared libraries and loader they need (ldd).
# The per-run command is appended by bochs.py as a second archive.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"

out=$(realpath -m "${1:-$BUILD/bochs/initramfs.cpio.gz}")
INST=$BUILD/selftests/install
"$TOP/setup/bochs-deps.sh"
[ -f "$INST/tests.txt" ] || die "no selftests in $INST; run 'make selftests' first"

bins=$(sed -e 's/#.*//' "$TOP/tests/intel-tests" | awk 'NF { sub(/\/.*/, "", $1); print $1 }' | sort -u)
bins="$bins ${BOCHS_EXTRA_TESTS:-}"

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,root,selftests,etc}
cp /bin/busybox "$root/bin/busybox"
for app in $("$root/bin/busybox" --list); do
	[ -e "$root/bin/$app" ] || ln -s busybox "$root/bin/$app"
done
cp "$TOP/guest/bochs-init" "$root/init"
cp "$TOP/guest/bochs-run-tests" "$root/bin/run-tests"
cp "$TOP/tests/intel-tests" "$root/selftests/intel-tests"
chmod 755 "$root/init" "$root/bin/run-tests"

# LD_PRELOAD library working around a Bochs VMX bug (see the source)
gcc -O2 -Wall -shared -fPIC -isystem "$OBJ_TEST/usr/include" \
	-o "$root/bin/bochs-guest-if.so" "$TOP/preload/bochs-guest-if.c"

libs=()
for b in $bins; do
	[ -x "$INST/$b" ] || die "selftest $b is not in $INST (named in tests/intel-tests)"
	cp "$INST/$b" "$root/selftests/"
	strip -s "$root/selftests/$b" 2>/dev/null || true
	while read -r lib; do libs+=("$lib"); done < <(ldd "$INST/$b" 2>/dev/null |
		grep -oE '/[^ ]+' | grep -v '^/.*:$' || true)
done
for lib in $(printf '%s\n' "${libs[@]}" | sort -u); do
	# keep the path the binaries ask for (the loader at /lib64/...)
	mkdir -p "$root$(dirname "$lib")"
	cp -L "$lib" "$root$lib"
done
# for busybox id/whoami/su
echo "root:x:0:0:root:/root:/bin/sh" > "$root/etc/passwd"

mkdir -p "$(dirname "$out")"
(cd "$root" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc --owner 0:0 --quiet | gzip -6) > "$out.tmp"
mv "$out.tmp" "$out"
log "bochs initramfs: $out ($(du -h "$out" | cut -f1); $(echo $bins | wc -w) selftests, $(printf "%s\n" "${libs[@]}" | sort -u | wc -l) libs)"
