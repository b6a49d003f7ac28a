#!/bin/bash
# 'make check': build what is needed, then the whole test suite:
#   smoke test of the VM, the KVM selftest matrix (every MMU configuration),
#   real QEMU guests, Intel VMX under Bochs, the Debian 12 modules, the
#   memslot tests on a debug kernel (KASAN, lockdep, ...),
#   series hygiene (base, checkpatch, every prefix builds, KVM-GT compiles).
# Prints a per-stage time table and ends with 'N passed, N failed, N skipped'.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

RES=$BUILD/results
mkdir -p "$RES"
rm -f "$RES"/*.results
times=()
stage() {   # stage NAME CMD...: run, time, and record a failure as a result
	local name=$1 start rc=0
	shift
	start=$(date +%s)
	"$@" || rc=$?
	times+=("$(printf '%-10s %5ss%s' "$name" "$(($(date +%s) - start))" "$([ $rc -ne 0 ] && echo '  FAILED')")")
	return $rc
}
record() { printf '%s\t%s\t%s\n' "$1" "$2" "${3:-}" >> "$RES/build.results"; }
builds_ok=1
for s in deps source kernel selftests; do
	case $s in
	deps) cmd=("$TOP/scripts/deps.sh") ;;
	source) cmd=("$TOP/scripts/source.sh") ;;
	kernel) cmd=("$TOP/scripts/build-kernel.sh" "$OBJ_TEST" "$TOP/configs/kvm-test.config") ;;
	selftests) cmd=("$TOP/scripts/build-selftests.sh") ;;
	esac
	if stage "$s" "${cmd[@]}"; then
		record pass "step $s"
	else
		record fail "step $s" "see the output above"
		builds_ok=
		break
	fi
done

if [ -n "$builds_ok" ]; then
	log "smoke test: boot, SVM in /proc/cpuinfo, /dev/kvm"
	if stage smoke "$TOP/scripts/vm.py" --timeout 300 --out "$BUILD/vm/smoke" \
			'grep -qw svm /proc/cpuinfo && test -c /dev/kvm && grep -q . /sys/module/kvm_amd/parameters/npt'; then
		printf 'pass\tsmoke VM boots, SVM and /dev/kvm present\t\n' > "$RES/smoke.results"
	else
		printf 'fail\tsmoke VM boots, SVM and /dev/kvm present\tbuild/vm/smoke/console.log\n' > "$RES/smoke.results"
	fi
	log "KVM selftest matrix"
	stage matrix "$TOP/scripts/matrix.py"
	log "real QEMU guests (SeaBIOS + Linux, reboot) with the quirk on and off"
	stage qemu "$TOP/scripts/qemu-guests.sh"
	log "Intel VMX with EPT under Bochs: the memslot tests in three MMU configurations"
	if stage intel-deps "$TOP/scripts/bochs-deps.sh"; then
		stage intel "$TOP/scripts/intel-matrix.py"
	else
		printf 'fail\tIntel: Bochs packages\tsee the output above\n' > "$RES/intel.results"
	fi
	log "Debian 12 modules: package, then test on Debian's own kernel"
	if stage debmod-pkg "$TOP/scripts/debian-modules.sh" package; then
		stage debmod-test "$TOP/tests/debian-modules-test.sh"
	else
		printf 'fail\tDebian modules: build and package\tsee the output above\n' > "$RES/debian-modules.results"
	fi
	log "debug kernel (KASAN, lockdep, list/VM/RCU checks): the memslot tests in every MMU configuration"
	if stage debug-kern "$TOP/scripts/build-kernel.sh" "$OBJ_DEBUG" \
			"$TOP/configs/kvm-test.config" "$TOP/configs/kvm-debug.config"; then
		stage debug "$TOP/scripts/matrix.py" --kernel "$OBJ_DEBUG/arch/x86/boot/bzImage" \
			--name debug $(sed -e 's/#.*//' "$TOP/tests/debug-tests")
	else
		printf 'fail\tdebug kernel build\tsee the output above\n' > "$RES/debug.results"
	fi
fi
log "series hygiene"
stage hygiene "$TOP/scripts/hygiene.sh"

echo
echo "Stage times:"
printf '  %s\n' "${times[@]}"
[ -f "$RES/summary.txt" ] && { echo; cat "$RES/summary.txt"; }
[ -f "$RES/debug-summary.txt" ] && { echo; cat "$RES/debug-summary.txt"; }
echo
cat "$RES"/*.results | awk -F'\t' '$1 == "fail" { print "FAILED: " $2 (length($3) ? " (" $3 ")" : "") }'
cat "$RES"/*.results | awk -F'\t' '
	{ n[$1]++ }
	END { printf "%d passed, %d failed, %d skipped\n", n["pass"], n["fail"], n["skip"]; exit n["fail"] > 0 }'
