#!/bin/bash
# The kvm-slotzap modules on Debian's own, unmodified kernel: boot the stock
# vmlinuz of linux-image-$DEBIAN_ABI under QEMU TCG (-cpu max: AMD SVM with
# NPT; one CPU, see docs/platform-bugs.md, 4) with scripts/debian-vm.py, the
# modules under test in its /lib/modules/$DEBIAN_ABI/updates/dkms, and in it:
#   1. load the stock KVM modules: KVM_X86_QUIRK_SLOT_ZAP_ALL (bit 7) absent;
#   2. modprobe resolves KVM to the modules under test; reload KVM: ours
#      are loaded, bit 7 present;
#   3. in each MMU configuration (module parameters, tests/mmu-configs),
#      reload kvm/kvm_amd and run the feature selftests; the QEMU guest boot
#      (tests/qemu-boot.sh off: stock QEMU with the quirk disabled by the
#      package's preload library) runs in the configurations of $QEMU_CONFIGS;
#      An external page-track user (tests/track: KVM-GT's role, without a
#      GPU) is attached in each configuration: DELETEs reach it, MOVE is
#      refused while it is attached (tests/track/track-test.c);
#   4. kvmgt: ours loads with our kvm; the stock one is refused.
# Removing the package is tested on the host ('tests/debian-dkms-test.sh
# remove'): dkms under TCG took 4 minutes to remove it here.
# Any kernel splat in the console fails the test (scripts/vm.py).
#
# The modules under test:
#   package mode (default): those dkms built and installed on this host
#       from kvm-slotzap-dkms (tests/debian-dkms-test.sh installs it), in
#       /lib/modules/$DEBIAN_ABI/updates/dkms; the package's other files
#       (kvm-slotzap-check, the preload library) are the host's, which the
#       guest sees through its copy-on-write root.
#   SLOTZAP_DEBIAN_MODULES=DIR: the modules in DIR ('scripts/debian-modules.sh
#       build' leaves them in build/debian/modules; make mutants), no package.
#
# usage: tests/debian-modules-test.sh
#   env: QEMU_CONFIGS  configurations that run qemu-boot.sh (default
#                      svm-tdp-mmu; 'all' for the three, '' for none)
#        SELFTESTS     selftests per configuration (default memslot_zap_test;
#                      set_memory_region_test takes > 120 s under TCG)
#        SLOTZAP_TIMEOUT  VM time limit in seconds (default 420: make check's run
#                         takes 75-120 s, and qemu-boot.sh inside has 300 s of
#                         its own; raise it for more SELFTESTS or QEMU_CONFIGS).
#                         A guest whose every CPU hangs ends sooner, at
#                         scripts/vm.py's heartbeat check (--hang)
# Needs: scripts/debian-modules.sh build and fixture, make selftests
# (selftests, preload library, L2 kernel and initramfs for qemu-boot.sh).
# Prints one result per check and writes build/results/debian-modules.results.
set -uo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$TOP/scripts/lib.sh"
. "$TOP/patches/BASE"
ABI=$DEBIAN_ABI
PKG=kvm-slotzap-dkms
CHECK=$TOP/packaging/kvm-slotzap-check
MODDIR=/lib/modules/$ABI/updates/dkms
TRACK=$BUILD/debian/track   # scripts/debian-modules.sh fixture
SELFTESTS=${SELFTESTS-memslot_zap_test}
QEMU_CONFIGS=${QEMU_CONFIGS-svm-tdp-mmu}
[ "$QEMU_CONFIGS" = all ] && QEMU_CONFIGS="svm-shadow svm-tdp-legacy svm-tdp-mmu"

