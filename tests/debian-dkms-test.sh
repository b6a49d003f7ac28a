#!/bin/bash
# kvm-slotzap-dkms on this Debian 12 host (root), as an admin would use it.
#
#   tests/debian-dkms-test.sh install
#     0. as on a Debian host, each test kernel's stock KVM modules are in
#        /lib/modules/KERNEL/kernel/ (this host has none of those images
#        installed: the test puts the modules of the downloaded images
#        there, and takes them away in 'remove'); dkms compares ours with
#        them before installing;
#     1. with the headers of the pinned kernel (patches/BASE: DEBIAN_ABI)
#        installed, 'apt install' the package (build/debian/out,
#        scripts/debian-modules.sh package): dkms builds and installs the
#        modules for it;
#     2. install the headers of the same ABI's cloud-amd64 flavour and of
#        the previous ABI (a version the package carries,
#        packaging/dkms-versions) afterwards: dkms's kernel hook builds the
#        modules for each;
#     3. install the headers of a version the package does not carry: the
#        install succeeds, the kernel gets no modules, and the package's
#        hook says why in one line;
#     4. for each of the three kernels: the modules are in updates/dkms and
#        modprobe resolves KVM to them, built from that kernel's own Debian
#        version (dkms's make.log), and each module's vermagic and imported
#        MODVERSIONS CRCs match that kernel (its stock kvm.ko, from
#        linux-image, and its Module.symvers), signed by dkms's MOK
#        (scripts/dkms-verify.py).
#     Writes build/results/dkms.results. tests/debian-modules-test.sh then
#     boots the pinned kernel with these modules.
#   tests/debian-dkms-test.sh remove
#     'apt remove' the package: dkms status is empty, no kernel has the
#     modules any more, and modprobe resolves KVM to the stock modules of
#     each kernel again. Writes build/results/dkms-remove.results.
#
# Before 'install', the package and the headers of steps 2-3 are removed
# if present (so that the kernel hook is what builds step 2's modules);
# 'remove' removes those headers again. The headers of the pinned kernel
# stay (make deps installs them).
set -uo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$TOP/scripts/lib.sh"
. "$TOP/patches/BASE"

PKG=kvm-slotzap-dkms
ABI=$DEBIAN_ABI
CLOUD=${ABI%-amd64}-cloud-amd64
DEB=$BUILD/debian
LOGS=$BUILD/dkms-test
RES=$BUILD/results
export DEBIAN_FRONTEND=noninteractive
# Debian's headers Makefile compiles through ccache with this set: the
# three kernels' builds then share the compiler's work (same source).
command -v ccache >/dev/null && export DEBIAN_KERNEL_USE_CCACHE=1

[ "$(id -u)" -eq 0 ] || die "tests/debian-dkms-test.sh installs packages: run it as root"
mkdir -p "$LOGS" "$RES"

# The previous ABI: the newest carried version other than the base.
# Unsupported: the newest version of the archive older than every carried one.
carried=$(cd "$TOP" && { echo "$VERSION"; sed -e 's/#.*//' -e '/^[[:space:]]*$/d' packaging/dkms-versions; } | sort -u -V)
PREV=$(grep -vx "$VERSION" <<< "$carried" | tail -1)
[ -n "$PREV" ] || die "packaging/dkms-versions names no version besides $VERSION; the test needs two carried ABIs"
oldest=$(head -1 <<< "$carried")
UNSUP=$(apt-cache madison linux-source-6.1 | awk '{ print $3 }' | sort -u -V |
	while read -r v; do dpkg --compare-versions "$v" lt "$oldest" && echo "$v"; done | tail -1)
[ -n "$UNSUP" ] || die "no linux-source-6.1 older than $oldest in the archive ('apt-get update' as root)"
PREV_ABI=$(debian_abi "$PREV")
UNSUP_ABI=$(debian_abi "$UNSUP")

