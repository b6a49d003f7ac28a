#!/bin/bash
# Prepare build/linux: the pinned Debian base as commit 'base', then every
# patch of patches/series applied with 'git am'. Cheap when nothing changed.
# SLOTZAP_FORCE=1 discards commits or edits in build/linux that were not exported.
# --record only notes that build/linux matches patches/ (after an export).
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"
. "$TOP/patches/BASE"

STAMP=$BUILD/source.stamp        # "<hash of patches> <HEAD after applying>"

patches_hash() {
	{
		grep -E '^(PACKAGE|VERSION|KERNEL)=' "$TOP/patches/BASE"
		series_patches | while read -r p; do
			echo "== $p"
			cat "$TOP/patches/$p"
		done
	} | sha256sum | cut -d' ' -f1
}

# An installed package of another version is no error: the pinned one is
# fetched (base_tarball); say how to move the base to it.
check_package() {
	local have
	have=$(dpkg-query -W -f '${Version}' "$PACKAGE" 2>/dev/null || true)
	if [ -n "$have" ] && [ "$have" != "$VERSION" ]; then
		log "$PACKAGE $have is installed; the series is based on $VERSION (patches/BASE), which is used"
		log "to move the base to $have: make rebase VERSION=$have"
	fi
}

extract_base() {
	local ver
	ver=$(base_tree "$(base_tarball "$PACKAGE" "$VERSION")" "$SRC" "$PACKAGE $VERSION")
	[ "$ver" = "$KERNEL" ] || die "$PACKAGE $VERSION holds Linux $ver, but patches/BASE says KERNEL=$KERNEL; fix patches/BASE (make rebase VERSION=$VERSION writes it from the package)"
}

# Refuse to throw away work done in build/linux that is not in patches/.
check_no_local_work() {
	local recorded
	[ "${SLOTZAP_FORCE:-}" = 1 ] && return 0
	if [ -d "$SRC/.git/rebase-apply" ]; then
		die "a 'git am' is in progress in $SRC; finish or abort it (git -C build/linux am --abort), or SLOTZAP_FORCE=1 make source"
	fi
	if ! git -C "$SRC" diff --quiet HEAD; then
		die "$SRC has uncommitted changes; commit them and run 'make export', or discard them with SLOTZAP_FORCE=1 make source"
	fi
	recorded=$(cut -d' ' -f2 "$STAMP" 2>/dev/null || true)
	if [ "$(git -C "$SRC" rev-parse HEAD)" != "$recorded" ]; then
		die "$SRC has commits that are not in patches/ (HEAD moved since the last apply); run 'make export' to keep them, or SLOTZAP_FORCE=1 make source to discard them"
	fi
}

apply_series() {
	local n=0 p
	git -C "$SRC" am --abort >/dev/null 2>&1 || true
	git -C "$SRC" checkout -q series 2>/dev/null || git -C "$SRC" checkout -q -B series
	git -C "$SRC" reset -q --hard base
	while read -r p; do
		[ -f "$TOP/patches/$p" ] || die "patches/series lists $p, but patches/$p does not exist"
		if ! git -C "$SRC" am -q "$TOP/patches/$p"; then
			git -C "$SRC" am --abort || true
			die "patch $p does not apply (on top of the patches before it in patches/series); fix it in build/linux, commit, then 'make export'"
		fi
		n=$((n + 1))
	done < <(series_patches)
	log "applied $n patch(es) on top of base"
}

main() {
	local hash
	mkdir -p "$BUILD"
	hash=$(patches_hash)
	if [ "${1:-}" = --record ]; then   # used by export.sh: tree == patches/
		echo "$hash $(git -C "$SRC" rev-parse HEAD)" > "$STAMP"
		return 0
	fi
	check_package
	if [ -d "$SRC/.git" ]; then
		if [ "$(cut -d' ' -f1 "$STAMP" 2>/dev/null)" = "$hash" ] &&
		   [ "$(git -C "$SRC" rev-parse HEAD)" = "$(cut -d' ' -f2 "$STAMP")" ] &&
		   git -C "$SRC" diff --quiet HEAD; then
			log "source: $SRC is up to date with patches/ ($(git -C "$SRC" rev-list --count base..HEAD) patches)"
			return 0
		fi
		check_no_local_work
		if [ "$(git -C "$SRC" log -1 --format=%s base)" != "Linux $KERNEL (Debian $PACKAGE $VERSION)" ]; then
			log "$SRC is based on '$(git -C "$SRC" log -1 --format=%s base)'; extracting $PACKAGE $VERSION instead"
			rm -rf "$SRC"
			extract_base
		fi
	else
		extract_base
	fi
	log "applying patches/series"
	timed apply apply_series
	echo "$hash $(git -C "$SRC" rev-parse HEAD)" > "$STAMP"
}

main "$@"
