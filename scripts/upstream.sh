#!/bin/bash
# Fixes for mainline found while writing the series (patches/upstream/):
# mainline-style patches against Debian's linux-source-6.12 (the version
# patches/upstream/BASE pins), and the reproducers that show each bug on 6.12.
#   upstream.sh check    every patch applies with 'git am' to the pinned 6.12,
#                        checkpatch --strict finds nothing, arch/x86/kvm builds
#                        (make check's hygiene stage runs this)
#   upstream.sh repro    the reproducers: 6.12 with the debug check of
#                        patches/upstream/repro/, without and with the fixes,
#                        each booted in the shadow-MMU configurations; prints
#                        what the debug check reported (by hand, ~25 min)
#   upstream.sh pristine the pinned 6.12 without the fixes, in a worktree;
#                        prints its path
# The tree is build/upstream/linux (tag 'base' = the pinned tarball); results
# of check: build/results/upstream.results (pass|fail TAB name TAB detail).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$TOP/patches/upstream/BASE"

UP=$BUILD/upstream
TREE=$UP/linux
RES=$BUILD/results/upstream.results
REPRO_TEST=memslot_zap_yield_repro
REPRO_CONFIGS="svm-tdp-legacy svm-shadow"

mapfile -t FIXES < <(cd "$TOP/patches/upstream" && ls 0*.patch 2>/dev/null)
mapfile -t REPRO < <(cd "$TOP/patches/upstream/repro" && ls 0*.patch 2>/dev/null)

# tree: build/upstream/linux at the pinned version (extracted once).
tree() {
	local want="Linux $KERNEL (Debian $PACKAGE $VERSION)" tarball
	if [ "$(git -C "$TREE" log -1 --format=%s base 2>/dev/null)" = "$want" ]; then
		return 0
	fi
	# base_tree() sets the identity git am commits with
	tarball=$(base_tarball "$PACKAGE" "$VERSION") || exit 1
	mkdir -p "$UP"
	base_tree "$tarball" "$TREE" "$PACKAGE $VERSION" >/dev/null || die "cannot extract $tarball into $TREE"
}

# branch NAME PATCH...: NAME = base + the patches (git am -3: the debug
# patches apply on top of the fixes too); fails when one does not apply.
branch() {
	local name=$1 p
	shift
	git -C "$TREE" am --abort >/dev/null 2>&1
	git -C "$TREE" checkout -q -f -B "$name" base || return 1
	for p in "$@"; do
		git -C "$TREE" am -q -3 "$p" || { git -C "$TREE" am --abort; warn "$(basename "$p") does not apply to $PACKAGE $VERSION"; return 1; }
	done
}

