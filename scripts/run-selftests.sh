#!/bin/bash
# Run the installed KVM selftests and print KTAP, one result per test.
# Runs inside the test VM (scripts/vm.py), but works on any host with KVM.
#   run-selftests.sh [-c CONFIG] [-o RESULTS_DIR] [TEST...]
# Tests default to build/selftests/install/tests.txt, in order.
#
# kselftest's run_kselftest.sh of 6.1 has one timeout per collection and no
# per-test arguments; this runner adds what the matrix needs on TCG:
#   tests/selftest-args  NAME TIMEOUT [ARGS...]  smaller parameters, own timeout;
#                        NAME+VARIANT adds a run of NAME with other arguments
#   tests/skip-list      NAME[@CONFIG] REASON    reported as SKIP with the reason
#   tests/platform-retries NAME[@CONFIG] REASON  up to 5 runs (see below)
# A test exiting 4 (KSFT_SKIP) is a skip too. Each test's output goes to
# RESULTS_DIR/logs/NAME.log; on failure its tail is printed as diagnostics.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
INST=$TOP/build/selftests/install
config=none
results=${OUT:-/tmp/selftest-results}
while getopts c:o: opt; do
	case $opt in
	c) config=$OPTARG ;;
	o) results=$OPTARG ;;
	*) echo "usage: $0 [-c CONFIG] [-o RESULTS_DIR] [TEST...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
default_timeout=$(sed -n 's/^timeout=//p' "$INST/settings" 2>/dev/null)
default_timeout=${default_timeout:-120}

