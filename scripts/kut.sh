#!/bin/bash
# kvm-unit-tests (KUT) on the series and on the unpatched base.
#   kut.sh build                build KUT for x86_64 into build/kut/src
#   kut.sh run [TEST...]        every configuration of tests/mmu-configs:
#                               base (quirk on: the base has nothing else),
#                               series quirk on and off; then the report
#   kut.sh check                make check's subset (tests/kut-check): one
#                               configuration, series quirk on and off
# KUT comes from SLOTZAP_KUT (a checkout or a .tar.gz), by default the
# snapshot ../shared/kvm-unit-tests.tar.gz next to this repository. Results:
# build/kut/results/KERNEL@CONFIG@MODE.tap, the table from harness/kut.py.
# The base kernel is built once per base version (build/base/obj-test, from
# a worktree of build/linux at tag 'base' in build/base/linux: laid out like
# build/linux and build/obj-test, it shares their ccache entries). Every finished kernel, config and
# mode is kept per test in build/kut/kept/ (per kernel source tree and build
# settings, KUT build, runner and QEMU, and each test per its timeout and
# arguments), so a 'make kut' that was stopped (Ctrl-C, or SIGTERM to its
# process group) goes on where it stopped.
#   kut.sh save                 copy the kept results of the current keys into
#                               docs/kut-results/ (the repository), replacing
#                               older keys' of the same configuration and
#                               kernel/mode: a 'make kut' on another machine
#                               uses them as kept
# SLOTZAP_KUT_CONFIGS=a,b (make kut CONFIGS=a,b) runs only those configurations.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$TOP"

KUT_DIR=$BUILD/kut
KUT_SRC=$KUT_DIR/src
RESULTS=$KUT_DIR/results
KUT_ARGS=$TOP/tests/kut-args
KUT_ALONE=$TOP/tests/kut-alone
LEDGER=$TOP/docs/kut-results
BASE_WT=$BUILD/base/linux
OBJ_BASE=$BUILD/base/obj-test

# kut_source: SLOTZAP_KUT, else the team's snapshot next to the repository
# (or at its usual place on these machines); empty when there is none.
kut_source() {
	local c
	for c in ${SLOTZAP_KUT:-"$TOP/../shared/kvm-unit-tests.tar.gz" /work/shared/kvm-unit-tests.tar.gz}; do
		[ -e "$c" ] && { realpath "$c"; return 0; }
	done
	[ -n "${SLOTZAP_KUT:-}" ] && die "SLOTZAP_KUT=$SLOTZAP_KUT does not exist"
	return 0
}
NO_KUT="no kvm-unit-tests: clone https://gitlab.com/kvm-unit-tests/kvm-unit-tests.git and set SLOTZAP_KUT=/path/to/it (a checkout or a .tar.gz)"

