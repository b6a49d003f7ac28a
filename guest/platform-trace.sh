# Sourced by the runners in the test VM: the kvm_exit tracepoint that
# tests/platform-retries' signatures read (docs/platform-bugs.md §1-2).
#   trace_watch        enable it, filtered to exits with a guest RIP in the
#                      host's kernel text or a guest shutdown; sets
#                      watching=true, and trace_unwatch runs at exit
#   trace_unwatch      disable it and drop the filter
#   trace_clear        empty the trace buffer (before a run)
#   trace_hits         print up to 20 matched kvm_exit lines (after a run)
tracefs=/sys/kernel/tracing
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
}
trace_clear() { $watching && echo > $tracefs/trace; return 0; }
trace_hits() { $watching && grep -m 20 'kvm_exit:' $tracefs/trace | sed 's/^ *//'; return 0; }
