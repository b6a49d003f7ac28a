#!/bin/bash
# Series hygiene, for 'make check':
#  - build/linux's base is the one patches/BASE pins;
#  - the series applies to the pristine base with 'git am', patch by patch;
#  - checkpatch.pl --strict finds nothing (patches/checkpatch-exceptions
#    lists accepted findings: PATCH|MESSAGE PREFIX|REASON);
#  - every prefix of the series builds the test kernel (a prefix whose last
#    patch touches only the selftests has the kernel tree of the prefix
#    before it, which is not built twice), and a prefix whose last patch touches page-track or KVM-GT also compiles
#    drivers/gpu/drm/i915/gvt with KVM-GT enabled;
#  - the fixes for mainline in patches/upstream apply to the pinned
#    linux-source-6.12, are checkpatch-clean and build (scripts/upstream.sh).
# The patches are applied in a git worktree, build/bisect/linux, so the
# working tree build/linux is left alone while they apply; the prefixes then
# build in build/linux itself when its commits are exactly the series (see
# below; it is checked out again at the end), else in the worktree, in
# build/bisect/obj-test and build/bisect/obj-gvt, laid out like build/linux
# and build/obj-test so ccache serves what the test kernel build already
# compiled. Results: build/results/hygiene.results.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$TOP/patches/BASE"