headers_pkgs() {   # ABI: the packages its headers consist of
	echo "linux-headers-$1 linux-headers-${1%-amd64}-common"
}
installed() { [ "$(dpkg-query -W -f '${db:Status-Abbrev}' "$1" 2>/dev/null)" = "ii " ]; }
purge() {          # PKG...: purge those installed
	local p have=()
	for p in "$@"; do installed "$p" && have+=("$p"); done
	[ ${#have[@]} -eq 0 ] || apt-get purge -y -q "${have[@]}" > "$LOGS/purge.log" 2>&1 ||
		{ tail -20 "$LOGS/purge.log"; die "apt-get purge ${have[*]} failed"; }
}

res=
ok() { printf 'pass\t%s\t%s\n' "$1" "${2:-}" >> "$res"; echo "DKMS pass: $1${2:+ ($2)}"; }
bad() { printf 'fail\t%s\t%s\n' "$1" "${2:-}" >> "$res"; echo "DKMS FAIL: $1${2:+ ($2)}"; }
status_of() {      # KERNEL: dkms's word for our module on it: installed, built, or added (not built)
	dkms status -m kvm-slotzap -k "$1" 2>/dev/null | sed -n 's/.*: \([a-z]*\).*/\1/p' | head -1
}
# apt-get with its output in LOGS/NAME.log; prints how long it took
apt_step() {
	local name=$1 start rc
	shift
	start=$(date +%s)
	apt-get "$@" > "$LOGS/$name.log" 2>&1
	rc=$?
	printf '    [%s: %ss, log %s]\n' "$name" "$(($(date +%s) - start))" "${LOGS#$TOP/}/$name.log" >&2
	return $rc
}

# The kernel's own KVM modules (kernel/arch/x86/kvm/*.ko, and KVM-GT's
# kvmgt.ko where it has one) in DIR/lib/modules/KERNEL: from the unpacked
# linux-image of the pinned kernel, else taken out of its linux-image
# package (apt-get download).
STOCK_KVM=(arch/x86/kvm/kvm.ko arch/x86/kvm/kvm-amd.ko arch/x86/kvm/kvm-intel.ko drivers/gpu/drm/i915/kvmgt.ko)
stock_dir() {
	local k=$1 v=$2 deb dir=$DEB/stock/$1 f
	if [ "$k" = "$ABI" ]; then
		echo "$DEB/image"
		return
	fi
	if [ ! -f "$dir/lib/modules/$k/kernel/arch/x86/kvm/kvm.ko" ]; then
		mkdir -p "$DEB/debs" "$dir.tmp"
		deb=$(ls "$DEB/debs/linux-image-${k}_${v}_amd64.deb" 2>/dev/null)
		if [ -z "$deb" ]; then
			(cd "$DEB/debs" && apt-get download -q -o APT::Sandbox::User=root "linux-image-$k=$v" >&2) ||
				die "cannot download linux-image-$k=$v"
			deb=$DEB/debs/linux-image-${k}_${v}_amd64.deb
		fi
		# (cloud-amd64 has no kvmgt.ko: tar says so and goes on)
		dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir.tmp" $(for f in "${STOCK_KVM[@]}"; do echo "./lib/modules/$k/kernel/$f"; done) 2>/dev/null
		[ -f "$dir.tmp/lib/modules/$k/kernel/arch/x86/kvm/kvm.ko" ] || die "$deb holds no kvm.ko"
		rm -rf "$dir"
		mv "$dir.tmp" "$dir"
	fi
	echo "$dir"
}

# Step 0: the stock modules where a Debian host has them, for each test
# kernel whose linux-image is not installed; listed for 'remove'.
PLACED=$LOGS/placed-stock-modules
place_stock() {
	local k=$1 v=$2 dir f
	installed "linux-image-$k" && return 0
	dir=$(stock_dir "$k" "$v")
	for f in "${STOCK_KVM[@]}"; do
		[ -f "$dir/lib/modules/$k/kernel/$f" ] || continue
		[ ! -e "/lib/modules/$k/kernel/$f" ] || continue
		install -D -m 0644 "$dir/lib/modules/$k/kernel/$f" "/lib/modules/$k/kernel/$f"
		echo "/lib/modules/$k/kernel/$f" >> "$PLACED"
	done
	depmod "$k"
}
unplace_stock() {
	local f
	[ -f "$PLACED" ] || return 0
	while read -r f; do
		rm -f "$f"
		rmdir -p --ignore-fail-on-non-empty "$(dirname "$f")" 2>/dev/null
	done < "$PLACED"
	rm -f "$PLACED"
}

do_install() {
	local deb k v want m n rc
	res=$RES/dkms.results
	: > "$res"
	deb=$(ls "$DEB"/out/${PKG}_*.deb 2>/dev/null | tail -1)
	[ -n "$deb" ] || die "no package in build/debian/out; run 'scripts/debian-modules.sh package'"
	log "dkms: a clean start (no $PKG, no headers of $CLOUD, $PREV_ABI or $UNSUP_ABI)"
	purge "$PKG" "linux-headers-$CLOUD" $(headers_pkgs "$PREV_ABI") $(headers_pkgs "$UNSUP_ABI")
	unplace_stock
	install_pkgs "dkms test" dkms "linux-headers-$ABI=$VERSION"
	log "dkms: 0. the stock KVM modules of $ABI, $CLOUD and $PREV_ABI in /lib/modules, as on a Debian host"
	place_stock "$ABI" "$VERSION"
	place_stock "$CLOUD" "$VERSION"
	place_stock "$PREV_ABI" "$PREV"

	log "dkms: 1. apt install $(basename "$deb")"
	apt_step install-package install -y -q --no-install-recommends "$deb"
	rc=$?
	grep -E '^(kvm-slotzap|Building|Done|Skipped|Error)' "$LOGS/install-package.log" | sed 's/^/    /'
	[ $rc -eq 0 ] && ok "apt install $PKG" || bad "apt install $PKG" "exit $rc, see ${LOGS#$TOP/}/install-package.log"
	[ "$(status_of "$ABI")" = installed ] && ok "dkms built and installed the modules for $ABI on install" ||
		bad "dkms built and installed the modules for $ABI on install" "dkms status: '$(status_of "$ABI")'"

	for k in "$CLOUD:$VERSION:linux-headers-$CLOUD" "$PREV_ABI:$PREV:$(headers_pkgs "$PREV_ABI")"; do
		v=$(cut -d: -f2 <<< "$k") m=$(cut -d: -f3 <<< "$k") k=${k%%:*}
		log "dkms: 2. the headers of $k ($v), after the package"
		apt_step "install-$k" install -y -q --no-install-recommends $(sed "s/\([^ ]*\)/\1=$v/g" <<< "$m")
		rc=$?
		[ $rc -eq 0 ] && [ "$(status_of "$k")" = installed ] &&
			ok "installing linux-headers-$k builds the modules for it (dkms's kernel hook)" ||
			bad "installing linux-headers-$k builds the modules for it (dkms's kernel hook)" \
				"apt exit $rc, dkms status '$(status_of "$k")'; see ${LOGS#$TOP/}/install-$k.log"
	done

	log "dkms: 3. the headers of $UNSUP_ABI ($UNSUP), a version the package does not carry"
	apt_step install-unsupported install -y -q --no-install-recommends $(headers_pkgs "$UNSUP_ABI" | sed "s/\([^ ]*\)/\1=$UNSUP/g")
	rc=$?
	grep -h "kvm-slotzap" "$LOGS/install-unsupported.log" | sed 's/^/    /'
	if [ $rc -eq 0 ] && [ "$(status_of "$UNSUP_ABI")" = added ] && [ ! -e "/lib/modules/$UNSUP_ABI/updates/dkms/kvm.ko" ] &&
	   grep -q "^kvm-slotzap-dkms: no modules for $UNSUP_ABI, it keeps its stock KVM: .*$UNSUP" "$LOGS/install-unsupported.log"; then
		ok "an unsupported kernel ($UNSUP_ABI) is skipped with its reason; its headers install fine"
	else
		bad "an unsupported kernel ($UNSUP_ABI) is skipped with its reason; its headers install fine" \
			"apt exit $rc, dkms status '$(status_of "$UNSUP_ABI")'; see ${LOGS#$TOP/}/install-unsupported.log"
	fi

	log "dkms: 4. the modules against each kernel"
	for k in "$ABI:$VERSION" "$CLOUD:$VERSION" "$PREV_ABI:$PREV"; do
		v=${k#*:} k=${k%%:*}
		want="kvm.ko kvm-amd.ko kvm-intel.ko"
		grep -q '^CONFIG_DRM_I915_GVT_KVMGT=m' "/usr/src/linux-headers-$k/.config" && want="$want kvmgt.ko"
		n=$(cd "/lib/modules/$k/updates/dkms" 2>/dev/null && ls $want 2>/dev/null | wc -w)
		[ "$n" = "$(echo $want | wc -w)" ] && ok "$k: updates/dkms holds $want, next to the stock modules" ||
			{ bad "$k: updates/dkms holds $want, next to the stock modules" "$(ls "/lib/modules/$k/updates/dkms" 2>&1 | tr '\n' ' ')"; continue; }
		[ "$(modinfo -k "$k" -n kvm 2>/dev/null)" = "/lib/modules/$k/updates/dkms/kvm.ko" ] &&
			ok "$k: modprobe resolves kvm to updates/dkms" ||
			bad "$k: modprobe resolves kvm to updates/dkms" "$(modinfo -k "$k" -n kvm 2>&1)"
		grep -qs "building KVM for $k from Debian's linux $v with the series" /var/lib/dkms/kvm-slotzap/*/"$k"/*/log/make.log &&
			ok "$k: built from Debian's linux $v, its own version" ||
			bad "$k: built from Debian's linux $v, its own version" "see /var/lib/dkms/kvm-slotzap/*/$k/*/log/make.log"
		m=$(stock_dir "$k" "$v")/lib/modules/$k/kernel/arch/x86/kvm/kvm.ko
		python3 "$TOP/scripts/dkms-verify.py" --symvers "/usr/src/linux-headers-$k/Module.symvers" \
			--stock-kvm "$m" $(for f in $want; do echo "/lib/modules/$k/updates/dkms/$f"; done) > "$LOGS/verify-$k.txt"
		rc=$?
		sed 's/^/    /' "$LOGS/verify-$k.txt"
		[ $rc -eq 0 ] && ok "$k: vermagic and MODVERSIONS CRCs match the kernel, modules signed" ||
			bad "$k: vermagic and MODVERSIONS CRCs match the kernel, modules signed" "see ${LOGS#$TOP/}/verify-$k.txt"
	done
	awk -F'\t' '{ n[$1]++ } END { printf "dkms: %d passed, %d failed\n", n["pass"], n["fail"] }' "$res"
	! grep -q '^fail' "$res"
}

do_remove() {
	local rc k left
	res=$RES/dkms-remove.results
	: > "$res"
	if ! installed "$PKG"; then
		bad "apt remove $PKG" "it is not installed (did 'tests/debian-dkms-test.sh install' run?)"
		return 1
	fi
	log "dkms: apt remove $PKG"
	apt_step remove remove -y -q "$PKG"
	rc=$?
	[ $rc -eq 0 ] && ok "apt remove $PKG" || bad "apt remove $PKG" "exit $rc, see ${LOGS#$TOP/}/remove.log"
	[ -z "$(dkms status -m kvm-slotzap 2>/dev/null)" ] && ok "dkms status is empty after the removal" ||
		bad "dkms status is empty after the removal" "$(dkms status -m kvm-slotzap | head -3 | tr '\n' ' ')"
	left=$(ls /lib/modules/*/updates/dkms/kvm*.ko 2>/dev/null | tr '\n' ' ')
	[ -z "$left" ] && ok "no kernel has the modules any more" || bad "no kernel has the modules any more" "$left"
	for k in "$ABI" "$CLOUD" "$PREV_ABI"; do
		[ "$(modinfo -k "$k" -n kvm 2>&1)" = "/lib/modules/$k/kernel/arch/x86/kvm/kvm.ko" ] &&
		[ "$(modinfo -k "$k" -n kvm_amd 2>&1)" = "/lib/modules/$k/kernel/arch/x86/kvm/kvm-amd.ko" ] &&
			ok "$k: modprobe resolves kvm and kvm_amd to the stock modules again" ||
			bad "$k: modprobe resolves kvm and kvm_amd to the stock modules again" \
				"kvm: $(modinfo -k "$k" -n kvm 2>&1), kvm_amd: $(modinfo -k "$k" -n kvm_amd 2>&1)"
	done
	if [ -e "/lib/modules/$ABI/kernel/drivers/gpu/drm/i915/kvmgt.ko" ]; then
		[ "$(modinfo -k "$ABI" -n kvmgt 2>&1)" = "/lib/modules/$ABI/kernel/drivers/gpu/drm/i915/kvmgt.ko" ] &&
			ok "$ABI: modprobe resolves kvmgt to the stock module again" ||
			bad "$ABI: modprobe resolves kvmgt to the stock module again" "$(modinfo -k "$ABI" -n kvmgt 2>&1)"
	fi
	unplace_stock
	for k in "$ABI" "$CLOUD" "$PREV_ABI" "$UNSUP_ABI"; do
		[ ! -d "/lib/modules/$k" ] || installed "linux-image-$k" || depmod "$k" 2>/dev/null
	done
	purge "linux-headers-$CLOUD" $(headers_pkgs "$PREV_ABI") $(headers_pkgs "$UNSUP_ABI")
	# what depmod left of the kernels this test brought (no image, no module)
	for k in "$CLOUD" "$PREV_ABI" "$UNSUP_ABI"; do
		[ -d "/lib/modules/$k" ] && ! installed "linux-image-$k" &&
			[ -z "$(find "/lib/modules/$k" -name '*.ko*' -print -quit)" ] && rm -rf "/lib/modules/$k"
	done
	awk -F'\t' '{ n[$1]++ } END { printf "dkms remove: %d passed, %d failed\n", n["pass"], n["fail"] }' "$res"
	! grep -q '^fail' "$res"
}

case "${1:-}" in
install) do_install ;;
remove) do_remove ;;
*) sed -n '2,/^set -u/p' "$0" | sed -e '/^set -u/d' -e 's/^# \{0,1\}//'; exit 2 ;;
esac
