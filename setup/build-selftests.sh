#!/bin/bash
# Build the KVM selftests of build/linux against the tree's own UAPI headers
# (headers_install into build/obj-test/usr/include), out of tree in
# build/selftests/kvm, then install the x86_64 tests flat, kselftest-style,
# into build/selftests/install with tests.txt listing them in order.
# On the unpatched base, the tests tests/base-failures marks "does not build"
# may fail to build (warning); with any patch applied, every test must build.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"

INST=$BUILD/selftests/install
HDR=$OBJ_TEST/usr/include
need_source
[ -f "$OBJ_TEST/.config" ] || die "build/obj-test is not configured; run 'make kernel' first"

log "installing UAPI headers into $HDR"
timed headers_install kmake "$OBJ_TEST" headers_install >/dev/null

# The selftest Makefile tracks .c files only: rebuild from scratch when a
# header it includes (selftest library, UAPI, tools/include) changed.
hstamp=$( (cd "$SRC" && find tools/testing/selftests/kvm tools/testing/selftests/*.h \
	tools/include tools/arch/x86/include -name '*.h' -print0 | sort -z | xargs -0 cat;
	find "$HDR" -name '*.h' -print0 | sort -z | xargs -0 cat) | sha256sum | cut -d' ' -f1)
if [ "$(cat "$KVM_OUT/.headers.stamp" 2>/dev/null)" != "$hstamp" ]; then
	rm -rf "$KVM_OUT"
fi
mkdir -p "$KVM_OUT"

log "building tools/testing/selftests/kvm into $KVM_OUT (-j$NPROC)"
rc=0
build_all() { kvmmake -j"$NPROC" -k all > "$BUILD/selftests/build.log" 2>&1; }
timed "selftests build" build_all || rc=$?
echo "$hstamp" > "$KVM_OUT/.headers.stamp"

# What the Makefile says the x86_64 tests are (kselftest's own lists).
progs=$(kvmvar TEST_GEN_PROGS) extended=$(kvmvar TEST_GEN_PROGS_EXTENDED) scripts=$(kvmvar TEST_PROGS)

rm -rf "$INST"
mkdir -p "$INST"
broken=()
for f in $progs $extended; do
	if [ -x "$f" ]; then cp -p "$f" "$INST/"; else broken+=("$(basename "$f")"); fi
done
for f in $scripts; do cp -p "$KVM_DIR/$f" "$INST/"; done
cp -p "$KVM_DIR/settings" "$INST/" 2>/dev/null || true
for f in $progs $scripts; do basename "$f"; done > "$INST/tests.txt"

if [ $rc -ne 0 ] || [ ${#broken[@]} -gt 0 ]; then
	grep -E 'error|Error' "$BUILD/selftests/build.log" | head -20 >&2 || true
	npatches=$(git -C "$SRC" rev-list --count base..HEAD)
	unexpected=()
	for t in "${broken[@]}"; do
		grep -qE "^$t[[:space:]].*does not build" "$TOP/tests/base-failures" 2>/dev/null || unexpected+=("$t")
	done
	if [ "$npatches" -eq 0 ] && [ ${#unexpected[@]} -eq 0 ]; then
		warn "on the unpatched base ${#broken[@]} selftest(s) do not build, as tests/base-failures expects: ${broken[*]}"
	else
		die "selftest build failed (${broken[*]:-see log}); full log: build/selftests/build.log"
	fi
fi
if [ -n "$(git -C "$SRC" status --porcelain --untracked-files=all -- tools/testing/selftests)" ]; then
	warn "the selftest build wrote into the source tree: $(git -C "$SRC" status --porcelain -- tools/testing/selftests | head -3)"
fi
# The harness's own selftest-style tests, against the series' library (not
# in the series): tests/flush's yield-flush test joins tests.txt and runs in
# the matrix; tests/faults' fail-nth sweep needs the debug kernel's fault
# injection and runs in make faults only.
if [ "$(git -C "$SRC" rev-list --count base..HEAD)" -gt 0 ]; then
	build_selftest "$TOP/tests/faults/memslot_failnth_test.c" "$INST/memslot_failnth_test"
	build_selftest "$TOP/tests/flush/memslot_yield_flush_test.c" "$INST/memslot_yield_flush_test"
	echo memslot_yield_flush_test >> "$INST/tests.txt"
fi
# The preload library that disables KVM_X86_QUIRK_SLOT_ZAP_ALL in any VMM,
# for the +noquirk variants of tests that have no option of their own.
gcc -shared -fPIC -O2 -Wall -Wextra -Werror -o "$INST/libslotzap-preload.so" \
	"$TOP/preload/slotzap-preload.c" -ldl ||
	die "building the preload library failed (gcc and libc6-dev come with 'make deps')"
log "selftests: $(wc -l < "$INST/tests.txt") x86_64 tests installed in $INST"
