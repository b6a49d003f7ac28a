#!/bin/bash
# Run the installed KVM selftests and print KTAP, one result per test.
# Runs inside the test VM (scripts/vm.py), but works on any host with KVM.
#   run-selftests.sh [-c CONFIG] [-o RESULTS_DIR] [-s] [-x FACTOR] [TEST...]
# Tests default to build/selftests/install/tests.txt, in order. -x FACTOR
# (a whole number) multiplies every test's timeout: make debug-matrix runs
# the whole list on the debug kernel, about 3x slower than the test kernel.
#
# kselftest's run_kselftest.sh of 6.1 has one timeout per collection and no
# per-test arguments; this runner adds what the matrix needs on TCG:
#   tests/selftest-args  NAME TIMEOUT [VAR=value...] [ARGS...]  smaller
#                        parameters, own timeout, environment;
#                        NAME+VARIANT adds a run of NAME with other arguments
#   tests/skip-list      NAME[@CONFIG] REASON    reported as SKIP with the reason
#   tests/platform-retries  the retry policy (harness/retry.py; see below)
#   tests/check-scope    NAME CONFIG REASON  with -s (make check), NAME runs
#                        in CONFIG only
# A test exiting 4 (KSFT_SKIP) is a skip too. Each test's output goes to
# RESULTS_DIR/logs/NAME.log; on failure its tail is printed as diagnostics.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
INST=$TOP/build/selftests/install
config=none
results=${OUT:-/tmp/selftest-results}
scope=
scale=1
while getopts c:o:sx: opt; do
	case $opt in
	c) config=$OPTARG ;;
	o) results=$OPTARG ;;
	s) scope=$TOP/tests/check-scope ;;
	x) scale=$OPTARG ;;
	*) echo "usage: $0 [-c CONFIG] [-o RESULTS_DIR] [-s] [-x FACTOR] [TEST...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[[ $scale =~ ^[1-9][0-9]*$ ]] || { echo "run-selftests: -x takes a whole number of 1 or more, not '$scale'" >&2; exit 2; }
default_timeout=$(sed -n 's/^timeout=//p' "$INST/settings" 2>/dev/null)
default_timeout=${default_timeout:-120}

# Each list file is read once, here: under TCG a process costs tens of
# milliseconds, and per-test greps cost about a second per test.
# table FILE: "NAME<TAB>REST" for the first line of FILE naming each test,
# as NAME or NAME@CONFIG (this configuration; other configurations' lines
# are dropped), REST with its fields joined by one space. Whole-line
# comments (#) are skipped.
table() {
	awk -v c="$config" '/^[[:space:]]*#/ || NF == 0 { next }
		{ n = $1; k = index(n, "@"); if (k) { if (substr(n, k + 1) != c) next; n = substr(n, 1, k - 1) }
		  if (n in seen) next; seen[n] = 1; $1 = ""; sub(/^ +/, ""); print n "\t" $0 }' "$1" 2>/dev/null
}
# load ARRAY FILE: ARRAY[NAME]=REST from table FILE
load() {
	local -n into=$1
	local k v
	while IFS=$'\t' read -r k v; do into[$k]=$v; done < <(table "$2")
}
declare -A skips=() targs=() basefail=() only=()
load skips "$TOP/tests/skip-list"
load targs "$TOP/tests/selftest-args"
load basefail "$TOP/tests/base-failures"
[ -n "$scope" ] && load only "$scope"

# Variants: a NAME+VARIANT line of tests/selftest-args runs binary NAME with
# other arguments as a test of its own, listed right after NAME (variants of
# one NAME in sorted order).
mapfile -t allvariants < <(awk '!/^[[:space:]]*#/ && index($1, "+") { sub(/@.*/, "", $1); print $1 }' \
	"$TOP/tests/selftest-args" 2>/dev/null | sort -u)
