#!/bin/bash
# The series as replacement KVM modules for Debian 12's own kernel
# (linux-image-$DEBIAN_ABI, built from the same source as our base), no
# kernel rebuild: kvm.ko, kvm-amd.ko, kvm-intel.ko and KVM-GT's kvmgt.ko are
# built from build/linux with Kbuild's external-module build (M=) against
# Debian's linux-headers-$DEBIAN_ABI, then packaged as a .deb that installs
# them in /lib/modules/$DEBIAN_ABI/updates/kvm-slotzap/.
#
# usage: scripts/debian-modules.sh [STEP]   (default: package)
#   deps     install linux-headers-$DEBIAN_ABI (pinned version), dwarves,
#            busybox-static... (needs root; quick when all are there)
#   image    download linux-image-$DEBIAN_ABI (not installed: 'apt-get
#            download' + 'dpkg-deb -x' into build/debian/image) for the
#            checks and the VM test
#   build    deps + image + 'make source', then build and verify the modules
#   verify   check the built modules against Debian's kernel: vermagic,
#            every MODVERSIONS CRC, headers identical to the base
#   package  build, then the .deb in build/debian/out/ (with the modules,
#            kvm-slotzap-check and the preload library for stock QEMU)
#   fixture  the test fixture of tests/debian-modules-test.sh, not packaged:
#            tests/track's external page-track user (slotzap_track.ko,
#            against the modules of 'build') and its driver track-test
#   clean    remove build/debian/kbuild and build/debian/out
# Optional module signing (Secure Boot): SIGN_KEY=key.pem SIGN_CERT=cert.der
# (for example DKMS's MOK: /var/lib/dkms/mok.key and mok.pub).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$TOP/patches/BASE"

[ -n "${DEBIAN_ABI:-}" ] || die "patches/BASE has no DEBIAN_ABI (the Debian kernel ABI, e.g. 6.1.0-56-amd64)"
ABI=$DEBIAN_ABI
HEADERS_PKG=linux-headers-$ABI
IMAGE_PKG=linux-image-$ABI
KDIR=/usr/src/linux-headers-$ABI
DEB=$BUILD/debian
KB=$DEB/kbuild             # mirror of the tree parts the modules need; objects land here
IMAGE=$DEB/image           # the unpacked linux-image package (stock modules, vmlinuz)
OUTDIR=$DEB/out
PKG=kvm-slotzap-modules-$ABI
MODDIR=updates/kvm-slotzap # under /lib/modules/$ABI
I915=drivers/gpu/drm/i915
# Headers the series may change and still ship as modules: private to KVM
# (only KVM and KVM-GT include them). Anything else changed under include/
# or arch/x86/include may be compiled into Debian's vmlinux: refused.
KVM_HEADERS_RE='^(arch/x86/include/(asm/kvm[a-z_]*\.h|uapi/asm/kvm[a-z_]*\.h)|include/(linux/kvm_[a-z_]*\.h|uapi/linux/kvm\.h|trace/events/kvm\.h|kvm/[a-z_/]*\.h))$'

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
		sudo "$@"
	else
		die "'$*' needs root: run this step as root, or set up sudo for $(id -un)"
	fi
}

# Debian splits the headers: $KDIR (config, generated files, Module.symvers)
# includes the flavour-independent tree linux-headers-<abi>-common.
common_dir() {
	local d
	d=$(sed -n 's|^include \(/.*\)/Makefile$|\1|p' "$KDIR/Makefile" 2>/dev/null)
	[ -n "$d" ] && [ -d "$d/include" ] || die "cannot find the common headers that $KDIR/Makefile includes; reinstall $HEADERS_PKG"
	echo "$d"
}

pkg_version() { dpkg-query -W -f '${db:Status-Abbrev} ${Version}' "$1" 2>/dev/null | awk '$1 == "ii" { print $2 }'; }

# Besides the project's own (setup/deps.sh): the headers of the pinned
# kernel, pahole for the layout check, busybox-static for the test VM.
DEPS=(dwarves rsync kmod cpio busybox-static)

