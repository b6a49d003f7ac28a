#!/bin/bash
# In the test VM: run kvm-unit-tests (built by scripts/kut.sh into
# build/kut/src) with Debian's QEMU on this kernel's KVM and write their TAP.
#   guest/kut-run.sh on|off TAPFILE [TEST...]
# on:  stock QEMU (KVM_X86_QUIRK_SLOT_ZAP_ALL enabled, the default);
# off: QEMU under the preload library, which disables bit 7 only (the other
#      quirks, e.g. hypercall patching, stay as KVM-unit-tests expects).
# The tree is copied to tmpfs: run_tests.sh writes its logs next to itself.
# SLOTZAP_KUT_TIMEOUT (default 180s) replaces every test's own timeout.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
mode=$1 tap=$2
shift 2
src=$TOP/build/kut/src
[ -f "$src/config.mak" ] || { echo "kut-run: $src is not built; run scripts/kut.sh build" >&2; exit 2; }
rm -rf /tmp/kut && cp -a "$src" /tmp/kut || exit 2
cd /tmp/kut || exit 2
qemu=$(command -v qemu-system-x86_64) || { echo "kut-run: qemu-system-x86_64 not found" >&2; exit 2; }
case $mode in
on) ;;
off)
	lib=$TOP/build/selftests/install/libslotzap-preload.so
	[ -f "$lib" ] || { echo "kut-run: $lib missing; run make selftests" >&2; exit 2; }
	printf '#!/bin/sh\nSLOTZAP_QUIRK=off LD_PRELOAD=%s exec %s "$@"\n' "$lib" "$qemu" > qemu-slotzap
	chmod +x qemu-slotzap
	qemu=/tmp/kut/qemu-slotzap
	;;
*) echo "kut-run: mode must be on or off" >&2; exit 2 ;;
esac
QEMU=$qemu ACCEL=kvm TIMEOUT=${SLOTZAP_KUT_TIMEOUT:-180s} ./run_tests.sh -t "$@" > "$tap"
rc=$?
cp -a logs "${tap%.tap}.logs" 2>/dev/null
exit $rc
