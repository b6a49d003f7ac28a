#!/bin/bash
# The series as KVM modules for Debian 12's own 6.1 kernels, no kernel
# rebuild: the DKMS package kvm-slotzap-dkms carries the KVM sources
# (arch/x86/kvm, virt/kvm, KVM-GT's gvt/) of each Debian version of
# packaging/dkms-versions and of patches/BASE, with the series applied, and
# dkms builds kvm.ko, kvm-amd.ko, kvm-intel.ko and kvmgt.ko for each
# installed kernel from that kernel's own version (packaging/dkms-build).
#
# usage: scripts/debian-modules.sh [STEP]   (default: package)
#   deps     install linux-headers-$DEBIAN_ABI (pinned version), dkms,
#            dwarves, busybox-static... (needs root; quick when all are there)
#   image    download linux-image-$DEBIAN_ABI (not installed: 'apt-get
#            download' + 'dpkg-deb -x' into build/debian/image) for the
#            checks and the VM test
#   build    deps + image + 'make source', then build the modules of
#            $VERSION from the tree the package carries, as dkms would, and
#            verify them; copies in build/debian/modules
#   verify   check the built modules against Debian's kernel: vermagic,
#            every MODVERSIONS CRC, headers identical to the base, layouts
#   sources  the patched KVM sources of the other versions the package
#            carries (build/debian/dkms/VERSION; downloads linux-source-6.1)
#   package  build + sources, then build/debian/out/kvm-slotzap-dkms_*.deb
#   fixture  the test fixture of tests/debian-modules-test.sh, not packaged:
#            tests/track's external page-track user (slotzap_track.ko,
#            against the modules of 'build') and its driver track-test
#   canary-build VERSION
#            build VERSION's modules as the package would, against its
#            linux-headers (installed at VERSION; make canary)
#   clean    remove what build and package made (not the downloads)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$TOP/patches/BASE"

[ -n "${DEBIAN_ABI:-}" ] || die "patches/BASE has no DEBIAN_ABI (the Debian kernel ABI, e.g. 6.1.0-56-amd64)"
ABI=$DEBIAN_ABI
HEADERS_PKG=linux-headers-$ABI
IMAGE_PKG=linux-image-$ABI
KDIR=/usr/src/linux-headers-$ABI
DEB=$BUILD/debian
KB=$DEB/kbuild             # the tree of $VERSION the package carries; objects land here
IMAGE=$DEB/image           # the unpacked linux-image package (stock modules, vmlinuz)
OUTDIR=$DEB/out
PKG=kvm-slotzap-dkms
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
# kernel, dkms, pahole for the layout check, busybox-static for the test VM.
DEPS=(dkms dwarves rsync kmod cpio busybox-static)

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

# The paths the series' patches touch (patches/series order, deduplicated).
series_paths() {
	local p
	for p in $(series_patches); do
		sed -n -e 's|^--- a/||p' -e 's|^+++ b/||p' "$TOP/patches/$p"
	done | grep -v '^/dev/null$' | sort -u
}

