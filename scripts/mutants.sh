#!/bin/bash
# make mutants: plausible slips in the series, one at a time, each of which
# the feature tests must catch. Each tests/mutants/NAME.patch is a small diff
# against the series (build/linux HEAD) with a header:
#   Mutant: what the slip is
#   Config: the MMU configuration that exposes it (tests/mmu-configs)
#   Tests: the selftests to run (names as in tests/selftest-args), or
#          'debian-modules' for tests/debian-modules-test.sh (the
#          external page-track user of tests/track needs loadable modules)
# The mutant is applied in a worktree (build/mutants/linux), the test
# kernel is built incrementally there (build/mutants/obj-test, ccache), and
# the tests run in a VM (booted with oops=panic: a mutant that oopses ends
# the VM at once instead of leaving it hung until the timeout): a failure
# (or a splat, or a dead VM) kills the mutant. A mutant that survives means
# a test is missing. For 'debian-modules', the worktree's KVM modules are
# built as kvm-slotzap-dkms builds them ('debian-modules.sh build') and the
# Debian modules test runs with them (SLOTZAP_DEBIAN_MODULES), without its
# selftests and QEMU guest; they are removed afterwards ('debian-modules.sh clean').
#   scripts/mutants.sh [NAME...]        default: every tests/mutants/*.patch
# Not in make check (a kernel build and a VM run per mutant). Table in
# build/mutants/table.txt.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
need_source

WT=$BUILD/mutants/linux
OBJ=$BUILD/mutants/obj-test
mkdir -p "$BUILD/mutants"
[ -x "$BUILD/selftests/install/memslot_zap_test" ] || die "no selftests; run 'make selftests' first"
names=("$@")
[ ${#names[@]} -gt 0 ] || mapfile -t names < <(cd "$TOP/tests/mutants" && ls *.patch | sed 's/\.patch$//')

if [ ! -d "$WT" ]; then
	git -C "$SRC" worktree prune
	git -C "$SRC" worktree add -q --detach "$WT" HEAD || die "cannot add the worktree $WT"
fi
header() { sed -n "s/^$1: //p" "$2" | head -1; }
rows=() survivors=0
for m in "${names[@]}"; do
	p=$TOP/tests/mutants/$m.patch
	[ -f "$p" ] || die "no mutant $p"
	what=$(header Mutant "$p") config=$(header Config "$p") tests=$(header Tests "$p")
	[ -n "$what" ] && [ -n "$config" ] && [ -n "$tests" ] || die "$p lacks a Mutant:, Config: or Tests: line"
	log "mutant $m: $what ($config: $tests)"
	start=$(date +%s)
	git -C "$WT" checkout -q --detach "$(git -C "$SRC" rev-parse HEAD)" && git -C "$WT" reset -q --hard
	if ! git -C "$WT" apply "$p"; then
		rows+=("$(printf '%-28s %-15s %-9s %5ss  %s' "$m" "$config" STALE 0 "the patch no longer applies to the series")")
		survivors=$((survivors + 1))
		continue
	fi
	if [ "$tests" = debian-modules ]; then
		build() { SLOTZAP_KSRC=$WT "$TOP/scripts/debian-modules.sh" build; }
	else
		build() { SLOTZAP_KSRC=$WT "$TOP/setup/build-kernel.sh" "$OBJ" "$TOP/configs/kvm-test.config"; }
	fi
	if ! build >"$BUILD/mutants/$m.build.log" 2>&1; then
		rows+=("$(printf '%-28s %-15s %-9s %5ss  %s' "$m" "$config" BROKEN "$(($(date +%s) - start))" "does not build: build/mutants/$m.build.log")")
		survivors=$((survivors + 1))
		continue
	fi
	if [ "$tests" = debian-modules ]; then
		SLOTZAP_DEBIAN_MODULES=$BUILD/debian/modules SELFTESTS='' QEMU_CONFIGS='' \
			"$TOP/tests/debian-modules-test.sh" > "$BUILD/mutants/$m.log" 2>&1
		rc=$?
		"$TOP/scripts/debian-modules.sh" clean
	else
		"$TOP/scripts/vm.py" --config "$config" --kernel "$OBJ/arch/x86/boot/bzImage" --timeout 1500 \
			--append oops=panic \
			--out "$BUILD/mutants/vm-$m" -q "guest/run-selftests.sh -c $config -o \$OUT $tests" \
			> "$BUILD/mutants/$m.log" 2>&1
		rc=$?
	fi
	if [ $rc -ne 0 ]; then
		verdict=killed
		detail=$(grep -m1 '^ *not ok' "$BUILD/mutants/$m.log" || grep -m1 'SPLAT\|TIMEOUT\|HUNG\|stopped without' "$BUILD/mutants/$m.log" || echo "vm.py exit $rc")
	else
		verdict=SURVIVED detail="every test passed: a test is missing"
		survivors=$((survivors + 1))
	fi
	rows+=("$(printf '%-28s %-15s %-9s %5ss  %s' "$m" "$config" "$verdict" "$(($(date +%s) - start))" "${detail:0:100}")")
done
git -C "$WT" reset -q --hard
{
	printf '%-28s %-15s %-9s %6s  %s\n' mutant config verdict time detail
	printf '%s\n' "${rows[@]}"
	echo "${#names[@]} mutant(s), $survivors not killed"
} | tee "$BUILD/mutants/table.txt"
[ $survivors -eq 0 ]