if [ $# -gt 0 ]; then
	tests=("$@")
else
	tests=()
	while read -r t; do
		tests+=("$t")
		for v in "${allvariants[@]}"; do
			[[ $v == "$t+"* ]] && tests+=("$v")
		done
	done < "$INST/tests.txt"
fi

# -s (make check): a test that tests/check-scope confines to another
# configuration is left out here; it runs in its own configuration.
elsewhere=()
if [ -n "$scope" ]; then
	kept=()
	for t in "${tests[@]}"; do
		o=${only[$t]:-}
		o=${o%% *}
		if [ -n "$o" ] && [ "$o" != "$config" ]; then
			elsewhere+=("$t")
		else
			kept+=("$t")
		fi
	done
	tests=("${kept[@]}")
fi

# Retries: the policy is harness/retry.py's, from tests/platform-retries.
# After a failed run the runner appends the kvm_exit trace lines that the
# platform signatures look for (a guest RIP in the host's kernel text, a
# guest shutdown) to the test's log and asks the policy about that run; a
# failure that matches no allowed signature, or shows a series assertion,
# is final. A signature excuses one failure by default, runs=N - 1 with the
# runs= of its retry line (4 runs at most in all); a pass after a retry is
# reported as flaky. docs/platform-bugs.md.
. "$TOP/guest/platform-trace.sh"
trace_watch

# threads_at SECS PID LOG: if the test that timeout PID runs is still there
# SECS seconds from now (its limit is near), append where each of its
# threads is to LOG: state, CPU, scheduling policy, wait channel, the
# system call it is in and its kernel stack. A hung test then says where
# it hung before it is killed (its own buffered output dies with it).
# It runs in a subshell that the runner ends with SIGTERM when the test is
# over; the trap ends its one sleep with it.
threads_at() {
	local p t f s=
	trap '[ -z "$s" ] || kill $s 2>/dev/null; exit 0' TERM
	sleep "$1" &
	s=$!
	wait $s
	kill -0 "$2" 2>/dev/null || return 0
	for p in $(pgrep -P "$2"); do
		echo "=== threads of pid $p ($(cat /proc/$p/comm 2>/dev/null)) after $1 s"
		for t in /proc/$p/task/*; do
			# stat: after the ')' of comm, field 3 is the state, 39 the CPU, 41 the policy
			f=$(sed 's/.*) //' $t/stat 2>/dev/null)
			echo "tid ${t##*/} $(cat $t/comm 2>/dev/null) state=$(cut -d' ' -f1 <<< "$f")" \
				"cpu=$(cut -d' ' -f37 <<< "$f") policy=$(cut -d' ' -f39 <<< "$f")" \
				"wchan=$(cat $t/wchan 2>/dev/null) syscall=$(cut -d' ' -f1 $t/syscall 2>/dev/null)"
			sed 's/^/    /' $t/stack 2>/dev/null
		done
	done >> "$3"
}
sysmap=${OUT:-/nonexistent}/System.map

