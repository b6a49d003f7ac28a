#!/bin/bash
# kvm-slotzap-dkms on this Debian 12 host (root), as an admin would use it.
#
#   tests/debian-dkms-test.sh install
#     1. with the headers of the pinned kernel (patches/BASE: DEBIAN_ABI)
#        and of its cloud-amd64 flavour installed, 'apt install' the
#        package (build/debian/out, scripts/debian-modules.sh package):
#        dkms builds and installs the modules for both;
#     2. install the headers of the previous ABI (a version the package
#        carries, packaging/dkms-versions) afterwards: dkms's kernel hook
#        builds the modules for it;
#     3. install the headers of a version the package does not carry: the
#        install succeeds, the kernel gets no modules, and the package's
#        hook says why in one line;
#     4. for each of the three kernels: 'dkms status' says installed, and
#        each module's vermagic and imported MODVERSIONS CRCs match that
#        kernel (its stock kvm.ko, from linux-image, and its
#        Module.symvers), signed by dkms's MOK (scripts/dkms-verify.py).
#     Writes build/results/dkms.results. tests/debian-modules-test.sh then
#     boots the pinned kernel with these modules.
#   tests/debian-dkms-test.sh remove
#     'apt remove' the package: dkms status is empty and no kernel has the
#     modules any more. Writes build/results/dkms-remove.results.
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

# The kernel's own kvm.ko: from the unpacked linux-image of the pinned
# kernel, else taken out of its linux-image package (apt-get download).
stock_kvm() {
	local k=$1 v=$2 deb dir=$DEB/stock-kvm/$1
	if [ "$k" = "$ABI" ]; then
		echo "$DEB/image/lib/modules/$k/kernel/arch/x86/kvm/kvm.ko"
		return
	fi
	if [ ! -f "$dir/kvm.ko" ]; then
		mkdir -p "$DEB/debs" "$dir"
		deb=$(ls "$DEB/debs/linux-image-${k}_${v}_amd64.deb" 2>/dev/null)
		if [ -z "$deb" ]; then
			(cd "$DEB/debs" && apt-get download -q -o APT::Sandbox::User=root "linux-image-$k=$v" >&2) ||
				die "cannot download linux-image-$k=$v"
			deb=$DEB/debs/linux-image-${k}_${v}_amd64.deb
		fi
		dpkg-deb --fsys-tarfile "$deb" | tar -xO "./lib/modules/$k/kernel/arch/x86/kvm/kvm.ko" > "$dir/kvm.ko.tmp" ||
			die "$deb holds no kvm.ko"
		mv "$dir/kvm.ko.tmp" "$dir/kvm.ko"
	fi
	echo "$dir/kvm.ko"
}

do_install() {
	local deb k v want m n rc
	res=$RES/dkms.results
	: > "$res"
	deb=$(ls "$DEB"/out/${PKG}_*.deb 2>/dev/null | tail -1)
	[ -n "$deb" ] || die "no package in build/debian/out; run 'scripts/debian-modules.sh package'"
	log "dkms: a clean start (no $PKG, no headers of $CLOUD, $PREV_ABI or $UNSUP_ABI)"
	purge "$PKG" "linux-headers-$CLOUD" $(headers_pkgs "$PREV_ABI") $(headers_pkgs "$UNSUP_ABI")
	install_pkgs "dkms test" dkms "linux-headers-$ABI=$VERSION"

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
		[ "$n" = "$(echo $want | wc -w)" ] && ok "$k: updates/dkms holds $want" ||
			{ bad "$k: updates/dkms holds $want" "$(ls "/lib/modules/$k/updates/dkms" 2>&1 | tr '\n' ' ')"; continue; }
		m=$(stock_kvm "$k" "$v")
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
	local rc k left root
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
		case "$(modinfo -k "$k" -n kvm 2>/dev/null)" in
		*/updates/*) bad "modprobe no longer resolves kvm to updates/ for $k" "$(modinfo -k "$k" -n kvm)" ;;
		*) ok "modprobe no longer resolves kvm to updates/ for $k" ;;
		esac
	done
	# What this host's modprobe would load for $ABI if its linux-image were
	# installed (this host does not run it): the stock tree, with whatever
	# the removal left in /lib/modules/$ABI.
	root=$DEB/after-remove
	rm -rf "$root"
	mkdir -p "$root/lib/modules"
	cp -al "$DEB/image/lib/modules/$ABI" "$root/lib/modules/$ABI"
	cp -a "/lib/modules/$ABI/." "$root/lib/modules/$ABI/" 2>/dev/null
	depmod -b "$root" "$ABI"
	left=$(modprobe -d "$root" -S "$ABI" --show-depends kvm_amd 2>&1 | awk '/^insmod/ { sub(".*/lib/modules/[^/]*/", "", $2); print $2 }' | tr '\n' ' ')
	[[ " $left" == *" kernel/arch/x86/kvm/kvm.ko "* ]] && [[ " $left" == *" kernel/arch/x86/kvm/kvm-amd.ko "* ]] &&
		[[ " $left" != *" updates/"* ]] &&
		ok "$ABI with its stock modules: modprobe kvm_amd loads them again" ||
		bad "$ABI with its stock modules: modprobe kvm_amd loads them again" "modprobe would insmod: $left"
	rm -rf "$root"
	purge "linux-headers-$CLOUD" $(headers_pkgs "$PREV_ABI") $(headers_pkgs "$UNSUP_ABI")
	awk -F'\t' '{ n[$1]++ } END { printf "dkms remove: %d passed, %d failed\n", n["pass"], n["fail"] }' "$res"
	! grep -q '^fail' "$res"
}

case "${1:-}" in
install) do_install ;;
remove) do_remove ;;
*) sed -n '2,/^set -u/p' "$0" | sed -e '/^set -u/d' -e 's/^# \{0,1\}//'; exit 2 ;;
esac
