# Sourced by the runners in the test VM: the kvm_exit tracepoint that
# tests/platform-retries' signatures read (docs/platform-bugs.md §1-2).
#   trace_watch        enable it, filtered to exits with a guest RIP in the
#                      host's kernel text or a guest shutdown; sets
#                      watching=true, and trace_unwatch runs at exit
#   trace_unwatch      disable it and drop the filter
#   trace_clear [TEST] empty the trace buffer (before a run); for TEST
#                      nx_huge_pages_test*, also watch the NX recovery
#                      worker's zaps (other tests do not pay for the filter
#                      on every TDP MMU SPTE change)
#   trace_hits         print up to 20 matched kvm_exit lines and up to 3
#                      zaps by the NX recovery worker (after a run)
# The worker's zaps (§5): the shadow MMU's kvm_mmu_prepare_zap_page and the
# TDP MMU's kvm_tdp_mmu_spte_changed, filtered to the worker's thread
# ("kvm-nx-lpage-recovery", 15 characters of it in comm).
tracefs=/sys/kernel/tracing
nx_events="kvmmmu/kvm_mmu_prepare_zap_page kvmmmu/kvm_tdp_mmu_spte_changed"
watching=false
trace_watch() {
	[ -d $tracefs/events ] || mount -t tracefs nodev $tracefs 2>/dev/null || return 1
	[ -d $tracefs/events/kvm/kvm_exit ] || return 1
	# SVM_EXIT_SHUTDOWN is 0x7f
	echo "guest_rip >= 0xffffffff80000000 || exit_reason == 127" > $tracefs/events/kvm/kvm_exit/filter &&
		echo 1 > $tracefs/events/kvm/kvm_exit/enable || return 1
	trap trace_unwatch EXIT
	watching=true
}
trace_unwatch() {
	$watching || return 0
	echo 0 > $tracefs/events/kvm/kvm_exit/enable
	echo 0 > $tracefs/events/kvm/kvm_exit/filter
	nx_watch 0
}
# nx_watch 1|0: the NX recovery worker's zaps on or off
nx_watch() {
	local e
	for e in $nx_events; do
		[ -d $tracefs/events/$e ] || continue
		if [ "$1" = 1 ]; then
			echo 'comm == "kvm-nx-lpage-re"' > $tracefs/events/$e/filter &&
				echo 1 > $tracefs/events/$e/enable
		else
			echo 0 > $tracefs/events/$e/enable
			echo 0 > $tracefs/events/$e/filter
		fi
	done
}
trace_clear() {
	$watching || return 0
	case ${1:-} in
	nx_huge_pages_test*) nx_watch 1 ;;
	*) nx_watch 0 ;;
	esac
	echo > $tracefs/trace
}
trace_hits() {
	$watching || return 0
	grep -m 20 'kvm_exit:' $tracefs/trace | sed 's/^ *//'
	grep -m 3 -E '^ *kvm-nx-lpage-re-[0-9]+ .* (kvm_mmu_prepare_zap_page|kvm_tdp_mmu_spte_changed):' \
		$tracefs/trace | sed 's/^ *//'
	return 0
}