step_deps() {
	local have p missing=()
	have=$(pkg_version "$HEADERS_PKG")
	if [ -n "$have" ] && [ "$have" != "$VERSION" ]; then
		die "$HEADERS_PKG $have is installed, but the base is $PACKAGE $VERSION (patches/BASE). Modules built against other headers would not match the kernel; install $HEADERS_PKG=$VERSION"
	fi
	[ -n "$have" ] || missing+=("$HEADERS_PKG=$VERSION")
	for p in "${DEPS[@]}"; do
		[ -n "$(pkg_version "$p")" ] || missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		log "deps: $HEADERS_PKG $VERSION and ${DEPS[*]} are installed"
	else
		log "deps: installing ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		as_root apt-get install -y -q --no-install-recommends "${missing[@]}" ||
			die "cannot install ${missing[*]}; run 'apt-get update', and check that bookworm and bookworm-security are in /etc/apt/sources.list (once Debian moves on from $ABI, its packages stay on snapshot.debian.org)"
	fi
	common_dir >/dev/null
	[ -f "$KDIR/Module.symvers" ] || die "$KDIR/Module.symvers is missing; reinstall $HEADERS_PKG"
	local rel
	rel=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' "$KDIR/include/generated/utsrelease.h" 2>/dev/null)
	[ "$rel" = "$ABI" ] || die "$KDIR is for kernel release '$rel', expected $ABI; reinstall $HEADERS_PKG"
}

# The stock kernel package, unpacked (never installed: this machine's boot
# must not change), with its modules.dep made by depmod as its postinst would.
step_image() {
	local deb=$DEB/debs/${IMAGE_PKG}_${VERSION}_amd64.deb
	if [ -f "$IMAGE/.stamp" ] && [ "$(cat "$IMAGE/.stamp")" = "$VERSION" ]; then
		log "image: $IMAGE_PKG $VERSION is unpacked in $IMAGE"
		return 0
	fi
	mkdir -p "$DEB/debs"
	if [ ! -f "$deb" ]; then
		log "image: downloading $IMAGE_PKG=$VERSION"
		(cd "$DEB/debs" && apt-get download -q -o APT::Sandbox::User=root "$IMAGE_PKG=$VERSION") ||
			die "cannot download $IMAGE_PKG=$VERSION; run 'apt-get update' (as root), and check that bookworm and bookworm-security are in /etc/apt/sources.list"
	fi
	log "image: unpacking $(basename "$deb")"
	rm -rf "$IMAGE" "$IMAGE.tmp"
	mkdir -p "$IMAGE.tmp"
	timed unpack dpkg-deb -x "$deb" "$IMAGE.tmp"
	dpkg-deb -f "$deb" > "$IMAGE.tmp/.control"
	dpkg-deb -c "$deb" | awk '{ p = $6; sub(/^\./, "", p); sub(/\/$/, "", p); print (p == "" ? "/." : p) }' > "$IMAGE.tmp/.list"
	timed depmod depmod -b "$IMAGE.tmp" "$ABI"
	echo "$VERSION" > "$IMAGE.tmp/.stamp"
	mv "$IMAGE.tmp" "$IMAGE"
}

check_base() {
	local subject
	subject=$(git -C "$SRC" log -1 --format=%s base)
	case "$subject" in
	*"$PACKAGE $VERSION)"*) ;;
	*) die "build/linux's base is '$subject', not $PACKAGE $VERSION; the modules must be built from the source of the Debian kernel they replace (SLOTZAP_FORCE=1 make source re-extracts it)" ;;
	esac
}