build() {
	local from stamp
	from=$(kut_source)
	[ -n "$from" ] || die "$NO_KUT"
	if [ -d "$from" ]; then
		# a git checkout of its own: its tree as it is; any other
		# directory (also one inside another checkout): its files' names
		# and contents
		if [ "$(git -C "$from" rev-parse --show-toplevel 2>/dev/null)" = "$from" ]; then
			stamp=$(tree_of "$from")
		else
			stamp=$(cd "$from" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
		fi || die "cannot read $from"
	else
		stamp=$(sha256sum < "$from" | cut -d' ' -f1)
	fi
	if [ "$(cat "$KUT_DIR/src.stamp" 2>/dev/null)" = "$from $stamp" ] && ls "$KUT_SRC"/x86/*.flat >/dev/null 2>&1; then
		log "kvm-unit-tests: up to date ($from)"
		return 0
	fi
	log "kvm-unit-tests: building $from for x86_64"
	rm -rf "$KUT_SRC" && mkdir -p "$KUT_SRC"
	if [ -d "$from" ]; then
		cp -a "$from/." "$KUT_SRC/" || die "cannot copy $from"
	else
		tar -xzf "$from" -C "$KUT_SRC" --strip-components=1 || die "cannot extract $from"
	fi
	(cd "$KUT_SRC" && ./configure --arch=x86_64 >/dev/null) || die "kvm-unit-tests: ./configure failed in $KUT_SRC"
	kutmake() { make -C "$KUT_SRC" -s -j"$NPROC" >"$KUT_DIR/build.log" 2>&1; }
	timed "kvm-unit-tests build" kutmake ||
		die "kvm-unit-tests: make failed, see $KUT_DIR/build.log"
	echo "$from $stamp" > "$KUT_DIR/src.stamp"
}

# base_tree: build/base/linux, a worktree of build/linux at tag 'base' with
# nothing changed in it (made again when it is not: an edit left there
# would change the baseline that excuses the series' failures)
base_tree() {
	local wt=$BASE_WT
	git -C "$SRC" rev-parse -q --verify base >/dev/null || die "build/linux has no tag 'base'; run 'make source'"
	if [ "$(git -C "$wt" rev-parse HEAD 2>/dev/null)" != "$(git -C "$SRC" rev-parse base)" ] ||
		[ "$(tree_of "$wt")" != "$(git -C "$SRC" rev-parse 'base^{tree}')" ]; then
		rm -rf "$wt"
		git -C "$SRC" worktree prune
		git -C "$SRC" worktree add -q -f --detach "$wt" base || die "cannot add a worktree of 'base' at $wt"
	fi
}

base_kernel() {
	local wt=$BASE_WT ver
	ver=$(sed -n 's/^VERSION=//p' "$TOP/patches/BASE")
	SLOTZAP_KSRC=$wt "$TOP/setup/build-kernel.sh" "$OBJ_BASE" "$TOP/configs/kvm-test.config" >&2 ||
		die "the base kernel ($ver) does not build"
	echo "$ver"
}

# series_kernel: build/obj-test up to date with build/linux, whose source
# tree names the series' kept results (keys)
series_kernel() {
	"$TOP/setup/build-kernel.sh" "$OBJ_TEST" "$TOP/configs/kvm-test.config" >&2 ||
		die "the test kernel does not build; see the compiler output above"
}

# tree_of DIR: the git tree of the files in DIR as they are: its HEAD's
# when nothing changed, uncommitted, untracked and ignored files included
# (through a copy of DIR's index, which keeps git's stat cache: 1 s)
tree_of() {
	local idx rc=0
	idx=$(mktemp) || return 1
	cp -p "$(git -C "$1" rev-parse --absolute-git-dir)/index" "$idx" &&
		GIT_INDEX_FILE=$idx git -C "$1" add -A -f . &&
		GIT_INDEX_FILE=$idx git -C "$1" write-tree || rc=1
	rm -f "$idx"
	return $rc
}

# piece_names: for each 'TEST SECONDS ARGS' line of 'harness.kut settings' on
# stdin, 'TEST NAME', NAME the file TEST's kept result is under (its
# settings are part of it)
piece_names() {
	local t tmo args
	while IFS=$'\t' read -r t tmo args; do
		printf '%s %s@%s.tap\n' "$t" "$t" "$(printf '%s\t%s' "$tmo" "$args" | sha256sum | cut -c1-8)"
	done
}

# sha12 FILE: the first 12 hex digits of FILE's sha256
sha12() {
	sha256sum < "$1" | cut -c1-12
}

# keys: set btree and stree, the trees of the base's and the series'
# sources, and bkey and skey, the names their results are kept under.
# Those are made of what a kernel image is built from, not of the image (an
# image differs from build to build in its build time and number), so the
# results saved in docs/kut-results serve every machine: the source tree
# (tree_of build/base/linux, or of build/linux), its .config (with the versions
# of the compiler and binutils) and how it is built (the config fragment,
# build-kernel.sh, kmake), for the series the built preload library (a
# build of it is the same bytes on every machine); and what else decides
# a result in the test VM: the KUT build, QEMU, the runner, the TAP maker,
# the retry policy and its signatures, the configurations' parameters and
# the test VM (vm.py, guest-init, the splat judge, vmrun).
# It also sets inputs, what the keys are made of, an input a line (base,
# series or both, its name, the sha of its bytes): make kut names the inputs
# that changed when docs/kut-results holds results of another key.
keys() {
	local common kbuild stamp tmp f n
	local -a cin kin
	stamp=$(cat "$KUT_DIR/src.stamp") || die "kvm-unit-tests is not built; run 'make kut'"
	tmp=$(mktemp -d) || die "cannot make a temporary directory"
	# each input a file, so that it can be named; a key hashes their bytes in this order
	qemu-system-x86_64 --version 2>/dev/null | head -1 > "$tmp/qemu-system-x86_64 --version"
	echo "${stamp##* }" > "$tmp/kvm-unit-tests build"
	declare -f vmrun > "$tmp/vmrun"
	declare -f kmake > "$tmp/kmake"
	# of the retry policy, what can decide on a KUT test ('kut:NAME'): a
	# selftest's retry line changing does not make make kut start over
	grep -E '^(signature|never)[[:space:]]|^retry[[:space:]]+(\*|kut:)' "$TOP/tests/platform-retries" \
		> "$tmp/platform-retries: signatures, retry * and kut:" ||
		{ rm -rf "$tmp"; die "tests/platform-retries has no signature"; }
	cin=("$tmp/qemu-system-x86_64 --version" "$tmp/kvm-unit-tests build"
		"$TOP/guest/kut-run.sh" "$TOP/harness/kut_tap.py" "$TOP/harness/retry.py"
		"$tmp/platform-retries: signatures, retry * and kut:" "$TOP/guest/platform-trace.sh" "$TOP/tests/mmu-configs"
		"$TOP/scripts/vm.py" "$TOP/guest/guest-init" "$TOP/harness/console.py" "$tmp/vmrun")
	kin=("$TOP/configs/kvm-test.config" "$TOP/setup/build-kernel.sh" "$tmp/kmake")
	common=$(cat "${cin[@]}" | sha256sum | cut -c1-12) &&
		kbuild=$(cat "${kin[@]}" | sha256sum | cut -c1-12) ||
		{ rm -rf "$tmp"; die "a file of the test VM's harness or of the kernel build is missing"; }
	inputs=$(for f in "${cin[@]}" "${kin[@]}"; do
		n=${f#"$tmp/"}
		printf 'both\t%s\t%s\n' "${n#"$TOP/"}" "$(sha12 "$f")"
	done)
	rm -rf "$tmp"
	btree=$(tree_of "$BASE_WT") && stree=$(tree_of "$SRC") ||
		die "cannot read the source trees of $BASE_WT and $SRC; run 'make source'"
	bkey=$(cat <(printf '%s\n' "$common" "$kbuild" "$btree") "$OBJ_BASE/.config" |
		sha256sum | cut -c1-12) || die "the base kernel is not built ($OBJ_BASE/.config); run 'make kut'"
	skey=$(cat <(printf '%s\n' "$common" "$kbuild" "$stree") "$OBJ_TEST/.config" \
		"$BUILD/selftests/install/libslotzap-preload.so" | sha256sum | cut -c1-12) ||
		die "the test kernel or the preload library is not built; run 'make selftests'"
	inputs+=$'\n'$(printf '%s\t%s\t%s\n' \
		base "source tree" "${btree:0:12}" base ".config" "$(sha12 "$OBJ_BASE/.config")" \
		series "source tree" "${stree:0:12}" series ".config" "$(sha12 "$OBJ_TEST/.config")" \
		series "preload library" "$(sha12 "$BUILD/selftests/install/libslotzap-preload.so")")
}

# images: the shas of what the test VMs boot and use, which must not change
# under a running make kut: the kernel images, the preload library, KUT's build
images() {
	sha256sum "$OBJ_BASE/arch/x86/boot/bzImage" "$OBJ_TEST/arch/x86/boot/bzImage" \
		"$BUILD/selftests/install/libslotzap-preload.so" "$KUT_DIR/src.stamp"
}

# kept_result DIR PIECE TEST: print the path of TEST's whole kept result: this
# machine's (build/kut/kept/DIR/PIECE), else the repository's
# (docs/kut-results/DIR/PIECE); fail if neither has one
kept_result() {
	local f
	for f in "$KUT_DIR/kept/$1/$2" "$LEDGER/$1/$2"; do
		kept_ok "$f" "$3" && { echo "$f"; return 0; }
	done
	return 1
}

# vmrun KERNEL(bzImage) CONFIG OUTDIR 'modes' SETTINGS TEST...: one test
# VM, KUT in each mode; SETTINGS (or '') the tests' timeouts and args
vmrun() {
	local kernel=$1 config=$2 out=$3 modes=$4 settings=$5 cmd="" m start rc vmtmo=3600
	shift 5
	for m in $modes; do
		cmd+="guest/kut-run.sh -c $config ${settings:+-s $settings }$m \$OUT/$m.tap $* ; "
	done
	# a hang guard only (vm.py also ends a VM whose heartbeat stops): each
	# test's timeout, twice (a retry), plus a minute each and the boot, for
	# every mode; without SETTINGS an hour
	[ -n "$settings" ] && vmtmo=$(awk -F'\t' -v n="$(wc -w <<< "$modes")" -v want=" $* " \
		'index(want, " " $1 " ") { s += 2 * $2 + 60 } END { print n * s + 600 }' "$settings")
	start=$(date +%s)
	# 8G: the svm tests give their own guest -m 4g, more than the 4G test VM holds
	"$TOP/scripts/vm.py" --kernel "$kernel" --config "$config" --timeout "${SLOTZAP_KUT_VM_TIMEOUT:-$vmtmo}" \
		--mem 8G --out "$out" -q "$cmd true"
	rc=$?
	echo "    [kvm-unit-tests, $config, $modes: $(($(date +%s) - start))s, vm.py exit $rc]" >&2
	return $rc
}

# remaining TAP TEST...: the TESTs that have no '# done TEST' line in TAP yet
remaining() {
	local tap=$1 t
	shift
	for t in "$@"; do
		awk -v t="$t" '$1 == "#" && $2 == "done" && $3 == t { found = 1 } END { exit !found }' "$tap" ||
			echo "$t"
	done
}

# suite KERNEL CONFIG OUT MODE TEST...: one quirk mode of KUT (every test of
# x86/unittests.cfg without TESTs) into OUT/MODE.tap, with the settings of
# OUT/MODE.settings when there is one; returns 1 if a test VM died or the
# test kernel splatted ('not ok 0 - test-vm-splat', pointing at the console),
# 2 if it was stopped by hand in its first VM, whose console is clean so far. kut-run.sh brackets each test with '# start TEST' and '# done TEST';
# when a test VM dies inside a test, that test fails, pointing at the VM's
# console, and a fresh VM runs the rest (at most 5 VMs). When a VM stopped
# before starting a test, the tests left fail unrun: another VM would too.
suite() {
	local kernel=$1 config=$2 out=$3 mode=$4 vms=0 left died t vmtap rc settings= splat=0
	local tap=$out/$mode.tap
	shift 4
	[ -f "$out/$mode.settings" ] && settings=$out/$mode.settings
	if [ $# -gt 0 ]; then
		left=("$@")
	else
		mapfile -t left < <(cd "$KUT_SRC" && ./run_tests.sh -l)
	fi
	[ ${#left[@]} -gt 0 ] || die "kvm-unit-tests: no tests listed by $KUT_SRC/run_tests.sh -l"
	mkdir -p "$out" && : > "$tap"
	while :; do
		vms=$((vms + 1))
		vmtap=$out/$mode-vm$vms/$mode.tap
		rm -rf "$out/$mode-vm$vms"
		rc=0
		vmrun "$kernel" "$config" "$out/$mode-vm$vms" "$mode" "$settings" "${left[@]}" || rc=$?
		# a dead VM's TAP may end mid-line; the plan lines are per VM
		[ -s "$vmtap" ] && sed -e '/^1\.\./d' -e '$a\' "$vmtap" >> "$tap"
		if [ $rc -eq 126 ]; then
			printf 'not ok 0 - test-vm-splat: the test kernel splatted (%s)\n' \
				"${out#$TOP/}/$mode-vm$vms/console.log" >> "$tap"
			splat=1
		fi
		# stopped by hand (run's trap): no new VM; the finished tests count
		# if no VM died before and the kernel has not splatted yet
		if [ -n "${KUT_STOPPED:-}" ]; then
			[ $vms -eq 1 ] && [ $splat -eq 0 ] &&
				python3 -m harness.console "$out/$mode-vm$vms/console.log" >&2 && return 2
			return 1
		fi
		mapfile -t left < <(remaining "$tap" "${left[@]}")
		[ ${#left[@]} -eq 0 ] && [ $vms -eq 1 ] && return $splat
		[ ${#left[@]} -eq 0 ] && return 1
		died=${left[0]}
		if ! grep -qx "# start $died" "$tap"; then
			for t in "${left[@]}"; do
				printf 'not ok 0 - %s: not run, the test VM stopped before it (%s)\n' \
					"$t" "${out#$TOP/}/$mode-vm$vms/console.log" >> "$tap"
			done
			return 1
		fi
		left=("${left[@]:1}")
		printf 'not ok 0 - %s: the test VM died in it (%s)\n# done %s\n' \
			"$died" "${out#$TOP/}/$mode-vm$vms/console.log" "$died" >> "$tap"
		[ ${#left[@]} -eq 0 ] && return 1
		if [ $vms -ge 5 ]; then
			for t in "${left[@]}"; do
				printf 'not ok 0 - %s: not run, %d test VMs died\n' "$t" $vms >> "$tap"
			done
			return 1
		fi
		warn "kvm-unit-tests: the test VM died in $died ($config, quirk $mode); a new one runs the ${#left[@]} test(s) left"
	done
}

# run_part OUT TEST...: TESTs of one quirk mode in test VMs of their own
# (suite into OUT), called by run, whose variables it shares: the finished
# tests of a run whose test VMs neither died nor splatted are kept, and
# their results split into $parts for the report; a splat line goes to
# $splat. A test VM that dies taints only the tests of its part.
run_part() {
	local pout=$1 rc=0 fin psplat
	shift
	[ -z "$KUT_STOPPED" ] || die "kvm-unit-tests stopped by hand ($what, $c); $nkept finished test(s) kept, a later make kut goes on from there"
	mkdir -p "$pout"
	printf '%s\n' "$lines" > "$pout/$mode.settings"
	suite "$bz/arch/x86/boot/bzImage" "$c" "$pout" $mode "$@" || rc=$?
	[ "$(images)" = "$imgs" ] ||
		die "a kernel image, the preload library or KUT's build changed while make kut ran ($what, $c): nothing of it is kept; run make kut again, with no build beside it"
	psplat=$(grep '^not ok 0 - test-vm-splat:' "$pout/$mode.tap")
	[ -z "$psplat" ] || splat+=${splat:+$'\n'}$psplat
	# kept: a clean run, or the finished tests of one stopped by hand
	# in its first, clean VM (suite returns 2); the split and the
	# keeping are not to be interrupted
	fin=$(trap '' INT TERM
		python3 -m harness.kut split "$pout/$mode.tap" "$parts" "$pout/$mode.settings") ||
		die "cannot split $pout/$mode.tap"
	if [ $rc -eq 1 ]; then
		warn "a test VM died or the kernel splatted ($what, $c): the results of its $# test(s) are used once, not kept"
		fin=
	fi
	(
		trap '' INT TERM
		for t in $fin; do
			cp "$parts/$t.tap" "$kept/${piece[$t]}.new" && mv "$kept/${piece[$t]}.new" "$kept/${piece[$t]}" ||
				exit 1
		done
	) || die "cannot keep the results in ${kept#$TOP/}"
	nkept=$((nkept + $(wc -w <<< "$fin")))
	[ -z "$KUT_STOPPED" ] ||
		die "kvm-unit-tests stopped ($what, $c); $nkept finished test(s) kept, a later make kut goes on from there"
}

run() {
	local tests=("$@") c ver btree stree bkey skey t0 out m t configs k mode key bz what kept dir todo parts
	local tmo args timeout lines splat f imgs alone shared own nkept inputs full=
	local -A piece=()
	# one at a time: two make kut side by side on 2 CPUs took x2apic from
	# 160 s to past its 360 s timeout (docs/kut.md, session 21)
	mkdir -p "$KUT_DIR" && exec 9>> "$KUT_DIR/run.lock" || die "cannot open $KUT_DIR/run.lock"
	flock -n 9 || {
		[ $? -eq 1 ] && die "another 'make kut' is running on this machine (lsof $KUT_DIR/run.lock names it); KUT's timings need the CPUs to themselves: wait for it, or stop it (kill -TERM -- -PGID keeps its finished tests)"
		die "cannot lock $KUT_DIR/run.lock (flock failed)"
	}
	build
	[ -f "$BUILD/selftests/install/libslotzap-preload.so" ] || die "no preload library; run 'make selftests'"
	base_tree
	t0="$(tree_of "$BASE_WT") $(tree_of "$SRC")" || die "cannot read the trees of $BASE_WT and $SRC"
	ver=$(base_kernel) || exit 1
	series_kernel
	timeout=${SLOTZAP_KUT_TIMEOUT:-180s}
	timeout=${timeout%s}
	[[ $timeout =~ ^[0-9]+$ ]] || die "SLOTZAP_KUT_TIMEOUT must be seconds, e.g. 180s"
	[ ${#tests[@]} -gt 0 ] || { mapfile -t tests < <(cd "$KUT_SRC" && ./run_tests.sh -l); full=1; }
	[ ${#tests[@]} -gt 0 ] || die "kvm-unit-tests: no tests listed by $KUT_SRC/run_tests.sh -l"
	# Each test's timeout and extra test_args, once for the whole run: the
	# test VMs get them from this file (kut-run.sh -s), and piece[TEST],
	# the name of TEST's kept result, is made from them
	lines=$(python3 -m harness.kut settings "$KUT_ARGS" "$timeout" "${tests[@]}") || exit 1
	while read -r t f; do
		piece[$t]=$f
	done < <(piece_names <<< "$lines")
	# tests that run in a test VM of their own: 'TEST REASON' lines, each
	# a test of the suite
	alone=$(awk -v f="${KUT_ALONE#$TOP/}" -v all="${full:+ ${tests[*]} }" '
		/^[[:space:]]*#/ { next }
		NF == 1 { printf "%s, line %d: want TEST REASON, got: %s\n", f, NR, $0 > "/dev/stderr"; bad = 1 }
		NF && all != "" && !index(all, " " $1 " ") { printf "%s, line %d: %s is not a test of kvm-unit-tests (run_tests.sh -l)\n", f, NR, $1 > "/dev/stderr"; bad = 1 }
		NF { print $1 } END { exit bad }' "$KUT_ALONE") || die "cannot read $KUT_ALONE (lines 'TEST REASON')"
	keys
	# the images must be of the trees the keys name, and stay so
	[ "$t0" = "$btree $stree" ] ||
		die "the kernel sources changed while they were built ($BASE_WT or $SRC); run make kut again"
	imgs=$(images) || die "cannot read the kernel images, the preload library or KUT's build stamp"
	echo "$bkey $skey" > "$KUT_DIR/last-keys"
	# what make kut-save saves: each test's result under this run's settings,
	# of the whole suite also when this run had only some of its tests
	if [ -n "$full" ]; then
		printf '%s\n' "${piece[@]}"
	else
		python3 -m harness.kut settings "$KUT_ARGS" "$timeout" $(cd "$KUT_SRC" && ./run_tests.sh -l) |
			piece_names | cut -d' ' -f2
	fi > "$KUT_DIR/last-pieces" || die "cannot write $KUT_DIR/last-pieces"
	printf '%s\n' "$inputs" > "$KUT_DIR/last-keys.inputs"
	configs=${SLOTZAP_KUT_CONFIGS:-$(cd "$TOP" && python3 -m harness.plan configs)}
	rm -rf "$RESULTS" && mkdir -p "$RESULTS"
	# Stopped by hand (Ctrl-C, or SIGTERM to the process group, which ends
	# the test VM too): the tests that finished are kept, and it stops there.
	KUT_STOPPED=
	trap 'KUT_STOPPED=1' INT TERM
	for c in ${configs//,/ }; do
		for m in base on off; do
			[ -z "$KUT_STOPPED" ] || die "kvm-unit-tests stopped by hand; what finished is kept"
			if [ $m = base ]; then
				k=base mode=on key=$bkey bz=$OBJ_BASE what="the base ($ver)"
			else
				k=series mode=$m key=$skey bz=$OBJ_TEST what="the series, quirk $m"
			fi
			dir=$key@$c@$k-$mode kept=$KUT_DIR/kept/$key@$c@$k-$mode
			out=$KUT_DIR/vm/$k-$c
			parts=$out/$mode.parts
			rm -rf "$parts" && mkdir -p "$kept" "$out"
			todo=() splat= nkept=0
			for t in "${tests[@]}"; do
				kept_result "$dir" "${piece[$t]}" "$t" >/dev/null || todo+=("$t")
			done
			if [ ${#todo[@]} -eq 0 ]; then
				log "kvm-unit-tests on $what, $c: all ${#tests[@]} test(s) kept (build/kut/kept or docs/kut-results: $dir)"
			else
				log "kvm-unit-tests on $what, $c: ${#todo[@]} of ${#tests[@]} test(s) to run, the rest kept"
				other_keys "$dir" $k
				shared=() own=()
				for t in "${todo[@]}"; do
					if grep -qxF "$t" <<< "$alone"; then own+=("$t"); else shared+=("$t"); fi
				done
				[ ${#shared[@]} -eq 0 ] || run_part "$out" "${shared[@]}"
				for t in "${own[@]}"; do
					log "kvm-unit-tests on $what, $c: $t in a test VM of its own (tests/kut-alone)"
					run_part "$out/alone-$t" "$t"
				done
			fi
			{
				for t in "${tests[@]}"; do
					if f=$(kept_result "$dir" "${piece[$t]}" "$t"); then
						cat "$f"
					elif [ -s "$parts/$t.tap" ]; then
						cat "$parts/$t.tap"
					else
						printf 'not ok 0 - %s: no result from its test VM (%s)\n' "$t" "${out#$TOP/}"
					fi
				done
				# every run has a result for the kernel's splats: the
				# base's and the series' are compared like a test's
				echo "${splat:-ok 0 - test-vm-splat: none}"
			} > "$RESULTS/$k@$c@$mode.tap"
		done
	done
	log "'make kut-save' copies what is kept into docs/kut-results, for a make kut on another machine"
	python3 -m harness.kut report "$RESULTS" "$TOP/tests/kut-known" | tee "$KUT_DIR/report.txt"
}

# save: the whole kept results of the last make kut's keys into docs/kut-results,
# each new or changed one with a line in its directory's SOURCES (when it
# was kept, on what host CPU); a configuration and kernel/mode saved this
# way loses its directories of other keys there (an older series, KUT or
# runner). What is in docs/kut-results, a 'make kut' on any machine with
# the same sources uses as kept.
save() {
	local c d f t name n=0 dropped=0 cpu bkey skey
	[ -s "$KUT_DIR/last-keys" ] || die "nothing kept yet: run 'make kut' first"
	# the results of each test under the settings it last ran with (the
	# timeout and args of tests/kut-args then): one kept under older
	# settings is not saved, and is dropped from docs/kut-results
	[ -s "$KUT_DIR/last-pieces" ] || die "make kut has not recorded its tests' settings yet: run 'make kut' again first"
	# the keys of the last make kut: what it kept is named by them, even
	# if a source or a harness file has changed since
	read -r bkey skey < "$KUT_DIR/last-keys"
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
	for c in $(cd "$TOP" && python3 -m harness.plan configs | tr ',' ' '); do
		for d in "$KUT_DIR/kept/$bkey@$c@base-on" "$KUT_DIR/kept/$skey@$c@series-on" \
			"$KUT_DIR/kept/$skey@$c@series-off"; do
			name=${d##*/}
			for f in "$d"/*@*.tap; do
				[ -e "$f" ] || continue
				f=${f##*/}
				grep -qxF "$f" "$KUT_DIR/last-pieces" || continue
				kept_ok "$d/$f" "${f%@*}" || continue
				cmp -s "$d/$f" "$LEDGER/$name/$f" && continue
				mkdir -p "$LEDGER/$name" && cp "$d/$f" "$LEDGER/$name/$f.new" &&
					mv "$LEDGER/$name/$f.new" "$LEDGER/$name/$f" &&
					printf '%s\tkept %s\t%s, %s CPUs\n' "$f" "$(date -u -r "$d/$f" +%FT%TZ)" "$cpu" "$(nproc)" \
						>> "$LEDGER/$name/SOURCES" ||
					die "cannot write $LEDGER/$name/$f"
				n=$((n + 1))
			done
			[ -d "$LEDGER/$name" ] || continue
			for f in "$LEDGER/$name"/*@*.tap; do
				[ -e "$f" ] || continue
				t=${f##*/}
				awk -F@ -v t="${t%@*}" '$1 == t { ran = 1 } END { exit !ran }' "$KUT_DIR/last-pieces" &&
					! grep -qxF "${f##*/}" "$KUT_DIR/last-pieces" && rm -f "$f"
			done
			# what the key is made of: make kut names what changed when a
			# later run's key differs (other_keys)
			if [ -s "$KUT_DIR/last-keys.inputs" ]; then
				awk -F'\t' -v k="${name##*@}" 'k ~ "^" $1 "-" || $1 == "both" { print $2 "\t" $3 }' \
					"$KUT_DIR/last-keys.inputs" > "$LEDGER/$name/INPUTS" ||
					die "cannot write $LEDGER/$name/INPUTS"
			fi
			for f in "$LEDGER"/*"@${name#*@}"; do
				[ "$f" = "$LEDGER/$name" ] || [ ! -d "$f" ] || { rm -rf "$f" && dropped=$((dropped + 1)); }
			done
		done
	done
	log "$n result(s) saved in docs/kut-results, $dropped director(y/ies) of older keys dropped; commit docs/kut-results"
}

# other_keys DIR KIND: for each directory of docs/kut-results with results of
# DIR's configuration and kernel/mode under another key, say how many it
# holds and which inputs of its key (its INPUTS, written by save) differ from
# this run's (run's inputs, of KIND base or series), as none of them is used
other_keys() {
	local d n changed
	for d in "$LEDGER"/*"@${1#*@}"; do
		[ -d "$d" ] && [ "$d" != "$LEDGER/$1" ] || continue
		n=$(find "$d" -name '*@*.tap' | wc -l)
		if [ ! -f "$d/INPUTS" ]; then
			changed="not known (saved without INPUTS)"
		else
			changed=$(awk -F'\t' -v k="$2" '
				NR == FNR { if ($1 == "both" || $1 == k) now[$2] = $3; next }
				{ was[$1] = $2 }
				END {
					for (i in now) if (now[i] != was[i]) print i
					for (i in was) if (!(i in now)) print i
				}' <(printf '%s\n' "$inputs") "$d/INPUTS" | sort | paste -sd, - | sed 's/,/, /g')
		fi
		warn "${d#"$TOP/"}: $n result(s) of another key, not used; inputs changed since they were saved: ${changed:-none (the key is made another way)}"
	done
}

# kept_ok FILE TEST: FILE is a whole kept result of TEST: it ends with the
# '# done TEST seconds=N' line guest/kut-run.sh writes after its verdict
kept_ok() {
	[ -s "$1" ] && [[ $(tail -n 1 "$1") == "# done $2 seconds="* ]]
}

check() {
	local res=$BUILD/results/kut.results config tests out m rc=0
	config=$(awk '$1 == "config" { print $2 }' "$TOP/tests/kut-check")
	mapfile -t tests < <(sed -e 's/#.*//' "$TOP/tests/kut-check" | awk '$1 == "test" { print $2 }')
	if [ -z "$(kut_source)" ]; then
		warn "$NO_KUT"
		printf 'skip\tkut (tests/kut-check)\t%s\n' "$NO_KUT" > "$res"
		return 0
	fi
	build
	rm -rf "$RESULTS" && mkdir -p "$RESULTS" "$(dirname "$res")"
	out=$KUT_DIR/vm/check-$config
	vmrun "$OBJ_TEST/arch/x86/boot/bzImage" "$config" "$out" "on off" "" "${tests[@]}" || rc=$?
	for m in on off; do
		cp "$out/$m.tap" "$RESULTS/series@$config@$m.tap" 2>/dev/null || : > "$RESULTS/series@$config@$m.tap"
	done
	python3 -m harness.kut results "$RESULTS" "$res" "$TOP/tests/kut-known" || die "cannot write $res"
	# the VM must end clean: 126 is a kernel splat (vm.py), 124/125 a hang or death
	[ "$rc" -eq 0 ] ||
		printf 'fail\tkut test VM (%s)\tvm.py exit %s: 126 a kernel splat, 124 a hang, 125 a death (see %s/console.log)\n' \
			"$config" "$rc" "${out#$TOP/}" >> "$res"
	# every listed test must have reported in both modes
	for m in on off; do
		for t in "${tests[@]}"; do
			grep -q "	kut $t@$config quirk=$m	" "$res" ||
				printf 'fail\tkut %s@%s quirk=%s\tno result (see %s/console.log)\n' "$t" "$config" "$m" "${out#$TOP/}" >> "$res"
		done
	done
	! grep -q '^fail' "$res"
}

case ${1:-} in
build) build ;;
run) shift; run "$@" ;;
save) save ;;
check) check ;;
*) die "usage: scripts/kut.sh build | run [TEST...] | save | check" ;;
esac
