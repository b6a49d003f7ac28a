# Sourced by the torture reproducers (inside the test VM): enable the
# kvm_exit tracepoint with run-selftests.sh's filter, the one the
# l1-state-in-l2 and L2-shutdown signatures of tests/platform-retries read
# (docs/platform-bugs.md §1-2). Sets tr to the tracefs mount.
tr=/sys/kernel/tracing
[ -d $tr/events ] || mount -t tracefs nodev $tr
echo "guest_rip >= 0xffffffff80000000 || exit_reason == 127" > $tr/events/kvm/kvm_exit/filter
echo 1 > $tr/events/kvm/kvm_exit/enable