# The series' changed headers; dies on a file that modules cannot carry.
changed_headers() {
	local f bad=()
	for f in "$@"; do
		case "$f" in
		arch/x86/kvm/*|virt/kvm/*|$I915/gvt/*|tools/*|Documentation/*) ;;
		arch/x86/include/*|include/*)
			if [[ $f =~ $KVM_HEADERS_RE ]]; then echo "$f"; else bad+=("$f (a header not private to KVM)"); fi ;;
		*) bad+=("$f") ;;
		esac
	done
	[ ${#bad[@]} -eq 0 ] || die "the series changes files that replacement modules cannot carry (Debian's vmlinux or other modules are built from them): ${bad[*]}"
}

# make_tree FROM DEST: the KVM sources of one Debian version with the series
# applied, laid out as the kernel tree (arch/x86/kvm includes
# ../../../virt/kvm; trace headers use paths relative to include/trace), as
# the DKMS package carries them and the modules are built from:
#   arch/x86/kvm, virt/kvm, $I915 (headers and gvt/), include/trace (empty)
#   override/       the series' changed headers, searched before Debian's
#   override-base/  the same headers as Debian ships them (for the check
#                   that a kernel's headers are this version's)
#   Kbuild files with paths relative to \$(src)
# FROM is a kernel tree with the series applied (git; tag 'base' = Debian's
# source), or an unpacked Debian source to which this applies patches/.
make_tree() {
	local from=$1 dest=$2 f
	local keep=("${KEEP[@]}" --exclude='Kbuild')
	rm -rf "$dest"
	mkdir -p "$dest/arch/x86" "$dest/virt" "$dest/$I915" "$dest/include/trace"
	rsync -a "${keep[@]}" "$from/arch/x86/kvm/" "$dest/arch/x86/kvm/"
	rsync -a "${keep[@]}" "$from/virt/kvm/" "$dest/virt/kvm/"
	rsync -a "${keep[@]}" --include='*/' --include='*.h' --include='gvt/**' \
		--exclude='*' "$from/$I915/" "$dest/$I915/"
	for f in "${CHANGED_HEADERS[@]}"; do
		[ -f "$from/$f" ] || die "the series deletes $f; modules cannot carry that"
		mkdir -p "$dest/override/$(dirname "$f")"
		cp -p "$from/$f" "$dest/override/$f"
		case "$f" in */uapi/*)
			# an override in a uapi directory is searched before every
			# non-uapi directory: it must not shadow a non-uapi header
			[ ! -f "$from/${f/\/uapi\//\/}" ] || die "override $f would shadow ${f/\/uapi\//\/}" ;;
		esac
		if [ -f "$from.base/$f" ]; then
			mkdir -p "$dest/override-base/$(dirname "$f")"
			cp -p "$from.base/$f" "$dest/override-base/$f"
		fi
	done
	local inc="-I\$(src)/R/override/arch/x86/include -I\$(src)/R/override/arch/x86/include/uapi -I\$(src)/R/override/include -I\$(src)/R/override/include/uapi"

	# arch/x86/kvm: the tree's own Makefile, with its two $(srctree) paths
	# pointing into this tree (Debian's headers have no KVM sources).
	{
		echo "# Generated by scripts/debian-modules.sh from arch/x86/kvm/Makefile."
		echo "# The series' changed headers come before Debian's (NOSTDINC_FLAGS precedes"
		echo "# LINUXINCLUDE); trace.h's ../../arch/x86/kvm resolves from include/trace."
		echo "NOSTDINC_FLAGS += ${inc//\/R\//\/..\/..\/..\/}"
		echo "ccflags-y += -iquote \$(src)/../../../include/trace"
		sed -e 's|-I \$(srctree)/arch/x86/kvm$|-I $(src)|' \
		    -e 's|^include \$(srctree)/virt/kvm/Makefile.kvm$|include $(src)/../../../virt/kvm/Makefile.kvm|' \
		    "$from/arch/x86/kvm/Makefile"
	} > "$dest/arch/x86/kvm/Kbuild"
	grep -q '^ccflags-y += -I \$(src)$' "$dest/arch/x86/kvm/Kbuild" &&
		grep -q '^include \$(src)/../../../virt/kvm/Makefile.kvm$' "$dest/arch/x86/kvm/Kbuild" ||
		die "arch/x86/kvm/Makefile changed shape; update make_tree() in $0"

	# drivers/gpu/drm/i915: only the kvmgt module (gvt/), with i915's
	# warning flags (the part of its Makefile before the include path).
	{
		echo "# Generated by scripts/debian-modules.sh from $I915/Makefile (kvmgt only)"
		echo "NOSTDINC_FLAGS += ${inc//\/R\//\/..\/..\/..\/..\/}"
		echo "ccflags-y += -iquote \$(src)/../../../../include/trace"
		awk '$0 == "subdir-ccflags-y += -I$(srctree)/$(src)" { print "subdir-ccflags-y += -I$(src)"; found = 1; exit }
		     { print } END { exit !found }' "$from/$I915/Makefile" ||
			die "$I915/Makefile changed shape; update make_tree() in $0"
		echo 'include $(src)/gvt/Makefile'
		echo 'obj-$(CONFIG_DRM_I915_GVT_KVMGT) += kvmgt.o'
	} > "$dest/$I915/Kbuild"
}

# tree_from_git DEST: make_tree from $SRC (HEAD = the series; tag base)
tree_from_git() {
	local dest=$1 f
	# make_tree reads Debian's copies of the changed headers from FROM.base:
	# FROM is $SRC, by a symlink next to which they are written
	rm -rf "$DEB/src" "$DEB/src.base"
	ln -s "$SRC" "$DEB/src"
	for f in "${CHANGED_HEADERS[@]}"; do
		git -C "$SRC" cat-file -e "base:$f" 2>/dev/null || continue
		mkdir -p "$DEB/src.base/$(dirname "$f")"
		git -C "$SRC" show "base:$f" > "$DEB/src.base/$f"
	done
	make_tree "$DEB/src" "$dest"
	rm -rf "$DEB/src" "$DEB/src.base"
}

# tree_from_debian VERSION DEST: make_tree from Debian's linux-source-6.1
# at VERSION (apt-get download, not installed) with patches/ applied.
# Cached in DEST until patches/ or VERSION changes.
tree_from_debian() {
	local v=$1 dest=$2 key tarball top work n=0 p f paths
	key="$v $(cd "$TOP/patches" && cat series $(series_patches) | sha256sum | cut -c1-16) $(sha256sum < "$0" | cut -c1-16)"
	if [ -f "$dest/.key" ] && [ "$(cat "$dest/.key")" = "$key" ]; then
		log "sources: $v is in ${dest#$TOP/}"
		return 0
	fi
	tarball=$(base_tarball "$PACKAGE" "$v") || die "cannot get $PACKAGE $v"
	work=$DEB/work-$v
	rm -rf "$work" "$work.base"
	mkdir -p "$work" "$work.base"
	# (tar dies of SIGPIPE once head has its line)
	top=$(tar -tJf "$tarball" 2>/dev/null | head -1 | cut -d/ -f1 || true)
	[ -n "$top" ] || die "cannot list $tarball"
	# the series' headers besides the three directories (tar fails on a
	# name given twice or not in the archive); xz on every CPU, as in
	# base_tree (lib.sh)
	paths=("${CHANGED_HEADERS[@]}")
	timed "extract $v" tar -I "xz -T$NPROC" -xf "$tarball" -C "$work" --strip-components=1 \
		"$top/arch/x86/kvm" "$top/virt/kvm" "$top/$I915" "${paths[@]/#/$top/}" ||
		die "cannot extract KVM's sources from $tarball"
	for f in "${CHANGED_HEADERS[@]}"; do
		[ -f "$work/$f" ] || continue
		mkdir -p "$work.base/$(dirname "$f")"
		cp -p "$work/$f" "$work.base/$f"
	done
	for p in $(series_patches); do
		n=$((n + 1))
		(cd "$work" && git apply --include='arch/*' --include='virt/*' --include='include/*' \
			--include="$I915/*" "$TOP/patches/$p") ||
			die "patch $n ($p) does not apply to $PACKAGE $v (make canary shows which versions it applies to)"
	done
	make_tree "$work" "$dest"
	echo "$key" > "$dest/.key"
	rm -rf "$work" "$work.base"
	log "sources: $v with the series in ${dest#$TOP/}"
}

# The Debian versions the DKMS package carries: the base, and those of
# packaging/dkms-versions.
dkms_versions() {
	{ echo "$VERSION"; sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$TOP/packaging/dkms-versions"; } | awk '{ print $1 }' | sort -u -V
}

# The series' changed headers, once (changed_headers dies in the script
# itself here, not in a subshell that would only end itself)
CHANGED_HEADERS=$(changed_headers $(series_paths)) || exit 1
mapfile -t CHANGED_HEADERS <<< "$CHANGED_HEADERS"

# rsync --delete spares these (build output)
KEEP=(--exclude='*.o' --exclude='.*.cmd' --exclude='*.ko' --exclude='*.mod'
	--exclude='*.mod.c' --exclude='*.s' --exclude='*.symvers' --exclude='*.order'
	--exclude='kvm-asm-offsets.h' --exclude='.tmp_*' --exclude='probe')

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
	log "build: KVM modules for $ABI from build/linux ($(git -C "$SRC" rev-list --count base..HEAD) patches) against $KDIR, as kvm-slotzap-dkms builds them"
	# the tree the package carries for $VERSION, synced into $KB so that
	# unchanged files keep their time stamps (incremental builds)
	tree_from_git "$DEB/tree"
	mkdir -p "$KB"
	rsync -a --delete "${KEEP[@]}" "$DEB/tree/" "$KB/"
	local logf=$DEB/build.log
	DEBIAN_KERNEL_USE_CCACHE=$(command -v ccache >/dev/null && echo 1) KBUILD_BUILD_USER=kvm-slotzap \
		KBUILD_BUILD_HOST=kvm-slotzap timed "kvm, kvm-amd, kvm-intel, kvmgt" \
		"$TOP/packaging/dkms-build" build "$ABI" "$KDIR" "$KB" > "$logf" 2>&1 ||
		{ tail -30 "$logf"; die "the KVM module build failed; full log: $logf"; }
	grep -E 'warning:|WARNING:' "$logf" | grep -v 'Skipping BTF' | sed 's/^/    /' >&2 || true
	step_verify
	# the four side by side, for tests/debian-modules-test.sh (SLOTZAP_DEBIAN_MODULES)
	rm -rf "$DEB/modules"
	mkdir -p "$DEB/modules"
	cp $(built_modules) "$DEB/modules/"
}

# the include flags of arch/x86/kvm/Kbuild, with $KB for $(src)/../../..
abs_flags() {
	grep '^NOSTDINC_FLAGS' "$KB/arch/x86/kvm/Kbuild" | sed 's|\$(src)/\.\./\.\./\.\.|'"$KB"'|g'
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
			[ $v = series ] && abs_flags
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

# The package's version: when what goes into it last changed in git, and a
# hash of what it holds now (patches/, packaging/, the carried versions,
# this script), so that two different packages never share a version.
pkg_version_string() {
	local date hash
	date=$(git -C "$TOP" log -1 --format=%cd --date=format:%Y%m%d.%H%M -- patches packaging "scripts/debian-modules.sh" 2>/dev/null)
	hash=$( { cd "$TOP" && cat patches/series $(series_patches | sed 's|^|patches/|') packaging/* "$0"; dkms_versions; } |
		sha256sum | cut -c1-8)
	echo "${date:-0}+g$hash"
}

# The DKMS package: the patched KVM sources of every version of
# dkms_versions, dkms.conf and dkms-build, kvm-slotzap-check and the preload
# library; maintainer scripts in dh_dkms's manner.
step_package() {
	step_build     # $VERSION's modules build and match Debian's kernel
	local root=$DEB/pkg ver size deb v d src doc=usr/share/doc/$PKG versions
	ver=$(pkg_version_string)
	mapfile -t versions < <(dkms_versions)
	rm -rf "$root"
	src=$root/usr/src/kvm-slotzap-$ver
	mkdir -p "$root/DEBIAN" "$src/versions" "$root/$doc" "$root/usr/sbin" "$root/usr/lib/kvm-slotzap"
	for v in "${versions[@]}"; do
		if [ "$v" = "$VERSION" ]; then
			cp -a "$DEB/tree" "$src/versions/$v"    # what step_build built and verified
		else
			tree_from_debian "$v" "$DEB/dkms/$v"
			cp -a "$DEB/dkms/$v" "$src/versions/$v"
			rm -f "$src/versions/$v/.key"
		fi
	done
	find "$src/versions" -name .gitignore -delete
	install -m 0755 "$TOP/packaging/dkms-build" "$src/dkms-build"
	# dkms 3.0.10 installs a module only if its version is newer than the
	# kernel's own; Debian's KVM modules and ours have none (no
	# MODULE_VERSION, no srcversion), so they compare equal and would be
	# left out. This is dkms's way to say: install ours anyway.
	mkdir -p "$root/usr/share/dkms/modules_to_force_install"
	echo "kvm-slotzap_version-override" > "$root/usr/share/dkms/modules_to_force_install/kvm-slotzap"
	sed "s|@VERSION@|$ver|g" "$TOP/packaging/dkms.conf" > "$src/dkms.conf"
	install -m 0755 "$TOP/packaging/kvm-slotzap-check" "$root/usr/sbin/kvm-slotzap-check"
	for d in postinst.d header_postinst.d; do
		install -D -m 0755 "$TOP/packaging/kernel-hook" "$root/etc/kernel/$d/$PKG"
		echo "/etc/kernel/$d/$PKG" >> "$root/DEBIAN/conffiles"
	done
	# the preload library: stock QEMU (or any VMM) with the quirk disabled
	gcc -shared -fPIC -O2 -Wall -Wextra -Werror -Wl,-z,relro,-z,now \
		-o "$root/usr/lib/kvm-slotzap/libslotzap-preload.so" "$TOP/preload/slotzap-preload.c" -ldl ||
		die "building preload/slotzap-preload.c failed"
	strip --strip-unneeded "$root/usr/lib/kvm-slotzap/libslotzap-preload.so"
	chmod 0644 "$root/usr/lib/kvm-slotzap/libslotzap-preload.so"
	for m in postinst prerm postrm; do
		sed -e "s|@VERSION@|$ver|g" "$TOP/packaging/$m" > "$root/DEBIAN/$m"
		chmod 0755 "$root/DEBIAN/$m"
	done
	sed -e "s|@VERSION@|$ver|g" -e "s|@KVERSIONS@|${versions[*]}|g" \
		"$TOP/packaging/README.Debian" > "$root/$doc/README.Debian"
	cp "$TOP/packaging/copyright" "$root/$doc/copyright"
	{
		echo "Series applied to Debian's linux source ($(git -C "$SRC" rev-list --count base..HEAD) patches):"
		git -C "$SRC" log --reverse --format='  %s' base..HEAD
		echo "Debian versions carried: ${versions[*]}"
	} > "$root/$doc/series.txt"
	{
		echo "kvm-slotzap ($ver) bookworm; urgency=medium"
		echo
		echo "  * The series as of $(git -C "$TOP" log -1 --format=%h) of the kvm-slotzap repository,"
		echo "    with the KVM sources of Debian's linux ${versions[*]}."
		echo
		echo " -- kvm-slotzap <devel@kvm-slotzap.invalid>  $(git -C "$TOP" log -1 --format=%cD)"
	} | gzip -9n > "$root/$doc/changelog.Debian.gz"
	(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z |
		xargs -0 md5sum > DEBIAN/md5sums)
	size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
	sed -e "s|@VERSION@|$ver|g" -e "s|@SIZE@|$size|g" -e "s|@KVERSIONS@|${versions[*]}|g" \
		"$TOP/packaging/control" > "$root/DEBIAN/control"
	mkdir -p "$OUTDIR"
	rm -f "$OUTDIR"/*.deb
	deb=$OUTDIR/${PKG}_${ver}_amd64.deb
	dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null || die "dpkg-deb failed"
	log "package: $deb ($(du -k "$deb" | cut -f1) KiB, installed $size KiB; KVM sources of ${versions[*]})"
}

# canary-build VERSION: build VERSION's modules with the series, as the
# DKMS package would, against its linux-headers (installed at VERSION).
step_canary_build() {
	local v=$1 abi
	abi=$(debian_abi "$v")
	install_pkgs "canary-build" "linux-headers-$abi=$v"
	tree_from_debian "$v" "$DEB/dkms/$v"
	rm -rf "$DEB/canary-$v"
	cp -a "$DEB/dkms/$v" "$DEB/canary-$v"
	local rc=0
	DEBIAN_KERNEL_USE_CCACHE=$(command -v ccache >/dev/null && echo 1) \
		timed "modules of $v for $abi" "$TOP/packaging/dkms-build" build "$abi" "/usr/src/linux-headers-$abi" "$DEB/canary-$v" ||
		rc=$?
	rm -rf "$DEB/canary-$v"
	return $rc
}

step_fixture() {
	local dir=$DEB/track logf=$DEB/track/build.log
	[ -f "$KB/arch/x86/kvm/Module.symvers" ] || die "no KVM modules in $KB; run '$0 build'"
	mkdir -p "$dir"
	cp -p "$TOP"/tests/track/slotzap_track.[ch] "$dir/"
	# the series' headers first, as for kvmgt (struct kvm_page_track_notifier_node)
	{ abs_flags; echo 'obj-m := slotzap_track.o'; } > "$dir/Kbuild.new"
	update "$dir/Kbuild"
	mmake "$dir" KBUILD_EXTRA_SYMBOLS="$KB/arch/x86/kvm/Module.symvers" > "$logf" 2>&1 ||
		{ tail -30 "$logf"; die "the slotzap_track module does not build; full log: $logf"; }
	gcc -Wall -Wextra -Werror -O2 -I"$TOP/tests/track" -o "$dir/track-test" "$TOP/tests/track/track-test.c" ||
		die "tests/track/track-test.c does not build"
}

step_clean() {
	rm -rf "$KB" "$DEB/modules" "$DEB/tree" "$OUTDIR" "$DEB/pkg" "$DEB/build.log"
	log "clean: removed build/debian/{kbuild,modules,tree,out,pkg} (kept the downloaded kernel and sources)"
}

# whole_step LABEL STEP: run STEP, then say how long it took (not through
# timed: a function called on the left of || runs without set -e)
whole_step() {
	local start
	start=$(date +%s)
	"$2"
	printf '    [%s: %ss]\n' "$1" "$(($(date +%s) - start))" >&2
}

case "${1:-package}" in
deps) step_deps ;;
image) step_image ;;
build) whole_step "debian-modules build" step_build ;;
verify) step_verify ;;
package) whole_step "debian-modules package" step_package ;;
sources) for v in $(dkms_versions); do [ "$v" = "$VERSION" ] || tree_from_debian "$v" "$DEB/dkms/$v"; done ;;
canary-build) [ -n "${2:-}" ] || die "usage: $0 canary-build VERSION"; step_canary_build "$2" ;;
fixture) step_fixture ;;
clean) step_clean ;;
-h|--help|help) sed -n '2,/^set -e/p' "$0" | sed -e '/^set -e/d' -e 's/^# \{0,1\}//' ;;
*) die "unknown step '$1'; usage: $0 [deps|image|build|verify|sources|package|fixture|canary-build VERSION|clean]" ;;
esac
