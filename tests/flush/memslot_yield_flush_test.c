// SPDX-License-Identifier: GPL-2.0-only
/*
 * A DELETE that zaps a mapping flushes remote TLBs, even when the zap yields.
 *
 * The guest maps one 4 KiB page at the start of a large memslot (1 GiB: the
 * walk over the memslot's rmaps or TDP MMU range takes milliseconds even when
 * nothing else is mapped); a SCHED_FIFO thread on the CPU of the deleting
 * thread wakes every 50 us, and each wakeup preempts, i.e. sets
 * need_resched(), so the walk yields after it has zapped the page's SPTE,
 * with the flush for it still pending.  Whatever the walk does, the DELETE
 * must request a remote TLB flush: the VM's remote_tlb_flush_requests
 * statistic must grow.  A walk that drops its pending flush when it yields,
 * and zaps nothing after that, requests none, and a vCPU that kept the
 * translation in its TLB could go on using memory that is no longer the
 * guest's.  (Looking for that stale access itself does not work under QEMU
 * TCG: QEMU flushes its TLB at every VMRUN and #VMEXIT, so the stale entry
 * lives only until the vCPU's next exit.)
 *
 * Where the yield can happen: the rmap walk of the shadow MMU and of legacy
 * TDP, which visits every gfn of the memslot.  The TDP MMU's walk skips
 * non-present subtrees, is short, and flushes before it yields anyway; there
 * the test checks the flush at the end of the zap only.
 *
 * Needs KVM_X86_QUIRK_SLOT_ZAP_ALL, disabled: the zap of the memslot alone.
 * The zap-all path does not promise a flush request (the TDP MMU invalidates
 * its roots instead, and vCPUs switch to new ones).
 * Not part of the series: a test of the kvm-slotzap harness (the mutant
 * tests/mutants/flush-dropped-on-yield.patch), built against the series'
 * selftest library.
 */
#define _GNU_SOURCE /* for program_invocation_short_name */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"

#define SLOT		1
#define SLOT_GPA	0x40000000ull
#define SLOT_SIZE	(1ull << 30)
#define NR_TRIALS	10

#ifndef KVM_X86_QUIRK_SLOT_ZAP_ALL
#define KVM_X86_QUIRK_SLOT_ZAP_ALL	(1 << 7)
#endif

static atomic_bool stop;

static void guest_code(void)
{
	for (;;) {
		WRITE_ONCE(*(uint64_t *)SLOT_GPA, 1);
		GUEST_SYNC(0);
	}
}

static void pin_to_cpu(pthread_t thread, int cpu)
{
	cpu_set_t set;
	int r;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	r = pthread_setaffinity_np(thread, sizeof(set), &set);
	TEST_ASSERT(!r, "pthread_setaffinity_np(CPU %d): %s", cpu, strerror(r));
}

/*
 * Wakes up every 50 us on the deleting thread's CPU; as a SCHED_FIFO task it
 * preempts the deleting thread at each wakeup, so the zap sees need_resched().
 */
static void *waker(void *arg)
{
	struct timespec nap = { .tv_nsec = 50 * 1000 };

	while (!atomic_load(&stop))
		nanosleep(&nap, NULL);
	return NULL;
}

int main(int argc, char *argv[])
{
	uint64_t mapped, flushes;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct sched_param prio = { .sched_priority = 1 };
	pthread_attr_t attr;
	pthread_t waker_thread;
	struct ucall uc;
	int i, r, cpu, zapped = 0;
	cpu_set_t set;
	void *mem;

	TEST_REQUIRE(kvm_check_cap(KVM_CAP_DISABLE_QUIRKS2) & KVM_X86_QUIRK_SLOT_ZAP_ALL);
	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	vm_enable_cap(vm, KVM_CAP_DISABLE_QUIRKS2, KVM_X86_QUIRK_SLOT_ZAP_ALL);
	virt_map(vm, SLOT_GPA, SLOT_GPA, 1);
	mem = mmap(NULL, SLOT_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	TEST_ASSERT(mem != MAP_FAILED, "mmap of %llu bytes", SLOT_SIZE);
	/* one 4 KiB SPTE, zapped first by the walk over the 4 KiB rmaps */
	TEST_ASSERT(!madvise(mem, SLOT_SIZE, MADV_NOHUGEPAGE), "madvise(MADV_NOHUGEPAGE)");

	cpu = sched_getcpu();
	TEST_ASSERT(cpu >= 0, "sched_getcpu");
	pin_to_cpu(pthread_self(), cpu);
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	TEST_ASSERT(!pthread_attr_init(&attr) &&
		    !pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED) &&
		    !pthread_attr_setschedpolicy(&attr, SCHED_FIFO) &&
		    !pthread_attr_setschedparam(&attr, &prio) &&
		    !pthread_attr_setaffinity_np(&attr, sizeof(set), &set),
		    "pthread_attr_* for a SCHED_FIFO thread on CPU %d", cpu);
	r = pthread_create(&waker_thread, &attr, waker, NULL);
	__TEST_REQUIRE(r != EPERM, "a SCHED_FIFO thread needs CAP_SYS_NICE");
	TEST_ASSERT(!r, "pthread_create: %s", strerror(r));
	pthread_attr_destroy(&attr);

	ksft_print_header();
	ksft_set_plan(1);
	for (i = 0; i < NR_TRIALS; i++) {
		vm_set_user_memory_region(vm, SLOT, 0, SLOT_GPA, SLOT_SIZE, mem);
		vcpu_run(vcpu);
		TEST_ASSERT(get_ucall(vcpu, &uc) == UCALL_SYNC,
			    "Unexpected exit: %s", exit_reason_str(vcpu->run->exit_reason));

		mapped = vm_get_stat(vm, "pages_4k");
		flushes = vm_get_stat(vm, "remote_tlb_flush_requests");
		vm_set_user_memory_region(vm, SLOT, 0, SLOT_GPA, 0, NULL);
		/*
		 * An mmu_notifier invalidation (reclaim, compaction) may have
		 * zapped the SPTE, and flushed, before the DELETE: nothing to
		 * check then.
		 */
		if (vm_get_stat(vm, "pages_4k") >= mapped)
			continue;
		zapped++;
		TEST_ASSERT(vm_get_stat(vm, "remote_tlb_flush_requests") > flushes,
			    "trial %d: the DELETE zapped the SPTE of a page the guest had mapped, but requested no remote TLB flush (a yield dropped the pending flush?)",
			    i);
	}
	atomic_store(&stop, true);
	pthread_join(waker_thread, NULL);
	TEST_ASSERT(zapped >= NR_TRIALS / 2,
		    "only %d of %d DELETEs found the guest's SPTE to zap", zapped, NR_TRIALS);
	ksft_test_result_pass("%d DELETEs of a 1 GiB memslot that zapped the one page mapped, preempted every 50 us: each requested a remote TLB flush\n",
			      zapped);
	munmap(mem, SLOT_SIZE);
	kvm_vm_free(vm);
	ksft_finished();
}
