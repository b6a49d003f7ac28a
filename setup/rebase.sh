#!/bin/bash
# Move the series to another Debian linux-source-6.1 version:
#   setup/rebase.sh VERSION          (make rebase VERSION=6.1.192-4)
# fetches that version (apt-get download, nothing installed), applies the
# series with 'git am -3' in build/rebase/linux, and either stops at the
# first patch that does not apply, naming it and showing the conflict, or
# writes patches/BASE (VERSION, KERNEL, DEBIAN_ABI, read from the package and
# the archive), makes the rebased tree build/linux and exports the series
# (a patch whose context moved is rewritten; the others stay byte for byte).
# After a stop: resolve in build/rebase/linux (edit, git add, git am
# --continue until the series is applied), then 'make rebase VERSION=...
# SLOTZAP_REBASE_CONTINUE=1' finishes from there.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"
. "$TOP/patches/BASE"

new=${1:-}
[ -n "$new" ] || die "usage: make rebase VERSION=<a $PACKAGE version: apt-cache madison $PACKAGE>"
WT=$BUILD/rebase/linux
start=$(date +%s)

# build/linux is replaced at the end: refuse while it holds unexported work
if [ -d "$SRC/.git" ]; then
	git -C "$SRC" diff --quiet HEAD ||
		die "$SRC has uncommitted changes; commit and 'make export' them first"
	[ "$(git -C "$SRC" rev-parse HEAD)" = "$(cut -d' ' -f2 "$BUILD/source.stamp" 2>/dev/null)" ] ||
		die "$SRC has commits that are not in patches/; 'make export' them first"
fi

abi=$(debian_abi "$new")
if [ "${SLOTZAP_REBASE_CONTINUE:-}" = 1 ]; then
	[ -d "$WT/.git" ] || die "no $WT to continue from; run make rebase VERSION=$new first"
	[ -d "$WT/.git/rebase-apply" ] && die "'git am' is still in progress in $WT: resolve, git add, git am --continue"
	kver=$(tree_kernel_version "$WT")
	[ "$(git -C "$WT" log -1 --format=%s base)" = "Linux $kver (Debian $PACKAGE $new)" ] ||
		die "$WT is not based on $PACKAGE $new"
else
	kver=$(base_tree "$(base_tarball "$PACKAGE" "$new")" "$WT" "$PACKAGE $new")
	n=0
	while read -r p; do
		n=$((n + 1))
		if ! git -C "$WT" am -q -3 "$TOP/patches/$p" >"$BUILD/rebase/am.log" 2>&1; then
			cat "$BUILD/rebase/am.log" >&2
			echo >&2
			echo "The conflict (git -C $WT diff):" >&2
			git -C "$WT" diff | head -80 >&2
			die "patch $n, $p, does not apply to $PACKAGE $new (Linux $kver). Resolve it in $WT (edit, git add, git -C $WT am --continue, for each patch that stops), then: make rebase VERSION=$new SLOTZAP_REBASE_CONTINUE=1"
		fi
	done < <(series_patches)
	log "all $n patches apply to $PACKAGE $new (Linux $kver)"
fi

sed -i -e "s/^VERSION=.*/VERSION=$new/" -e "s/^KERNEL=.*/KERNEL=$kver/" \
	-e "s/^DEBIAN_ABI=.*/DEBIAN_ABI=$abi/" "$TOP/patches/BASE"
rm -rf "$SRC"
mv "$WT" "$SRC"
"$TOP/setup/export.sh"
log "the base is now $PACKAGE $new (Linux $kver, ABI $abi); $(($(date +%s) - start))s"
log "next: git diff patches/ shows what moved; make check proves it; then commit patches/"
git -C "$TOP" status --short patches/ >&2
