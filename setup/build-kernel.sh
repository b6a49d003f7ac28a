#!/bin/bash
# Configure and build a kernel out of tree.
#   build-kernel.sh OBJDIR FRAGMENT... [-- MAKE-TARGET...]
# The config is tinyconfig + the fragments (merge_config.sh) + olddefconfig;
# every CONFIG_ line of the fragments must survive, or the build stops.
# Default target: bzImage. SLOTZAP_KSRC=dir builds another tree (default build/linux).
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"

obj=$(realpath -m "$1")
shift
frags=() targets=()
while [ $# -gt 0 ]; do
	[ "$1" = -- ] && { shift; targets=("$@"); break; }
	frags+=("$(realpath "$1")")
	shift
done
[ ${#targets[@]} -gt 0 ] || targets=(bzImage)
need_source
mkdir -p "$obj"

# Regenerate .config only when a fragment or tinyconfig's inputs changed:
# an untouched .config keeps the build incremental.
stamp=$(cat "${frags[@]}" "$SRC"/kernel/configs/tiny*.config "$SRC"/arch/x86/configs/tiny.config | sha256sum | cut -d' ' -f1)
if [ ! -f "$obj/.config" ] || [ "$(cat "$obj/.config.stamp" 2>/dev/null)" != "$stamp" ]; then
	log "configuring $obj: tinyconfig + ${frags[*]##*/}"
	kmake "$obj" tinyconfig >/dev/null
	(cd "$obj" && "$SRC/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "${frags[@]}" >/dev/null)
	kmake "$obj" olddefconfig >/dev/null
	echo "$stamp" > "$obj/.config.stamp"
else
	kmake "$obj" olddefconfig >/dev/null   # picks up Kconfig changes of the tree
fi

# Every option of the fragments must be in the final .config as written.
missing=()
while read -r line; do
	case "$line" in
	CONFIG_*=*)
		grep -qxF "$line" "$obj/.config" || missing+=("$line (got: $(grep -E "^(# )?${line%%=*}[= ]" "$obj/.config" || echo unset))")
		;;
	"# CONFIG_"*" is not set")
		opt=${line#\# }; opt=${opt%% *}
		grep -qE "^$opt=" "$obj/.config" && missing+=("$line (got: $(grep -E "^$opt=" "$obj/.config"))")
		;;
	esac
done < <(cat "${frags[@]}")
if [ ${#missing[@]} -gt 0 ]; then
	printf '  %s\n' "${missing[@]}" >&2
	die "${#missing[@]} option(s) of ${frags[*]##*/} did not survive olddefconfig (a dependency is missing or the option does not exist in this tree); add the dependencies to the fragment"
fi

log "building ${targets[*]} in $obj (-j$NPROC)"
timed "make ${targets[*]}" kmake "$obj" "${targets[@]}" ||
	die "kernel build failed in $obj (${targets[*]}); the compiler output above names the file"
