#!/bin/bash
# Build memslot_torture_test so that it runs on the unpatched base with -m on
# (zap everything, the only policy the base has): the series' test with its
# one requirement of KVM_X86_QUIRK_SLOT_ZAP_ALL dropped, against the series'
# selftest library (make selftests first). -m on never enables the quirk's
# capability, so nothing else differs. Writes build/vm/memslot_torture_test-base,
# for docs/repro/torture-runs.sh:
#   docs/repro/torture-base-build.sh
#   scripts/vm.py --kernel BASE_BZIMAGE --config svm-shadow --out build/vm/base \
#       'TORTURE=$PWD/build/vm/memslot_torture_test-base docs/repro/torture-runs.sh 10 -t 50 -n 10000 -v 2 -g -m on'
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
src=$KVM_DIR/x86_64/memslot_torture_test.c
grep -q 'TEST_REQUIRE(kvm_check_cap(KVM_CAP_DISABLE_QUIRKS2) &' "$src" ||
	die "$src has no quirk requirement to drop: the test changed, update this script"
mkdir -p "$BUILD/vm"
tmp=$BUILD/vm/memslot_torture_test-base.c
# The requirement is two lines: TEST_REQUIRE(...DISABLE_QUIRKS2) & / ...ZAP_ALL);
sed -e '/TEST_REQUIRE(kvm_check_cap(KVM_CAP_DISABLE_QUIRKS2) &/,/KVM_X86_QUIRK_SLOT_ZAP_ALL);/d' "$src" > "$tmp"
build_selftest "$tmp" "$BUILD/vm/memslot_torture_test-base"
log "built $BUILD/vm/memslot_torture_test-base (run it with -m on only)"