###########################################################################
# In the guest
###########################################################################
guest() {
	local res=$OUT/debian-modules.results rc
	: > "$res"
	ok() { printf 'pass\t%s\t%s\n' "$1" "${2:-}" >> "$res"; echo "DEBIAN-MODULES pass: $1${2:+ ($2)}"; }
	bad() { printf 'fail\t%s\t%s\n' "$1" "${2:-}" >> "$res"; echo "DEBIAN-MODULES FAIL: $1${2:+ ($2)}"; }
	check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
	section() { echo; echo "=== $* [$(cut -d' ' -f1 /proc/uptime)s]"; }
	loaded_is() {   # kvm-slotzap|stock: where kvm and kvm_amd were loaded from (build IDs)
		local m
		for m in kvm kvm_amd; do
			[ "$("$CHECK" --which $m | cut -d' ' -f1)" = "$1" ] || return 1
		done
	}
	# guest-init writes the uptime into $OUT/heartbeat every 10 s: a stuck
	# guest's post-mortem below reads the last one it reached
	section "guest: $(uname -r), $(nproc) cpus; root: $(findmnt -no FSTYPE /) over the host's 9p root"
	[ "$(uname -r)" = "$ABI" ] || { bad "boot Debian's $ABI" "running $(uname -r)"; return 1; }
	ok "boot Debian's stock $ABI kernel (linux-image $VERSION)"
	# guest-init put a tmpfs on /var/lib: use the overlay's, i.e. the host's
	# dpkg database, copy-on-write (the package's version).
	if mountpoint -q /var/lib; then umount /var/lib; fi
	[ -f /var/lib/dpkg/status ] || { bad "the guest sees the host's dpkg database" "no /var/lib/dpkg/status"; return 1; }

	section "1. stock modules"
	# as before the package: the modules under test out of modprobe's sight
	mv "$MODDIR" /tmp/updates-dkms && depmod "$ABI"
	modprobe kvm && modprobe kvm_amd
	check "stock kvm and kvm_amd load" loaded_is stock
	"$CHECK" --expect no | tee "$OUT/bit7-before.txt"
	rc=${PIPESTATUS[0]}
	check "stock KVM does not report bit 7" test "$rc" = 0

	if [ -n "${SLOTZAP_DEBIAN_MODULES:-}" ]; then
		section "2. the modules of $SLOTZAP_DEBIAN_MODULES (no package)"
	else
		section "2. the modules dkms built on the host from $PKG $(dpkg-query -W -f '${Version}' $PKG)"
	fi
	mv /tmp/updates-dkms "$MODDIR" && depmod "$ABI"
	check "modprobe resolves kvm to updates/dkms" test "$(modinfo -n kvm)" = "$MODDIR/kvm.ko"
	modprobe -r kvm_amd kvm && modprobe kvm_amd
	check "reload: our modules are loaded" loaded_is kvm-slotzap
	"$CHECK" --expect yes | tee "$OUT/bit7-installed.txt"
	rc=${PIPESTATUS[0]}
	check "our KVM reports bit 7" test "$rc" = 0
	dmesg | grep -E 'kvm: (module verification|loading out-of-tree)' | sed 's/^/    dmesg: /'
	if [ -z "${SLOTZAP_DEBIAN_MODULES:-}" ]; then
		check "kvm-slotzap-check is installed" test -x /usr/sbin/kvm-slotzap-check
		# qemu-boot.sh preloads build/preload/libslotzap-preload.so: make
		# that the packaged library (in this guest's copy-on-write root only)
		mount --bind /usr/lib/kvm-slotzap/libslotzap-preload.so "$BUILD/preload/libslotzap-preload.so"
		check "qemu-boot.sh will use the packaged preload library" \
			cmp -s /usr/lib/kvm-slotzap/libslotzap-preload.so "$BUILD/preload/libslotzap-preload.so"
	fi

	local cfg params t p st n rc
	while read -r cfg params; do
		section "3. MMU configuration $cfg: $params"
		modprobe -r kvm_amd kvm
		# kernel parameters (kvm_amd.npt=0) as module options (npt=0)
		t=$(echo "$params" | sed -n 's/.*kvm\.tdp_mmu=\([^ ]*\).*/tdp_mmu=\1/p')
		p=$(echo "$params" | sed -n 's/.*kvm_amd\.npt=\([^ ]*\).*/npt=\1/p')
		echo "+ modprobe kvm $t; modprobe kvm_amd $p"
		modprobe kvm $t && modprobe kvm_amd $p
		check "$cfg: our modules loaded with $params" loaded_is kvm-slotzap
		"$CHECK" --expect yes > "$OUT/bit7-$cfg.txt"
		rc=$?
		check "$cfg: bit 7 reported ($(grep '^MMU' "$OUT/bit7-$cfg.txt"))" test "$rc" = 0
		if [ -n "$SELFTESTS" ]; then
			"$TOP/guest/run-selftests.sh" -c "$cfg" -o "$OUT/selftests-$cfg" $SELFTESTS |
				tee "$OUT/selftests-$cfg.tap"
			for st in $SELFTESTS; do
				n=$(grep -E "^(not )?ok [0-9]+ $st( |$)" "$OUT/selftests-$cfg.tap")
				case "$n" in
				"ok "*SKIP*) bad "$cfg: $st" "skipped: ${n#*# }" ;;
				"ok "*) ok "$cfg: $st" "${n#*# }" ;;
				*) bad "$cfg: $st" "${n:-no result}; log: $OUT/selftests-$cfg/logs/$st.log" ;;
				esac
			done
		fi
		if insmod "$TRACK/slotzap_track.ko"; then
			"$TRACK/track-test" > "$OUT/track-$cfg.tap" 2>&1
			rc=$?
			sed 's/^/    /' "$OUT/track-$cfg.tap"
			check "$cfg: an external page-track user sees DELETEs, MOVE refused ($(grep -c '^ok' "$OUT/track-$cfg.tap") checks passed; tests/track)" \
				test "$rc" = 0
			rmmod slotzap_track
		else
			bad "$cfg: the test page-track user slotzap_track.ko loads with our kvm"
		fi
		if [[ " $QEMU_CONFIGS " == *" $cfg "* ]]; then
			"$TOP/tests/qemu-boot.sh" off | tee "$OUT/qemu-boot-$cfg.txt"
			rc=${PIPESTATUS[0]}
			check "$cfg: QEMU guest boot, quirk off ($(grep -o 'time_ms=[0-9]*' "$OUT/qemu-boot-$cfg.txt"))" \
				test "$rc" = 0
		fi
	done < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$TOP/tests/mmu-configs")

	section "4. kvmgt"
	if modprobe kvmgt; then
		check "our kvmgt loads with our kvm" test "$("$CHECK" --which kvmgt | cut -d' ' -f1)" = kvm-slotzap
		modprobe -r kvmgt
	else
		bad "our kvmgt loads with our kvm"
	fi
	modprobe -a i915 mdev vfio
	if insmod "/lib/modules/$ABI/kernel/drivers/gpu/drm/i915/kvmgt.ko" 2> /tmp/insmod.err; then
		bad "the stock kvmgt is refused with our kvm" "it loaded"
		rmmod kvmgt
	else
		dmesg | grep 'kvmgt: disagrees about version of symbol' | tail -3 | sed 's/^/    dmesg: /'
		check "the stock kvmgt is refused with our kvm ($(sed 's/.*: //' /tmp/insmod.err))" \
			dmesg_has 'kvmgt: disagrees about version of symbol'
	fi
	modprobe -r i915 mdev vfio 2>/dev/null

	! grep -q '^fail' "$res"
}
# Not 'grep -q': it exits at the first match, dmesg then dies of SIGPIPE
# while still writing, and pipefail turns a match into a failure (the
# clean-clone make check of 2026-12-04 failed "the stock kvmgt is refused"
# that way, with the lines it looked for in dmesg).
dmesg_has() { dmesg | grep -- "$1" > /dev/null; }

