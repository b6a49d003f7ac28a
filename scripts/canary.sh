#!/bin/bash
# The series against every linux-source-6.1 of Debian's archive from
# 6.1.176-1 on (make canary; not part of make check: Debian's schedule must
# not break CI). For each version: its ABI (from the archive), whether the
# series applies with git apply (no fuzz, as git am), and the time taken;
# for the newest, also whether the KVM modules build against its headers
# (SLOTZAP_CANARY_BUILD=0 skips that). Prints a table, also written to
# build/canary/table.txt. Only the files the series touches are extracted.
#   scripts/canary.sh [VERSION...]      default: every version >= 6.1.176-1
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$TOP/patches/BASE"

OUT=$BUILD/canary
mkdir -p "$OUT"
versions=("$@")
if [ ${#versions[@]} -eq 0 ]; then
	mapfile -t versions < <(apt-cache madison "$PACKAGE" | awk '{ print $3 }' | sort -u -V |
		while read -r v; do dpkg --compare-versions "$v" ge 6.1.176-1 && echo "$v"; done)
fi
[ ${#versions[@]} -gt 0 ] || die "no $PACKAGE versions in the archive; apt-get update as root"
mapfile -t patches < <(series_patches)
# the paths the series touches
mapfile -t paths < <(cd "$TOP/patches" && grep -h '^--- a/' "${patches[@]}" | sed 's|^--- a/||' | sort -u)

apply_to() {   # VERSION -> "applies" or "patch N (NAME) fails: FILE"
	local v=$1 dir=$OUT/$1 tarball n=0 p top
	tarball=$(base_tarball "$PACKAGE" "$v") || { echo "cannot fetch"; return 1; }
	rm -rf "$dir"
	mkdir -p "$dir"
	top=$(tar -tJf "$tarball" | head -1 | cut -d/ -f1)
	# files the series creates are missing from the tarball: git apply
	# fails on any other missing file, naming it
	tar -xJf "$tarball" -C "$dir" --strip-components=1 "${paths[@]/#/$top/}" 2>/dev/null
	for p in "${patches[@]}"; do
		n=$((n + 1))
		if ! (cd "$dir" && git apply "$TOP/patches/$p" 2> "$OUT/$v.err"); then
			echo "patch $n ($p) fails: $(head -1 "$OUT/$v.err")"
			return 1
		fi
	done
	echo "applies"
}

rows=("$(printf '%-12s %-16s %-9s %6s  %s' version ABI applies time detail)")
newest=${versions[-1]}
for v in "${versions[@]}"; do
	log "canary: $PACKAGE $v"
	start=$(date +%s)
	abi=$(debian_abi "$v" 2>/dev/null || echo '?')
	detail=$(apply_to "$v") && ok=yes || ok=no
	rows+=("$(printf '%-12s %-16s %-9s %5ss  %s' "$v" "$abi" "$ok" "$(($(date +%s) - start))" "$detail")")
done
if [ "${SLOTZAP_CANARY_BUILD:-1}" = 1 ]; then
	log "canary: building the KVM modules of $newest against linux-headers-$(debian_abi "$newest")"
	start=$(date +%s)
	if "$TOP/scripts/debian-modules.sh" canary-build "$newest" > "$OUT/build-$newest.log" 2>&1; then b=builds; else b="FAILS (build/canary/build-$newest.log)"; fi
	rows+=("" "$(printf 'modules of %s against linux-headers-%s: %s in %ss' "$newest" "$(debian_abi "$newest")" "$b" "$(($(date +%s) - start))")")
fi
printf '%s\n' "${rows[@]}" | tee "$OUT/table.txt"
! grep -q ' no \|FAILS' "$OUT/table.txt"