# Copy what the modules are built from into $KB, keeping the tree layout
# (arch/x86/kvm includes ../../../virt/kvm, trace headers use paths relative
# to include/trace), and write the Kbuild files.
mirror() {
	local changed f bad=() flags
	mkdir -p "$KB/arch/x86" "$KB/virt" "$KB/$I915" "$KB/include/trace"
	# --delete spares excluded (build output) files
	local keep=(--exclude='*.o' --exclude='.*.cmd' --exclude='*.ko' --exclude='*.mod'
		--exclude='*.mod.c' --exclude='*.s' --exclude='*.symvers' --exclude='*.order'
		--exclude='kvm-asm-offsets.h' --exclude='Kbuild' --exclude='.tmp_*')
	rsync -a --delete "${keep[@]}" "$SRC/arch/x86/kvm/" "$KB/arch/x86/kvm/"
	rsync -a --delete "${keep[@]}" "$SRC/virt/kvm/" "$KB/virt/kvm/"
	rsync -a --delete "${keep[@]}" --include='*/' --include='*.h' --include='gvt/**' \
		--exclude='*' "$SRC/$I915/" "$KB/$I915/"

	# What the series changes, and whether modules alone can carry it.
	changed=$(git -C "$SRC" diff --name-only base..HEAD)
	for f in $changed; do
		case "$f" in
		arch/x86/kvm/*|virt/kvm/*|$I915/gvt/*|tools/*|Documentation/*) ;;
		arch/x86/include/*|include/*)
			[[ $f =~ $KVM_HEADERS_RE ]] || bad+=("$f (a header not private to KVM)") ;;
		*) bad+=("$f") ;;
		esac
	done
	[ ${#bad[@]} -eq 0 ] || die "the series changes files that replacement modules cannot carry (Debian's vmlinux or other modules are built from them): ${bad[*]}"

	# Changed headers go to $KB/override, searched before Debian's headers.
	rm -rf "$KB/override"
	for f in $changed; do
		case "$f" in arch/x86/include/*|include/*) ;; *) continue ;; esac
		[ -f "$SRC/$f" ] || die "the series deletes $f; modules cannot carry that"
		if [ -f "$COMMON/$f" ]; then
			git -C "$SRC" show "base:$f" | cmp -s - "$COMMON/$f" ||
				die "$f in $HEADERS_PKG differs from the base's; headers and base are not the same source"
		fi
		mkdir -p "$KB/override/$(dirname "$f")"
		cp -p "$SRC/$f" "$KB/override/$f"
		case "$f" in */uapi/*)
			# an override in a uapi directory is searched before every
			# non-uapi directory: it must not shadow a non-uapi header
			local twin=${f/\/uapi\//\/}
			if [ -f "$COMMON/$twin" ]; then
				die "override $f would shadow $twin"
			fi ;;
		esac
	done
	flags="NOSTDINC_FLAGS += -I$KB/override/arch/x86/include -I$KB/override/arch/x86/include/uapi -I$KB/override/include -I$KB/override/include/uapi"

	# arch/x86/kvm: the tree's own Makefile, with its two $(srctree) paths
	# pointing into the mirror (Debian's headers have no KVM sources).
	{
		echo "# Generated by scripts/debian-modules.sh from arch/x86/kvm/Makefile"
		echo "# The series' changed headers come before Debian's (NOSTDINC_FLAGS precedes"
		echo "# LINUXINCLUDE); trace.h's ../../arch/x86/kvm resolves from include/trace."
		echo "$flags"
		echo "ccflags-y += -iquote $KB/include/trace"
		sed -e 's|-I \$(srctree)/arch/x86/kvm$|-I $(src)|' \
		    -e 's|^include \$(srctree)/virt/kvm/Makefile.kvm$|include $(src)/../../../virt/kvm/Makefile.kvm|' \
		    "$SRC/arch/x86/kvm/Makefile"
	} > "$KB/arch/x86/kvm/Kbuild.new"
	grep -q '^ccflags-y += -I \$(src)$' "$KB/arch/x86/kvm/Kbuild.new" &&
		grep -q '^include \$(src)/../../../virt/kvm/Makefile.kvm$' "$KB/arch/x86/kvm/Kbuild.new" ||
		die "arch/x86/kvm/Makefile changed shape; update mirror() in $0"
	update "$KB/arch/x86/kvm/Kbuild"

	# drivers/gpu/drm/i915: only the kvmgt module (gvt/), with i915's
	# warning flags (the part of its Makefile before the include path).
	{
		echo "# Generated by scripts/debian-modules.sh from $I915/Makefile (kvmgt only)"
		echo "$flags"
		echo "ccflags-y += -iquote $KB/include/trace"
		awk '$0 == "subdir-ccflags-y += -I$(srctree)/$(src)" { print "subdir-ccflags-y += -I$(src)"; found = 1; exit }
		     { print } END { exit !found }' "$SRC/$I915/Makefile" ||
			die "$I915/Makefile changed shape; update mirror() in $0"
		echo 'include $(src)/gvt/Makefile'
		echo 'obj-$(CONFIG_DRM_I915_GVT_KVMGT) += kvmgt.o'
	} > "$KB/$I915/Kbuild.new"
	update "$KB/$I915/Kbuild"
}

# replace $1 with $1.new unless equal (keeps its time stamp: no rebuild)
update() {
	if cmp -s "$1.new" "$1"; then rm "$1.new"; else mv "$1.new" "$1"; fi
}

mmake() {
	make -C "$KDIR" M="$1" -j"$NPROC" DEBIAN_KERNEL_USE_CCACHE=$(command -v ccache >/dev/null && echo 1) \
		KBUILD_BUILD_USER=kvm-slotzap KBUILD_BUILD_HOST=kvm-slotzap "${@:2}" modules
}

step_build() {
	step_deps
	step_image
	# SLOTZAP_KSRC=tree: build from that tree as it is (make mutants)
	[ -n "${SLOTZAP_KSRC:-}" ] || "$TOP/setup/source.sh"
	need_source
	check_base
	log "build: KVM modules for $ABI from build/linux ($(git -C "$SRC" rev-list --count base..HEAD) patches) against $KDIR"
	COMMON=$(common_dir)
	mirror
	local logf=$DEB/build.log
	: > "$logf"
	build_kvm() { mmake "$KB/arch/x86/kvm" >> "$logf" 2>&1; }
	build_kvmgt() { mmake "$KB/$I915" KBUILD_EXTRA_SYMBOLS="$KB/arch/x86/kvm/Module.symvers" >> "$logf" 2>&1; }
	timed "kvm, kvm-amd, kvm-intel" build_kvm || { tail -30 "$logf"; die "the KVM module build failed; full log: $logf"; }
	timed "kvmgt" build_kvmgt || { tail -30 "$logf"; die "the kvmgt module build failed; full log: $logf"; }
	grep -E 'warning:|WARNING:' "$logf" | grep -v 'Skipping BTF' | sed 's/^/    /' >&2 || true
	step_verify
}

built_modules() {
	printf '%s\n' "$KB/arch/x86/kvm/kvm.ko" "$KB/arch/x86/kvm/kvm-amd.ko" \
		"$KB/arch/x86/kvm/kvm-intel.ko" "$KB/$I915/kvmgt.ko"
}

# Compile a probe that includes every changed header, with debug info for
# every type, twice: with Debian's headers and with the series' first.
probe_layouts() {
	local v f inc
	for v in debian series; do
		mkdir -p "$KB/probe/$v"
		{
			echo "// Generated by scripts/debian-modules.sh: the types of the headers"
			echo "// the series changes, for pahole. Not a module anyone loads."
			echo "#include <linux/module.h>"
			echo "#include <linux/kvm_host.h>"
			for f in $(cd "$KB/override" 2>/dev/null && find . -name '*.h' | sort); do
				inc=${f#./}
				inc=${inc#arch/x86/}
				inc=${inc#include/}
				inc=${inc#uapi/}
				echo "#include <$inc>"
			done
			echo 'MODULE_LICENSE("GPL");'
		} > "$KB/probe/$v/probe.c.new"
		update "$KB/probe/$v/probe.c"
		{
			[ $v = series ] && grep '^NOSTDINC_FLAGS' "$KB/arch/x86/kvm/Kbuild"
			echo 'ccflags-y += -g -fno-eliminate-unused-debug-types'
			echo 'obj-m := probe.o'
		} > "$KB/probe/$v/Kbuild.new"
		update "$KB/probe/$v/Kbuild"
		make -s -C "$KDIR" M="$KB/probe/$v" DEBIAN_KERNEL_USE_CCACHE=$(command -v ccache >/dev/null && echo 1) \
			probe.o >> "$DEB/build.log" 2>&1 || die "the layout probe does not compile; see $DEB/build.log"
		pahole -F dwarf "$KB/probe/$v/probe.o" > "$KB/probe/$v.pahole" ||
			die "pahole failed on $KB/probe/$v/probe.o (apt-get install dwarves)"
	done
}

step_verify() {
	local m
	for m in $(built_modules); do
		[ -f "$m" ] || die "$m is missing; run '$0 build'"
	done
	command -v pahole >/dev/null || die "pahole is missing; apt-get install dwarves"
	probe_layouts
	[ -d "$IMAGE/lib/modules/$ABI" ] || die "no stock modules in $IMAGE; run '$0 image'"
	log "verify: the modules against $IMAGE_PKG $VERSION"
	python3 -u "$TOP/scripts/debian-modules-verify.py" --src "$SRC" --kdir "$KDIR" \
		--stock "$IMAGE/lib/modules/$ABI" --kbuild "$KB" \
		--symvers "$KB/arch/x86/kvm/Module.symvers" --symvers "$KB/$I915/Module.symvers" \
		--layout "$KB/probe/debian.pahole" "$KB/probe/series.pahole" \
		$(built_modules) || die "the modules do not match Debian's $ABI kernel (see above); they would be refused or, worse, load against the wrong kernel"
}

pkg_version_string() {
	# The series' identity: when patches/ last changed in git, and a hash of
	# what is in patches/ now (the same hash setup/source.sh records).
	local date hash
	date=$(git -C "$TOP" log -1 --format=%cd --date=format:%Y%m%d.%H%M -- patches 2>/dev/null)
	hash=$(cut -c1-8 "$BUILD/source.stamp")
	echo "$VERSION+slotzap.${date:-0}.$hash"
}

step_package() {
	step_build
	local root=$DEB/pkg ver size deb m doc=usr/share/doc/$PKG
	ver=$(pkg_version_string)
	rm -rf "$root"
	mkdir -p "$root/DEBIAN" "$root/lib/modules/$ABI/$MODDIR" "$root/$doc" "$root/usr/sbin"
	for m in $(built_modules); do
		install -m 0644 "$m" "$root/lib/modules/$ABI/$MODDIR/"
		strip --strip-debug "$root/lib/modules/$ABI/$MODDIR/$(basename "$m")"
	done
	if [ -n "${SIGN_KEY:-}${SIGN_CERT:-}" ]; then
		[ -f "${SIGN_KEY:-}" ] && [ -f "${SIGN_CERT:-}" ] || die "SIGN_KEY and SIGN_CERT must both name files (private key, DER or PEM certificate)"
		log "package: signing the modules with $SIGN_CERT"
		for m in "$root/lib/modules/$ABI/$MODDIR"/*.ko; do
			"$KDIR/scripts/sign-file" sha256 "$SIGN_KEY" "$SIGN_CERT" "$m" || die "sign-file failed on $m"
		done
	fi
	install -m 0755 "$TOP/packaging/kvm-slotzap-check" "$root/usr/sbin/kvm-slotzap-check"
	# the preload library: stock QEMU (or any VMM) with the quirk disabled
	mkdir -p "$root/usr/lib/kvm-slotzap"
	gcc -shared -fPIC -O2 -Wall -Wextra -Werror -Wl,-z,relro,-z,now \
		-o "$root/usr/lib/kvm-slotzap/libslotzap-preload.so" "$TOP/preload/slotzap-preload.c" -ldl ||
		die "building preload/slotzap-preload.c failed"
	strip --strip-unneeded "$root/usr/lib/kvm-slotzap/libslotzap-preload.so"
	chmod 0644 "$root/usr/lib/kvm-slotzap/libslotzap-preload.so"
	local id
	id=$(readelf -n "$root/lib/modules/$ABI/$MODDIR/kvm.ko" | sed -n 's/^ *Build ID: //p')
	[ -n "$id" ] || die "kvm.ko has no GNU build ID"
	for m in preinst postinst postrm; do
		sed -e "s|@ABI@|$ABI|g" -e "s|@MODDIR@|$MODDIR|g" -e "s|@PKG@|$PKG|g" -e "s|@KVM_BUILD_ID@|$id|g" \
		    -e "s|@VERMAGIC@|$(modinfo -F vermagic "$KB/arch/x86/kvm/kvm.ko")|g" \
			"$TOP/packaging/$m" > "$root/DEBIAN/$m"
		chmod 0755 "$root/DEBIAN/$m"
	done
	sed -e "s|@ABI@|$ABI|g" -e "s|@MODDIR@|$MODDIR|g" -e "s|@PKG@|$PKG|g" \
		"$TOP/packaging/README.Debian" > "$root/$doc/README.Debian"
	cp "$TOP/packaging/copyright" "$root/$doc/copyright"
	{
		echo "Series applied to Debian's linux $VERSION source ($(git -C "$SRC" rev-list --count base..HEAD) patches):"
		git -C "$SRC" log --reverse --format='  %s' base..HEAD
	} > "$root/$doc/series.txt"
	size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
	sed -e "s|@ABI@|$ABI|g" -e "s|@PKG@|$PKG|g" -e "s|@VERSION@|$ver|g" \
	    -e "s|@KVERSION@|$VERSION|g" -e "s|@SIZE@|$size|g" \
		"$TOP/packaging/control" > "$root/DEBIAN/control"
	mkdir -p "$OUTDIR"
	rm -f "$OUTDIR"/*.deb
	deb=$OUTDIR/${PKG}_${ver}_amd64.deb
	dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null || die "dpkg-deb failed"
	log "package: $deb ($(du -k "$deb" | cut -f1) KiB, installed $size KiB)"
	dpkg-deb -c "$deb" | awk '{ print "    " $6 }' | grep '\.ko$' >&2
}

step_fixture() {
	local dir=$DEB/track logf=$DEB/track/build.log
	[ -f "$KB/arch/x86/kvm/Module.symvers" ] || die "no KVM modules in $KB; run '$0 build'"
	mkdir -p "$dir"
	cp -p "$TOP"/tests/track/slotzap_track.[ch] "$dir/"
	# the series' headers first, as for kvmgt (struct kvm_page_track_notifier_node)
	{ grep '^NOSTDINC_FLAGS' "$KB/arch/x86/kvm/Kbuild"; echo 'obj-m := slotzap_track.o'; } > "$dir/Kbuild.new"
	update "$dir/Kbuild"
	mmake "$dir" KBUILD_EXTRA_SYMBOLS="$KB/arch/x86/kvm/Module.symvers" > "$logf" 2>&1 ||
		{ tail -30 "$logf"; die "the slotzap_track module does not build; full log: $logf"; }
	gcc -Wall -Wextra -Werror -O2 -I"$TOP/tests/track" -o "$dir/track-test" "$TOP/tests/track/track-test.c" ||
		die "tests/track/track-test.c does not build"
}

step_clean() {
	rm -rf "$KB" "$OUTDIR" "$DEB/pkg" "$DEB/build.log"
	log "clean: removed build/debian/{kbuild,out,pkg} (kept the downloaded and unpacked kernel)"
}

case "${1:-package}" in
deps) step_deps ;;
image) step_image ;;
build) timed "debian-modules build" step_build ;;
verify) step_verify ;;
package) timed "debian-modules package" step_package ;;
fixture) step_fixture ;;
clean) step_clean ;;
-h|--help|help) sed -n '2,/^set -e/p' "$0" | sed -e '/^set -e/d' -e 's/^# \{0,1\}//' ;;
*) die "unknown step '$1'; usage: $0 [deps|image|build|verify|package|fixture|clean]" ;;
esac