# Variants: a NAME+VARIANT line of tests/selftest-args runs binary NAME with
# other arguments as a test of its own, listed right after NAME.
variants() {
	grep -v '^[[:space:]]*#' "$TOP/tests/selftest-args" 2>/dev/null |
		awk -v t="$1" 'index($1, t "+") == 1 { sub(/@.*/, "", $1); print $1 }' | sort -u
}
if [ $# -gt 0 ]; then
	tests=("$@")
else
	tests=()
	while read -r t; do
		tests+=("$t")
		mapfile -t -O ${#tests[@]} tests < <(variants "$t")
	done < "$INST/tests.txt"
fi

# first matching line of FILE for test $1 (NAME or NAME@CONFIG), minus the name
lookup() {
	grep -v '^[[:space:]]*#' "$2" 2>/dev/null | awk -v t="$1" -v c="$1@$config" \
		'$1 == t || $1 == c { $1 = ""; sub(/^ +/, ""); print; exit }'
}

# QEMU's TCG emulation of SVM (QEMU 7.2, Debian 12) now and then resumes a
# nested guest with its host's state: the selftest's vCPU then runs at the
# instruction after VMRUN in this kernel's __svm_vcpu_run, with this kernel's
# CR3, and dies (KVM_EXIT_SHUTDOWN, a stuck vCPU).  Selftest guests run their
# code at low addresses (0x400000 and up); none maps anything in the range of
# the host's kernel and module text, so a kvm_exit tracepoint filtered on
# that range catches the bug and nothing a selftest does on purpose.  (The
# exact address would need /proc/kallsyms, which takes minutes to read on the
# KASAN kernel under TCG.)  A test that failed while it fired is run again,
# up to five runs, all reported.
# Tests listed in tests/platform-retries (intermittent failures that the
# unpatched base shows too) get the same five runs.
# See docs/platform-bugs.md.
tracefs=/sys/kernel/tracing
tcg_svm_watch() {
	[ -d $tracefs/events ] || mount -t tracefs nodev $tracefs 2>/dev/null || return 1
	[ -d $tracefs/events/kvm/kvm_exit ] || return 1
	echo "guest_rip >= 0xffffffff80000000" > $tracefs/events/kvm/kvm_exit/filter &&
		echo 1 > $tracefs/events/kvm/kvm_exit/enable || return 1
	trap 'echo 0 > $tracefs/events/kvm/kvm_exit/enable; echo 0 > $tracefs/events/kvm/kvm_exit/filter' EXIT
}
tcg_svm_hit() {
	$tcg_watch && grep -q 'kvm_exit:' $tracefs/trace
}
tcg_watch=false
tcg_svm_watch && tcg_watch=true

mkdir -p "$results/logs"
ulimit -c 0
echo "TAP version 13"
echo "# config $config: $(cat /proc/cmdline | grep -o 'kvm[_a-z]*\.[a-z_]*=[^ ]*' | tr '\n' ' ')"
echo "1..${#tests[@]}"
echo "# tests: ${tests[*]}"
n=0 fails=0 retries=0
for t in "${tests[@]}"; do
	n=$((n + 1))
	reason=$(lookup "$t" "$TOP/tests/skip-list")
	if [ -n "$reason" ]; then
		echo "ok $n $t # SKIP $reason"
		continue
	fi
	bin=${t%%+*}
	if [ ! -x "$INST/$bin" ]; then
		reason=$(lookup "$t" "$TOP/tests/base-failures")
		if [ -n "$reason" ] && [ "$(git -C "$TOP/build/linux" rev-list --count base..HEAD 2>/dev/null)" = 0 ]; then
			echo "ok $n $t # SKIP not built on the unpatched base: $reason"
		else
			echo "not ok $n $t # not built (see build/selftests/build.log)"
			fails=$((fails + 1))
		fi
		continue
	fi
	read -r tmo args <<< "$(lookup "$t" "$TOP/tests/selftest-args")"
	tmo=${tmo:-$default_timeout}
	log=$results/logs/$t.log
	echo "# RUN $t ${args:-}"
	: > "$log"
	flaky=$(lookup "$t" "$TOP/tests/platform-retries")
	note=
	for try in 1 2 3 4 5; do
		$tcg_watch && echo > $tracefs/trace
		start=$(date +%s.%N)
		(cd "$INST" && exec timeout -k 10 "$tmo" "./$bin" $args) >> "$log" 2>&1 </dev/null
		rc=$?
		secs=$(printf '%.1f' "$(echo "$(date +%s.%N) - $start" | bc)")
		echo "exit=$rc seconds=$secs" >> "$log"
		[ $rc -eq 0 ] || [ $rc -eq 4 ] || [ $try -eq 5 ] && break
		if tcg_svm_hit; then
			why="hit the QEMU TCG SVM bug (the guest ran at the host's VMRUN return address, docs/platform-bugs.md)"
		elif [ -n "$flaky" ]; then
			why="failed; listed in tests/platform-retries: $flaky"
		else
			break
		fi
		tail -c 3000 "$log" | tail -n 8 | cut -c1-200 | sed "s/^/#   /"
		echo "#   run $try (exit=$rc) $why; running it again"
		echo "=== run $try $why; run $((try + 1)):" >> "$log"
		note=" (run $((try + 1)) of 5, after a platform failure)"
		retries=$((retries + 1))
	done
	if [ $rc -eq 0 ]; then
		echo "ok $n $t # time=${secs}s$note"
	elif [ $rc -eq 4 ]; then
		why=$(grep -v '^exit=' "$log" | grep -iE 'skip|not supported|require' | tail -1 | sed -E 's/^1\.\.0 # SKIP *-? *//')
		echo "ok $n $t # SKIP ${why:-exit 4 (KSFT_SKIP)} time=${secs}s"
	else
		fails=$((fails + 1))
		[ $rc -eq 124 ] && what="TIMEOUT after ${tmo}s" || what="exit=$rc"
		tcg_svm_hit && what="$what, with the QEMU TCG SVM bug"
		tail -c 3000 "$log" | tail -n 15 | cut -c1-200 | sed "s/^/#   /"
		echo "not ok $n $t # $what time=${secs}s$note"
	fi
done
echo "# $config: $((n - fails)) ok (incl. skips), $fails not ok, $retries runs repeated after a platform failure"
[ $fails -eq 0 ]