###########################################################################
# On the host
###########################################################################
vm_status() {   # scripts/vm.py's exit statuses
	case "$1" in
	124) echo "timeout: the guest hung" ;;
	125) echo "the guest died without an exit status" ;;
	126) echo "kernel splat" ;;
	*) echo "the guest test failed" ;;
	esac
}

# cpus_at_timeout FILE: ', vCPUs at the hang: ...' from vm.py's register
# dump of a hung VM, nothing without one
cpus_at_timeout() {
	[ -f "$1" ] && [ -s "$1" ] || return 0
	printf ', vCPUs at the hang: %s' "$(cd "$TOP" && python3 -c '
import sys
sys.path.insert(0, "scripts")
import vm
print(vm.where_cpus_were(open(sys.argv[1]).read()))' "$1" 2>&1 | tail -1)"
}

host() {
	local out=$BUILD/vm/debian-modules res=$BUILD/results start rc f
	local mods=${SLOTZAP_DEBIAN_MODULES:-$MODDIR}
	start=$(date +%s)
	mkdir -p "$res"
	if [ -z "${SLOTZAP_DEBIAN_MODULES:-}" ]; then
		[ "$(dpkg-query -W -f '${db:Status-Abbrev}' $PKG 2>/dev/null)" = "ii " ] ||
			die "$PKG is not installed on this host; tests/debian-dkms-test.sh installs it (or set SLOTZAP_DEBIAN_MODULES=DIR)"
	fi
	for f in kvm kvm-amd kvm-intel kvmgt; do
		[ -f "$mods/$f.ko" ] || die "$mods/$f.ko is missing"
	done
	"$TOP/scripts/debian-modules.sh" deps || die "missing packages"
	"$TOP/scripts/debian-modules.sh" image || die "cannot get Debian's kernel"
	"$TOP/scripts/debian-modules.sh" fixture || die "cannot build the test page-track user (tests/track)"
	for f in $SELFTESTS; do
		[ -x "$BUILD/selftests/install/$f" ] || die "build/selftests/install/$f is missing; run 'make selftests'"
	done
	if [ -n "$QEMU_CONFIGS" ]; then
		[ -f "$OBJ_TEST/arch/x86/boot/bzImage" ] ||
			die "$OBJ_TEST/arch/x86/boot/bzImage is missing (tests/qemu-boot.sh boots it); run 'make kernel'"
		# the nested guest's initramfs and the preload library: seconds to
		# build, and make check's qemu stage may not have run before this
		"$TOP/setup/build-l2.sh" || die "cannot build what tests/qemu-boot.sh needs (setup/build-l2.sh)"
	fi
	# A failed run goes again only on a platform signature of
	# tests/platform-retries (harness/retry.py), e.g. the guest CPU stuck
	# in the int3 of a live-patched jump label (docs/platform-bugs.md, 4).
	local run=1 seen= decision
	while :; do
		log "booting Debian's $ABI under QEMU TCG (run $run); qemu-boot.sh in: ${QEMU_CONFIGS:-none}; selftests: ${SELFTESTS:-none}"
		SELFTESTS=$SELFTESTS QEMU_CONFIGS=$QEMU_CONFIGS \
			"$TOP/scripts/debian-vm.py" --smp 1 --updates "$mods" --timeout "${SLOTZAP_TIMEOUT:-420}" --out "$out" \
			"SLOTZAP_DEBIAN_MODULES='${SLOTZAP_DEBIAN_MODULES:-}' SELFTESTS='$SELFTESTS' QEMU_CONFIGS='$QEMU_CONFIGS' $TOP/tests/debian-modules-test.sh --guest"
		rc=$?
		[ $rc -ne 0 ] || break
		decision=$(cd "$TOP" && python3 -m harness.retry --test debian-modules-vm --config all \
			--log "$out/console.log" --run $run --seen "$seen") || break
		echo "run $run failed (vm exit $rc, $(vm_status "$rc")): $decision" >&2
		seen="$seen${seen:+,}$(echo "$decision" | sed -n 's/^retry \([^:]*\):.*/\1/p')"
		rm -rf "$out.run$run" && mv "$out" "$out.run$run"
		run=$((run + 1))
	done
	cp "$out/debian-modules.results" "$res/debian-modules.results" 2>/dev/null || : > "$res/debian-modules.results"
	if [ $rc -eq 0 ] && [ $run -gt 1 ]; then
		printf 'flaky\tDebian modules VM test\tpassed on run %s after platform signature(s) %s; earlier runs in %s.run*\n' \
			"$run" "$seen" "$out" >> "$res/debian-modules.results"
	fi
	if [ $rc -ne 0 ] && ! grep -q '^fail' "$res/debian-modules.results"; then
		# where the guest was: its last section, the last uptime it
		# reported, the last console line and, when it hung, where its
		# vCPU was (vm.py's register dump, summed up as vm.py does)
		printf 'fail\tDebian modules VM test\tvm exit %s (%s) in "%s", guest uptime %ss, last line "%s"%s; see %s/console.log\n' \
			"$rc" "$(vm_status "$rc")" \
			"$(grep '^=== ' "$out/console.log" | tail -1 | sed 's/^=== //')" \
			"$(cat "$out/heartbeat" 2>/dev/null || echo '?')" \
			"$(grep -v '^[[:space:]]*$' "$out/console.log" | tail -1 | cut -c1-120)" \
			"$(cpus_at_timeout "$out/cpus-at-timeout.txt")" \
			"$out" >> "$res/debian-modules.results"
	fi
	echo
	echo "bit 7 with the stock modules / with ours:"
	for f in before installed; do
		echo "  [$f] $(grep -h 'KVM_CHECK_EXTENSION' "$out/bit7-$f.txt" 2>/dev/null || echo 'no result')"
	done
	awk -F'\t' '{ n[$1]++ } END { printf "debian-modules: %d passed, %d failed\n", n["pass"], n["fail"] }' \
		"$res/debian-modules.results"
	printf '    [debian-modules test: %ss, results in %s]\n' "$(($(date +%s) - start))" "$out" >&2
	[ $rc -eq 0 ]
}

if [ "${1:-}" = --guest ]; then
	guest
else
	host
fi
