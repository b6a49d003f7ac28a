# Common helpers for the kvm-slotzap scripts (sourced, not executed).
# Paths are absolute so every script works from any directory.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$TOP/build
# kernel tree: pristine base + series; SLOTZAP_KSRC overrides, relative to
# where the command was started (made absolute, symlinks kept: scripts cd
# elsewhere)
SRC=$(realpath -ms "${SLOTZAP_KSRC:-$BUILD/linux}")
OBJ_TEST=$BUILD/obj-test         # out-of-tree build of the test kernel
OBJ_DEBUG=$BUILD/obj-debug       # the same plus configs/kvm-debug.config
NPROC=$(nproc)

log()  { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
warn() { printf '\033[1;33mWARNING: %s\033[0m\n' "$*" >&2; }
die()  { printf '\033[1;31mERROR: %s\033[0m\n' "$*" >&2; exit 1; }

# timed LABEL CMD...: run CMD, then print how long it took.
timed() {
	local label=$1 start rc=0
	shift
	start=$(date +%s)
	"$@" || rc=$?
	printf '    [%s: %ss]\n' "$label" "$(($(date +%s) - start))" >&2
	return $rc
}

# kmake OBJDIR ARGS...: make in the kernel tree with the project's settings
# (ccache if installed, fixed build user/host so ccache hits stay high).
kmake() {
	local obj=$1
	shift
	local cc=gcc
	command -v ccache >/dev/null && cc="ccache gcc"
	# Paths under build/ are hashed relative to the obj dir, so trees laid
	# out alike (build/linux + build/obj-test, build/bisect/linux +
	# build/bisect/obj-test) share ccache entries.
	export CCACHE_BASEDIR=$BUILD
	# Kbuild runs nm on every object (scripts/check-local-export), and
	# binutils' nm loads every plugin in /usr/lib/bfd-plugins each time:
	# with clang's LLVMgold there, 80-100 ms a call, a quarter of the CPU
	# time of a build that ccache serves. Naming gcc's own LTO plugin loads
	# only that one (12 ms a call); nm's output is the same.
	local nm=nm lto
	lto=$(gcc -print-file-name=liblto_plugin.so)
	[ -f "$lto" ] && nm="nm --plugin $lto"
	make -C "$SRC" O="$obj" CC="$cc" NM="$nm" -j"$NPROC" -s \
		KBUILD_BUILD_USER=kvm-slotzap KBUILD_BUILD_HOST=kvm-slotzap \
		"$@"
}

# base_tarball PACKAGE VERSION: print the path of the kernel tarball that
# Debian's PACKAGE (linux-source-6.1) ships at exactly VERSION. The installed
# package's /usr/src tarball when its version is VERSION; otherwise the .deb
# is fetched with 'apt-get download' (no install) into build/debs and its
# tarball extracted there once.
base_tarball() {
	local pkg=$1 ver=$2 have deb tar dir=$BUILD/debs
	local name=/usr/src/${pkg}.tar.xz
	have=$(dpkg-query -W -f '${db:Status-Abbrev} ${Version}' "$pkg" 2>/dev/null | awk '$1 == "ii" { print $2 }' || true)
	if [ "$have" = "$ver" ] && [ -f "$name" ]; then
		echo "$name"
		return 0
	fi
	tar=$dir/${pkg}_${ver}.tar.xz
	if [ ! -f "$tar" ]; then
		mkdir -p "$dir"
		deb=$(ls "$dir/${pkg}_${ver//:/%3a}_"*.deb 2>/dev/null | head -1)
		if [ -z "$deb" ]; then
			log "downloading $pkg=$ver (apt-get download, not installed)"
			(cd "$dir" && timed download apt-get download -q -o APT::Sandbox::User=root "$pkg=$ver" >&2) ||
				die "cannot download $pkg=$ver; run 'apt-get update' as root, and check that bookworm and bookworm-security are in /etc/apt/sources.list ('apt-cache madison $pkg' lists the versions)"
			deb=$(ls "$dir/${pkg}_${ver//:/%3a}_"*.deb | head -1)
		fi
		log "taking the tarball out of $(basename "$deb")"
		dpkg-deb --fsys-tarfile "$deb" | tar -xO ".$name" > "$tar.tmp" ||
			die "$deb holds no $name"
		mv "$tar.tmp" "$tar"
	fi
	echo "$tar"
}

# tree_kernel_version DIR: X.Y.Z of the kernel tree in DIR (from its
# Makefile: a 'make kernelversion' would see the caller's VERSION=...).
tree_kernel_version() {
	awk '/^VERSION =/{v=$3} /^PATCHLEVEL =/{p=$3} /^SUBLEVEL =/{s=$3} END{print v"."p"."s}' "$1/Makefile"
}

# base_tree TARBALL DIR LABEL: extract a kernel tarball into DIR as a git
# repository whose one commit, tagged 'base', is "Linux X.Y.Z (Debian LABEL)"
# (fixed identity and dates: the same commit id everywhere); print X.Y.Z.
base_tree() {
	local tarball=$1 dir=$2 label=$3 tmp=$2.tmp ver
	rm -rf "$tmp"
	mkdir -p "$tmp"
	log "extracting $tarball"
	# Debian's tarballs are multi-block xz, which xz 5.4 decompresses on
	# every CPU (-T): 5.4 s instead of 8.7 s for the KVM directories of
	# one, on 2 CPUs.
	timed extract tar -I "xz -T$NPROC" -xf "$tarball" -C "$tmp" --strip-components=1
	ver=$(tree_kernel_version "$tmp")
	log "committing the pristine base (about 30 s)"
	git -C "$tmp" init -q -b series
	git -C "$tmp" config user.name kvm-slotzap
	git -C "$tmp" config user.email devel@kvm-slotzap.invalid
	git -C "$tmp" config gc.auto 0
	# Debian's top-level .gitignore ends with '/*': force-add everything.
	timed add git -C "$tmp" add -f -A
	GIT_AUTHOR_DATE='2000-01-01T00:00:00Z' GIT_COMMITTER_DATE='2000-01-01T00:00:00Z' \
		timed commit git -C "$tmp" commit -q -m "Linux $ver (Debian $label)"
	git -C "$tmp" tag base
	rm -rf "$dir"
	mv "$tmp" "$dir"
	echo "$ver"
}

# debian_abi VERSION: the ABI of Debian's linux VERSION (6.1.192-3 ->
# 6.1.0-57-amd64), read from the archive: the linux-headers-*-common whose
# version is VERSION.
debian_abi() {
	local ver=$1 abi
	abi=$(apt-cache madison $(apt-cache pkgnames linux-headers-6.1.0- | grep -E -- '-[0-9]+-common$') 2>/dev/null |
		awk -v v="$ver" '$3 == v { sub(/^linux-headers-/, "", $1); sub(/-common$/, "", $1); print $1; exit }')
	[ -n "$abi" ] || die "no linux-headers-6.1.0-*-common at version $ver in the archive ('apt-get update' as root, or check the version: apt-cache madison linux-source-6.1)"
	echo "$abi-amd64"
}

# The KVM selftests of $SRC, built out of tree against the test kernel's
# UAPI headers (make selftests). kvmmake ARGS...: make in their directory
# with those paths; kvmvar NAME: a variable of their Makefile.
KVM_DIR=$SRC/tools/testing/selftests/kvm
KVM_OUT=$BUILD/selftests/kvm
kvmmake() {
	make -C "$KVM_DIR" OUTPUT="$KVM_OUT" LINUX_HDR_PATH="$OBJ_TEST/usr/include/" \
		KHDR_INCLUDES="-isystem $OBJ_TEST/usr/include" "$@"
}
kvmvar() { kvmmake -s --no-print-directory --eval 'print-%: ; @echo $($*)' "print-$1"; }

# build_selftest SOURCE BINARY: one selftest-style C file built against the
# selftest library that make selftests built (-Werror), e.g. the harness's
# own tests under tests/.
build_selftest() {
	local src out cflags objs
	[ -f "$KVM_OUT/lib/assert.o" ] || die "no selftest library in $KVM_OUT; run 'make selftests' first"
	src=$(realpath -m "$1") out=$(realpath -m "$2")
	cflags=$(kvmvar CFLAGS) objs=$(kvmvar LIBKVM_OBJS)
	# CFLAGS' -I$(<D) is empty outside a rule: name its directories again
	(cd "$KVM_DIR" && gcc $cflags -Iinclude -Iinclude/x86_64 -Ix86_64 -Werror $(kvmvar LDFLAGS) \
		-o "$out" "$src" $objs $(kvmvar LDLIBS)) ||
		die "$1 does not build against the series' selftest library"
}

need_source() {
	[ -e "$SRC/.git" ] || die "no kernel tree at $SRC; run 'make source' first"
}

# Patches listed in patches/series, in order (comments and blanks dropped).
series_patches() {
	[ -f "$TOP/patches/series" ] || return 0
	sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' "$TOP/patches/series"
}

# install_pkgs WHAT PKG[=VERSION]...: apt-get install the packages that are missing
# (a quick no-op when all are there); WHAT names the caller in messages.
install_pkgs() {
	local what=$1 p sudo=
	shift
	local missing=()
	for p in "$@"; do   # PKG or PKG=VERSION (that exact version)
		case $p in
		*=*) [ "$(dpkg-query -W -f '${db:Status-Abbrev}${Version}' "${p%%=*}" 2>/dev/null)" = "ii ${p#*=}" ] || missing+=("$p") ;;
		*) [ "$(dpkg-query -W -f '${db:Status-Abbrev}' "$p" 2>/dev/null)" = "ii " ] || missing+=("$p") ;;
		esac
	done
	if [ ${#missing[@]} -eq 0 ]; then
		log "$what: all $# packages are installed"
		return 0
	fi
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null && sudo -n true 2>/dev/null ||
			die "installing ${missing[*]} needs root: run '$what' as root, or set up sudo (sudo -n true must work) for $(id -un)"
		sudo=sudo
	fi
	log "$what: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	timed "apt-get update" $sudo apt-get update -q ||
		die "apt-get update failed; check /etc/apt/sources.list and the network"
	timed "apt-get install" $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" ||
		die "apt-get install failed for: ${missing[*]}"
}
