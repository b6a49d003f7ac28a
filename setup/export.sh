#!/bin/bash
# Regenerate patches/*.patch and patches/series from the commits of
# build/linux after the tag 'base'. File names come from git format-patch
# (NNNN-subject.patch); --zero-commit, --no-signature and a fixed abbrev keep
# them free of commit ids and git versions: an unchanged commit exports unchanged.
# Other files in patches/ (BASE, checkpatch-exceptions, a cover letter) stay.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"
need_source

git -C "$SRC" diff --quiet HEAD ||
	die "build/linux has uncommitted changes; commit them first (new files need 'git add -f', see README)"
{ [ -d "$SRC/.git/rebase-apply" ] || [ -d "$SRC/.git/rebase-merge" ]; } && die "a 'git am' or rebase is in progress in build/linux; finish it first"
n=$(git -C "$SRC" rev-list --count base..HEAD)

find "$TOP/patches" -maxdepth 1 -name '[0-9][0-9][0-9][0-9]-*.patch'  -delete
if [ "$n" -gt 0 ]; then
	git -C "$SRC" -c core.abbrev=12 format-patch -q --zero-commit --no-signature \
		-o "$TOP/patches" base..HEAD
fi
(cd "$TOP/patches" && ls [0-9][0-9][0-9][0-9]-*.patch 2>/dev/null | grep -vx '0000-cover-letter.patch' || true) > "$TOP/patches/series"

# The tree now matches patches/: record it so 'make source' has nothing to do.
"$TOP/setup/source.sh" --record
log "exported $n patch(es) to patches/ (git -C $TOP status patches/ shows what changed)"