mkdir -p "$results/logs"
ulimit -c 0
echo "TAP version 13"
echo "# config $config: $(cat /proc/cmdline | grep -o 'kvm[_a-z]*\.[a-z_]*=[^ ]*' | tr '\n' ' ')"
echo "1..${#tests[@]}"
echo "# tests: ${tests[*]}"
[ ${#elsewhere[@]} -eq 0 ] ||
	echo "# scope: ${#elsewhere[@]} test(s) run in another configuration under make check (tests/check-scope): ${elsewhere[*]}"
n=0 fails=0 retries=0
for t in "${tests[@]}"; do
	n=$((n + 1))
	reason=${skips[$t]:-}
	if [ -n "$reason" ]; then
		echo "ok $n $t # SKIP $reason"
		continue
	fi
	bin=${t%%+*}
	if [ ! -x "$INST/$bin" ]; then
		reason=${basefail[$t]:-}
		if [ -n "$reason" ] && [ "$(git -C "$TOP/build/linux" rev-list --count base..HEAD 2>/dev/null)" = 0 ]; then
			echo "ok $n $t # SKIP not built on the unpatched base: $reason"
		else
			echo "not ok $n $t # not built (see build/selftests/build.log)"
			fails=$((fails + 1))
		fi
		continue
	fi
	read -r tmo args <<< "${targs[$t]:-}"
	tmo=$((${tmo:-$default_timeout} * scale))
	# leading VAR=value words go to the test's environment
	envs=()
	set -- $args
	while [ $# -gt 0 ] && [[ $1 =~ ^[A-Z_][A-Z0-9_]*= ]]; do envs+=("$1"); shift; done
	args="$*"
	log=$results/logs/$t.log
	echo "# RUN $t ${envs[*]} ${args:-}"
	: > "$log"
	note= fnote= hist= seen=
	try=0
	while :; do
		try=$((try + 1))
		trace_clear "$t"
		start=${EPOCHREALTIME/[.,]/}
		(cd "$INST" && exec env "${envs[@]}" timeout -k 10 "$tmo" "./$bin" $args) >> "$log" 2>&1 </dev/null &
		tpid=$!
		threads_at $((tmo > 10 ? tmo - 5 : tmo)) $tpid "$log" &
		dpid=$!
		wait $tpid
		rc=$?
		kill $dpid 2>/dev/null
		wait $dpid 2>/dev/null
		d=$(((${EPOCHREALTIME/[.,]/} - start + 50000) / 100000))   # tenths of a second
		secs=$((d / 10)).$((d % 10))
		echo "exit=$rc seconds=$secs" >> "$log"
		[ $rc -eq 0 ] || [ $rc -eq 4 ] && break
		trace_hits >> "$log"
		# the policy reads this run's part of the log only
		awk -v r="=== run $try " 'index($0, r) == 1 { buf = ""; next } { buf = buf $0 "\n" }
			END { printf "%s", buf }' "$log" > "$log.run"
		decision=$(PYTHONPATH=$TOP python3 -m harness.retry --test "$t" --config "$config" \
			--log "$log.run" --sysmap "$sysmap" --run $try --seen "$seen" 2>&1) || {
			echo "#   run $try (exit=$rc) not retried: ${decision:-the retry policy failed}"
			break
		}
		sig=$(awk '{ sub(/:$/, "", $2); print $2; exit }' <<< "$decision")
		tail -c 3000 "$log" | tail -n 8 | cut -c1-200 | sed "s/^/#   /"
		echo "#   run $try (exit=$rc) $decision; running it again"
		echo "=== run $((try + 1)) after run $try exit=$rc: $decision" >> "$log"
		hist="$hist${hist:+, }run $try exit=$rc $sig"
		seen="$seen${seen:+,}$sig"
		note=" flaky=$sig (run $((try + 1)); $hist)"
		fnote=" (run $((try + 1)); $hist)"
		retries=$((retries + 1))
	done
	rm -f "$log.run"
	if [ $rc -eq 0 ]; then
		echo "ok $n $t # time=${secs}s$note"
	elif [ $rc -eq 4 ]; then
		why=$(grep -v '^exit=' "$log" | grep -iE 'skip|not supported|require' | tail -1 | sed -E 's/^1\.\.0 # SKIP *-? *//')
		echo "ok $n $t # SKIP ${why:-exit 4 (KSFT_SKIP)} time=${secs}s"
	else
		fails=$((fails + 1))
		[ $rc -eq 124 ] && what="TIMEOUT after ${tmo}s" || what="exit=$rc"
		tail -c 3000 "$log" | tail -n 15 | cut -c1-200 | sed "s/^/#   /"
		echo "not ok $n $t # $what time=${secs}s$fnote"
	fi
done
echo "# $config: $((n - fails)) ok (incl. skips), $fails not ok, $retries runs repeated after a matched platform signature"
[ $fails -eq 0 ]