check() {
	local p ok=1 findings
	result() { printf '%s\t%s\t%s\n' "$1" "$2" "${3:-}" >> "$RES"; [ "$1" = fail ] && warn "FAILED: $2 ${3:-}"; return 0; }
	mkdir -p "$BUILD/results"
	: > "$RES"
	tree
	[ ${#FIXES[@]} -gt 0 ] || { result fail "upstream patches" "none in patches/upstream"; return 1; }
	git -C "$TREE" checkout -q -f -B upstream-check base
	for p in "${FIXES[@]}"; do
		if git -C "$TREE" am -q "$TOP/patches/upstream/$p" 2>/dev/null; then
			result pass "upstream $p applies to $PACKAGE $VERSION"
		else
			git -C "$TREE" am --abort
			result fail "upstream $p applies to $PACKAGE $VERSION" "git am failed; rewrite it against build/upstream/linux (tag base)"
			ok=0
			break
		fi
		findings=$(cd "$TREE" && perl scripts/checkpatch.pl --strict --terse "$TOP/patches/upstream/$p" 2>&1 | grep -E '(ERROR|WARNING|CHECK):')
		if [ -z "$findings" ]; then
			result pass "upstream checkpatch $p"
		else
			result fail "upstream checkpatch $p" "$(echo "$findings" | tr '\n' ' ')"
		fi
	done
	[ $ok = 1 ] || return 1
	if SLOTZAP_KSRC=$TREE "$TOP/setup/build-kernel.sh" "$UP/obj-check" "$TOP/configs/kvm-test.config" -- arch/x86/kvm/ >&2; then
		result pass "upstream arch/x86/kvm builds with patches/upstream on $PACKAGE $VERSION"
	else
		result fail "upstream arch/x86/kvm builds with patches/upstream on $PACKAGE $VERSION" "see the compiler output above"
	fi
	! grep -q '^fail' "$RES"
}

# kernel NAME PATCH...: the reproducer kernel of branch NAME (preemptible:
# configs/upstream-repro.config) as build/upstream/bzImage-NAME, and the
# driver. Both kernels build in one directory: the second recompiles only
# what the fixes change.
kernel() {
	local name=$1 obj=$UP/obj-repro hdr
	shift
	branch "$name" "$@" || exit 1
	SLOTZAP_KSRC=$TREE "$TOP/setup/build-kernel.sh" "$obj" "$TOP/configs/kvm-test.config" \
		"$TOP/configs/upstream-repro.config" -- bzImage headers_install >&2 ||
		die "the $name kernel does not build"
	hdr=$obj/usr/include
	make -s -C "$TREE/tools/testing/selftests/kvm" OUTPUT="$UP/bin-$name" LINUX_HDR_PATH="$hdr/" \
		KHDR_INCLUDES="-isystem $hdr" -j"$NPROC" "$UP/bin-$name/x86_64/$REPRO_TEST" >&2 ||
		die "$REPRO_TEST does not build on the $name branch"
	cp "$obj/arch/x86/boot/bzImage" "$UP/bzImage-$name"
}

repro() {
	local iterations=${1:-20} name c out misses checks
	tree
	[ ${#REPRO[@]} -gt 0 ] || die "no reproducer patches in patches/upstream/repro"
	log "6.12 with the debug check, without the fixes"
	kernel repro "${REPRO[@]/#/$TOP/patches/upstream/repro/}"
	log "6.12 with the fixes, then the debug check"
	kernel repro-fixed "${FIXES[@]/#/$TOP/patches/upstream/}" "${REPRO[@]/#/$TOP/patches/upstream/repro/}"
	printf '%-12s %-16s %8s %8s  %s\n' kernel config checked missed "driver" > "$UP/repro.txt"
	for name in repro repro-fixed; do
		for c in $REPRO_CONFIGS; do
			out=$UP/vm/$name-$c
			log "$REPRO_TEST $iterations on $name, $c"
			timed "$name $c" "$TOP/scripts/vm.py" --kernel "$UP/bzImage-$name" --config "$c" --out "$out" -q \
				"cd $UP/bin-$name/x86_64 && ./$REPRO_TEST $iterations > \$OUT/driver.log 2>&1; echo driver exit \$? >> \$OUT/driver.log"
			# the debug check prints every miss and, every 100th check, the totals
			misses=$(grep -c 'slotzap-debug: flush miss' "$out/console.log" 2>/dev/null)
			checks=$(grep -o 'slotzap-debug: [0-9]* flushes on yield checked' "$out/console.log" 2>/dev/null | awk '{ n = $2 } END { print n ? ">=" n : "<100" }')
			printf '%-12s %-16s %8s %8s  %s\n' "$name" "$c" "$checks" "$misses" \
				"$(grep -h -E 'DELETEs|driver exit' "$out/driver.log" 2>/dev/null | tr '\n' ' ')" >> "$UP/repro.txt"
		done
	done
	cat "$UP/repro.txt"
}

# pristine: print the path of a worktree of the pinned 6.12 as Debian ships
# it, without the fixes (scripts/bench-profile.py compares with it).
pristine() {
	local wt=$UP/pristine
	tree
	if [ "$(git -C "$wt" rev-parse HEAD 2>/dev/null)" != "$(git -C "$TREE" rev-parse base)" ]; then
		rm -rf "$wt"
		git -C "$TREE" worktree prune
		git -C "$TREE" worktree add -q --detach "$wt" base >&2 || die "cannot create the worktree $wt"
	fi
	echo "$wt"
}

case ${1:-} in
check) check ;;
repro) shift; repro "$@" ;;
pristine) pristine ;;
*) die "usage: scripts/upstream.sh check | repro [ITERATIONS] | pristine" ;;
esac
