#!/bin/bash
# Run inside the test VM (scripts/bench.py does): a real guest under memslot
# churn. Boots the small Linux guest of tests/qemu-boot.sh under Debian's
# QEMU with KVM, one vCPU, std VGA, and runs guest/churn-bench.c in it: the
# guest writes over MIB MiB of its memory and reports its throughput every
# 100 ms, QUIET_S seconds without churn, then CHURN_S seconds while it turns
# the VGA's memory decoding off and on every PERIOD_US (QEMU deletes and
# re-creates the VGA memory's memslot each time). QEMU runs under the
# preload library, which counts the memslot operations and disables
# KVM_X86_QUIRK_SLOT_ZAP_ALL for 'off'.
#
# usage: [THP=never|madvise|always] scripts/qemu-churn.sh on|off [QUIET_S CHURN_S PERIOD_US MIB]
#        (default 5 10 100000 256; THP sets the test VM's transparent huge
#        pages first: QEMU asks for them on guest RAM, so KVM maps it with
#        2 MiB SPTEs unless THP is 'never')
# Prints the guest's throughput lines as 'CHURN quirk=MODE thp=THP t_ms=...
# phase=... pages=... toggles=...' and a last line 'CHURN-RESULT quirk=MODE
# thp=THP result=pass|FAIL ...' with the memslot operations QEMU made. Exits non-zero
# when the guest did not finish: 124 when QEMU was still running at the
# time limit (a hang, which scripts/bench.py does not run again), 1
# otherwise. A benchmark: nothing is asserted on the numbers.
set -uo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:?usage: $0 on|off [QUIET_S CHURN_S PERIOD_US MIB]}
quiet=${2:-5} churn=${3:-10} period=${4:-100000} mib=${5:-256}
thp_file=/sys/kernel/mm/transparent_hugepage/enabled
kernel=${L2_KERNEL:-$TOP/build/obj-test/arch/x86/boot/bzImage}
initrd=$TOP/build/l2/initramfs.cpio.gz
lib=$TOP/build/preload/libslotzap-preload.so

for f in "$kernel" "$initrd" "$lib"; do
	[ -f "$f" ] || { echo "qemu-churn: $f is missing; run 'make selftests' and setup/build-l2.sh"; exit 2; }
done
[ -c /dev/kvm ] || { echo "qemu-churn: no /dev/kvm in this kernel"; exit 2; }

if [ -n "${THP:-}" ]; then
	echo "$THP" > "$thp_file" || { echo "qemu-churn: cannot set $thp_file to $THP"; exit 2; }
fi
thp=$(sed -n 's/.*\[\(.*\)\].*/\1/p' "$thp_file" 2>/dev/null)
thp=${thp:-none}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
SLOTZAP_QUIRK=$mode SLOTZAP_REPORT=$work/report LD_PRELOAD=$lib \
	timeout $((quiet + churn + 300)) qemu-system-x86_64 -enable-kvm -cpu host -smp 1 \
	-m $((mib + 256)) -no-user-config -nic none -display none -vga std -monitor none \
	-serial "file:$work/console" \
	-kernel "$kernel" -initrd "$initrd" \
	-append "console=ttyS0 panic=-1 loglevel=4 slotzap.churn=$quiet,$churn,$period,$mib" \
	> "$work/qemu.log" 2>&1
rc=$?

sed -n "s/^SLOTZAP-TPUT /CHURN quirk=$mode thp=$thp /p" "$work/console"
ok=1
grep -q '^SLOTZAP-TPUT-END' "$work/console" || ok=0
grep -q '^SLOTZAP-TPUT-ERROR' "$work/console" && ok=0
[ "$rc" = 0 ] || ok=0
printf 'CHURN-RESULT quirk=%s thp=%s result=%s period_us=%s mib=%s %s\n' "$mode" "$thp" \
	"$([ $ok = 1 ] && echo pass || echo FAIL)" "$period" "$mib" "$(head -1 "$work/report" 2>/dev/null)"
if [ $ok != 1 ]; then
	echo "qemu-churn: QEMU exited with $rc; its output and the guest console follow"
	tail -20 "$work/qemu.log"
	tail -40 "$work/console"
fi
if [ "$rc" = 124 ]; then
	echo "qemu-churn: the guest did not finish in $((quiet + churn + 300)) s; QEMU was killed"
	exit 124
fi
[ $ok = 1 ]
