#!/bin/bash
# Build the debug kernel with an audit of every memslot zap (never part of
# the series): after kvm_arch_flush_shadow_memslot(), whichever policy ran,
# it walks every shadow page of the VM under mmu_lock and WARNs on a present
# leaf SPTE for a gfn of the deleted or moved memslot, or a valid gPTE shadow
# page of it; every 500 zaps it prints "slotzap audit: N zaps checked, M leaf
# SPTEs seen, K stale". It tests, on every DELETE and MOVE of a torture run,
# that the leaf-only zap leaves nothing that could let a guest reach the
# memslot's memory after userspace frees it.
#   docs/repro/zap-audit-build.sh [--mutant]
# builds build/audit/obj-debug (a worktree of build/linux at its HEAD plus
# docs/repro/zap-audit.patch; a minute or two from ccache after make
# debug-kernel); --mutant builds build/audit-mutant/obj-debug, where the
# leaf-only zap also skips the memslot's rmaps: the audit must fire there.
# Then, e.g.:
#   scripts/vm.py --kernel build/audit/obj-debug/arch/x86/boot/bzImage \
#       --config svm-shadow --mem 4G --hang 180 --out build/vm/audit \
#       'docs/repro/torture-runs.sh 14 -t 50 -n 10000 -v 2 -g -m off'
#   grep 'slotzap audit' build/vm/audit/console.log
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
name=audit
[ "${1:-}" = --mutant ] && name=audit-mutant
need_source
tree=$BUILD/$name/linux
if [ ! -e "$tree/.git" ]; then
	mkdir -p "$BUILD/$name"
	git -C "$SRC" worktree add -q --detach "$tree" HEAD
fi
git -C "$tree" reset -q --hard "$(git -C "$SRC" rev-parse HEAD)"
git -C "$tree" apply "$TOP/docs/repro/zap-audit.patch" ||
	die "docs/repro/zap-audit.patch does not apply to build/linux's HEAD: update the patch"
if [ "$name" = audit-mutant ]; then
	# the mutation: drop the leaf zap through the memslot's rmaps
	perl -0pi -e 's/\t\tflush = slot_handle_level\(kvm, slot, __kvm_zap_rmap, PG_LEVEL_4K,\n\s+KVM_MAX_HUGEPAGE_LEVEL, true\);/\t\tflush = false;/' \
		"$tree/arch/x86/kvm/mmu/mmu.c"
	! grep -q '__kvm_zap_rmap, PG_LEVEL_4K,$' "$tree/arch/x86/kvm/mmu/mmu.c" ||
		die "the mutation did not apply: kvm_mmu_zap_memslot() changed, update this script"
fi
SLOTZAP_KSRC=$tree "$TOP/setup/build-kernel.sh" "$BUILD/$name/obj-debug" \
	"$TOP/configs/kvm-test.config" "$TOP/configs/kvm-debug.config"
log "built $BUILD/$name/obj-debug/arch/x86/boot/bzImage"
