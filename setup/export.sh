#!/bin/bash
# Regenerate patches/*.patch and patches/series from the commits of
# build/linux after the tag 'base'. File names come from git format-patch
# (NNNN-subject.patch); --zero-commit, --no-signature and a fixed abbrev keep
# them free of commit ids and git versions: an unchanged commit exports unchanged.
# Other files in patches/ (BASE, checkpatch-exceptions, notes, a cover letter,
# upstream/) stay. Each patch carries, below its '---', its paragraphs of
# notes and its accepted findings of checkpatch-exceptions.
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

# Below its '---' (which git am drops), each patch carries notes for
# reviewers on the list: the paragraphs patches/notes gives for it (lines
# 'PATCH FILE|TEXT'), then why the findings of checkpatch.pl --strict that
# patches/checkpatch-exceptions accepts for it stand. Those two files are the
# one source: the notes are written again on every export.
while read -r p; do
	block= findings=
	[ ! -f "$TOP/patches/notes" ] ||
		block=$(awk -F'|' -v p="$p" '$1 == p { print $2; print "" }' "$TOP/patches/notes" | fmt -w 72)
	[ ! -f "$TOP/patches/checkpatch-exceptions" ] ||
		findings=$(awk -F'|' -v p="$p" '$1 == p && !seen[$2]++ { print " - " $2 ": " $3 }' \
			"$TOP/patches/checkpatch-exceptions")
	[ -z "$findings" ] || block+="${block:+$'\n\n'}Notes on checkpatch.pl --strict:"$'\n'"$findings"
	[ -n "$block" ] || continue
	awk -v block="$block" '!done && $0 == "---" { print; print block; print ""; done = 1; next } { print }' \
		"$TOP/patches/$p" > "$TOP/patches/$p.tmp" && mv "$TOP/patches/$p.tmp" "$TOP/patches/$p"
done < "$TOP/patches/series"

# The tree now matches patches/: record it so 'make source' has nothing to do.
"$TOP/setup/source.sh" --record
log "exported $n patch(es) to patches/ (git -C $TOP status patches/ shows what changed)"