RES=$BUILD/results/hygiene.results
WT=$BUILD/bisect/linux
mkdir -p "$BUILD/results"
: > "$RES"
result() { printf '%s\t%s\t%s\n' "$1" "$2" "${3:-}" >> "$RES"; [ "$1" = fail ] && warn "FAILED: $2 ${3:-}"; return 0; }
need_source
mapfile -t patches < <(series_patches)
n=${#patches[@]}

# --- the pinned base ------------------------------------------------------
# build/linux's base commit is the pinned package version's tarball.
subject=$(git -C "$SRC" log -1 --format=%s base)
kver=$(git -C "$SRC" show base:Makefile | awk '/^VERSION/{v=$3} /^PATCHLEVEL/{p=$3} /^SUBLEVEL/{s=$3} END{print v"."p"."s}')
if [ "$subject" = "Linux $KERNEL (Debian $PACKAGE $VERSION)" ] && [ "$kver" = "$KERNEL" ]; then
	result pass "hygiene base is $PACKAGE $VERSION (Linux $KERNEL)"
else
	result fail "hygiene base is $PACKAGE $VERSION (Linux $KERNEL)" "build/linux's base is '$subject', Linux $kver"
fi

# --- checkpatch -------------------------------------------------------------
log "checkpatch --strict on $n patch(es)"
start=$(date +%s)
for p in "${patches[@]}"; do
	findings=$(cd "$SRC" && perl scripts/checkpatch.pl --strict --terse "$TOP/patches/$p" 2>&1 |
		grep -E '(ERROR|WARNING|CHECK):' | sed -E 's/^[^:]*:[0-9]+: //')
	bad=()
	while IFS= read -r f; do
		[ -n "$f" ] || continue
		if ! awk -F'|' -v p="$p" -v f="$f" '$1 == p && index(f, $2) == 1 { found = 1 } END { exit !found }' \
				"$TOP/patches/checkpatch-exceptions" 2>/dev/null; then
			bad+=("$f")
		fi
	done <<< "$findings"
	if [ ${#bad[@]} -eq 0 ]; then
		result pass "checkpatch $p"
	else
		printf '    %s\n' "${bad[@]}" >&2
		result fail "checkpatch $p" "${bad[*]}"
	fi
done
echo "    [checkpatch: $(($(date +%s) - start))s]" >&2

# --- every prefix applies and builds ---------------------------------------
# First every patch is applied with 'git am' in the worktree build/bisect/linux
# (the 'applies' results), then every prefix is built. Where build/linux holds
# exactly the series (nothing uncommitted, and its commits base..HEAD have the
# trees 'git am' gave), a prefix builds by checking out its commit in
# build/linux and building build/obj-test, which the kernel stage built from
# the whole series: make rebuilds what differs. In the worktree, prefix 1
# would first build the whole kernel in build/bisect/obj-test (150-200 s from
# ccache, make check's 2026-12-06 runs). build/linux's branch is checked out
# again when the stage ends, however it ends. Otherwise (work in progress in
# build/linux) the prefixes build in the worktree, in build/bisect/obj-test.
if [ ! -d "$WT" ]; then
	git -C "$SRC" worktree prune
	git -C "$SRC" worktree add -q --detach "$WT" base || die "cannot create the worktree $WT"
fi
git -C "$WT" am --abort >/dev/null 2>&1
git -C "$WT" checkout -q --detach -f base || die "cannot check out base in $WT"
broken= wt_commits=() gvt=()
for i in "${!patches[@]}"; do
	p=${patches[$i]} k=$((i + 1))
	name="prefix $k/$n ($p)"
	if [ -n "$broken" ]; then
		result fail "applies $name" "not tried: $broken did not apply"
		continue
	fi
	if ! git -C "$WT" am -q "$TOP/patches/$p"; then
		git -C "$WT" am --abort
		broken=$p
		result fail "applies $name" "git am failed on the pinned base + earlier patches"
		continue
	fi
	result pass "applies $name"
	wt_commits+=("$(git -C "$WT" rev-parse HEAD)")
	# a prefix whose patch touches page-track or KVM-GT also compiles KVM-GT
	git -C "$WT" diff --name-only HEAD~1 HEAD |
		grep -qE 'kvm_page_track|mmu/page_track|drivers/gpu/drm/i915/gvt/' && gvt+=(1) || gvt+=("")
done

tree=$WT obj=$BUILD/bisect/obj-test obj_gvt=$BUILD/bisect/obj-gvt commits=("${wt_commits[@]}")
mapfile -t src_commits < <(git -C "$SRC" rev-list --reverse base..HEAD 2>/dev/null)
if [ -z "$broken" ] && [ ${#src_commits[@]} -eq "$n" ] && [ -z "$(git -C "$SRC" status --porcelain)" ]; then
	same=1
	for i in "${!src_commits[@]}"; do
		[ "$(git -C "$SRC" rev-parse "${src_commits[$i]}^{tree}")" = "$(git -C "$WT" rev-parse "${wt_commits[$i]}^{tree}")" ] ||
			{ same=; break; }
	done
	if [ -n "$same" ]; then
		src_head=$(git -C "$SRC" symbolic-ref -q --short HEAD || git -C "$SRC" rev-parse HEAD)
		restore() { git -C "$SRC" checkout -q "$src_head" || warn "could not check out $src_head in build/linux again: run 'git -C build/linux checkout $src_head'"; }
		trap restore EXIT
		trap 'exit 143' TERM
		trap 'exit 130' INT
		tree=$SRC obj=$BUILD/obj-test obj_gvt=$BUILD/obj-gvt commits=("${src_commits[@]}")
		log "building the prefixes in build/linux (its commits are the series), in build/obj-test"
	fi
fi
[ "$tree" = "$SRC" ] || log "building the prefixes in the worktree ${WT#$TOP/}, in ${obj#$TOP/}"

# Only the objects: a single-object target brings 'prepare' along, and with
# 'prepare' named too make builds the targets one by one, each preparing the
# tree again (23 times 4 s, of 90 s in all).
gvt_objs=$(cd "$WT" && ls drivers/gpu/drm/i915/gvt/*.c | sed 's/\.c$/.o/')
built= built_k=
for i in "${!patches[@]}"; do
	p=${patches[$i]} k=$((i + 1))
	name="prefix $k/$n ($p)"
	if [ "$i" -ge ${#commits[@]} ]; then
		result fail "builds $name" "not tried: $broken did not apply"
		continue
	fi
	git -C "$tree" checkout -q --detach "${commits[$i]}" || die "cannot check out prefix $k in $tree"
	if [ -n "$built" ] && git -C "$tree" diff --quiet "$built" HEAD -- . ':!tools/testing/selftests'; then
		# The kernel tree is the one an earlier prefix built: building it
		# again proves nothing and costs 30-60 s (make's walk, the relink
		# for the new version string).
		result pass "builds $name" "the kernel tree is that of prefix $built_k, which built (the patch touches only tools/testing/selftests)"
	else
		log "building $name"
		if SLOTZAP_KSRC=$tree "$TOP/setup/build-kernel.sh" "$obj" "$TOP/configs/kvm-test.config"; then
			result pass "builds $name"
			built=${commits[$i]} built_k=$k
		else
			result fail "builds $name" "bzImage build failed in ${obj#$TOP/}"
			built=
		fi
	fi
	if [ -n "${gvt[$i]}" ]; then
		log "compiling KVM-GT at $name"
		if SLOTZAP_KSRC=$tree "$TOP/setup/build-kernel.sh" "$obj_gvt" "$TOP/configs/kvm-test.config" \
				"$TOP/configs/kvmgt.config" -- $gvt_objs; then
			result pass "builds KVM-GT $name"
		else
			result fail "builds KVM-GT $name" "drivers/gpu/drm/i915/gvt failed to compile in ${obj_gvt#$TOP/}"
		fi
	fi
done
[ "$tree" = "$SRC" ] && { restore; trap - EXIT; }

# --- the fixes for mainline (patches/upstream) -------------------------------
# They apply to the pinned linux-source-6.12, are checkpatch-clean, and
# arch/x86/kvm builds with them (scripts/upstream.sh check).
log "patches/upstream on $(sed -n 's/^VERSION=//p' "$TOP/patches/upstream/BASE") (linux-source-6.12)"
start=$(date +%s)
"$TOP/scripts/upstream.sh" check ||
	grep -q '^fail' "$BUILD/results/upstream.results" 2>/dev/null ||
	result fail "upstream patches" "scripts/upstream.sh check failed before writing a result; its output above says why"
cat "$BUILD/results/upstream.results" >> "$RES" 2>/dev/null
echo "    [patches/upstream: $(($(date +%s) - start))s]" >&2

grep -c '^pass' "$RES" | xargs printf '    hygiene: %s passed, ' >&2
grep -c '^fail' "$RES" | xargs printf '%s failed\n' >&2
! grep -q '^fail' "$RES"
