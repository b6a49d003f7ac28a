#!/bin/bash
# make docs-check: does the series add a Sphinx warning to the KVM
# documentation? Builds 'make SPHINXDIRS=virt htmldocs' on the pristine base
# and on the series (git worktree build/docs/linux, output in
# build/docs/obj-base and build/docs/obj-series), and compares the warnings
# with their line numbers stripped. Exit 1 and the new warnings if there are
# any. About 2-4 minutes on 2 cores; by hand, not in make check.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_source
install_pkgs "make docs-check" python3-sphinx python3-sphinx-rtd-theme

WT=$BUILD/docs/linux
if [ ! -d "$WT" ]; then
	git -C "$SRC" worktree prune
	git -C "$SRC" worktree add -q --detach "$WT" base || die "cannot create the worktree $WT"
fi

# warnings REV NAME: build the virt docs at REV, print its normalized warnings
warnings() {
	local rev=$1 obj=$BUILD/docs/obj-$2
	git -C "$WT" checkout -q --detach -f "$rev" || die "cannot check out $rev in $WT"
	mkdir -p "$obj"
	log "htmldocs (SPHINXDIRS=virt) at $2 ($(git -C "$WT" log -1 --format=%s))"
	timed "htmldocs $2" make -C "$WT" O="$obj" SPHINXDIRS=virt htmldocs > "$obj/htmldocs.log" 2>&1 ||
		{ tail -20 "$obj/htmldocs.log" >&2; die "htmldocs failed at $2; see $obj/htmldocs.log"; }
	grep -iE 'warning|error' "$obj/htmldocs.log" | sed -E "s|$WT/||; s|:[0-9]+:|:N:|" | sort -u
}

base=$(warnings base base)
series=$(warnings "$(git -C "$SRC" rev-parse HEAD)" series)
new=$(comm -13 <(echo "$base") <(echo "$series"))
printf '    docs-check: %d warning line(s) on the base, %d on the series\n' \
	"$(echo -n "$base" | grep -c . || true)" "$(echo -n "$series" | grep -c . || true)" >&2
if [ -n "$new" ]; then
	echo "$new" >&2
	die "the series adds the Sphinx warning(s) above to Documentation/virt"
fi
log "docs-check: the series adds no Sphinx warning to Documentation/virt"
