// SPDX-License-Identifier: GPL-2.0-only
/*
 * A DELETE that zaps a mapping flushes remote TLBs, even when the zap yields.
 *
 * The guest maps one page at the start of a large memslot (1 GiB, so that the
 * walk over the memslot's rmaps or TDP MMU range takes many ticks under TCG);
 * a thread pinned to the CPU of the deleting thread keeps that CPU busy, so
 * the walk finds need_resched() set and yields after it has zapped the page's
 * SPTE, with the flush for it still pending.  Whatever the walk does, the
 * DELETE must request a remote TLB flush: the VM's remote_tlb_flush_requests
 * statistic must grow.  A walk that drops its pending flush when it yields,
 * and zaps nothing after that, requests none, and a vCPU that kept the
 * translation in its TLB could go on using memory that is no longer the
 * guest's.  (Looking for that stale access itself does not work under QEMU
 * TCG: QEMU flushes its TLB at every VMRUN and #VMEXIT, so the stale entry
 * lives only until the vCPU's next exit.)
 *
 * Runs with KVM_X86_QUIRK_SLOT_ZAP_ALL disabled (the zap of the memslot
 * alone) when the kernel has it, else with the kernel's own DELETE.
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

static atomic_bool spin_stop;

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

/* Competes for the deleting thread's CPU, so that the zap sees need_resched(). */
static void *spinner(void *arg)
{
	while (!atomic_load(&spin_stop))
		;
	return NULL;
}

int main(int argc, char *argv[])
{
	uint64_t before, after;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	pthread_t spin;
	struct ucall uc;
	int i, cpu;
	void *mem;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	if (kvm_check_cap(KVM_CAP_DISABLE_QUIRKS2) & KVM_X86_QUIRK_SLOT_ZAP_ALL)
		vm_enable_cap(vm, KVM_CAP_DISABLE_QUIRKS2, KVM_X86_QUIRK_SLOT_ZAP_ALL);
	virt_map(vm, SLOT_GPA, SLOT_GPA, 1);
	mem = mmap(NULL, SLOT_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	TEST_ASSERT(mem != MAP_FAILED, "mmap of %llu bytes", SLOT_SIZE);

	cpu = sched_getcpu();
	TEST_ASSERT(cpu >= 0, "sched_getcpu");
	pin_to_cpu(pthread_self(), cpu);
	TEST_ASSERT(!pthread_create(&spin, NULL, spinner, NULL), "pthread_create");
	pin_to_cpu(spin, cpu);

	ksft_print_header();
	ksft_set_plan(1);
	for (i = 0; i < NR_TRIALS; i++) {
		vm_set_user_memory_region(vm, SLOT, 0, SLOT_GPA, SLOT_SIZE, mem);
		vcpu_run(vcpu);
		TEST_ASSERT(get_ucall(vcpu, &uc) == UCALL_SYNC,
			    "Unexpected exit: %s", exit_reason_str(vcpu->run->exit_reason));

		before = vm_get_stat(vm, "remote_tlb_flush_requests");
		vm_set_user_memory_region(vm, SLOT, 0, SLOT_GPA, 0, NULL);
		after = vm_get_stat(vm, "remote_tlb_flush_requests");
		TEST_ASSERT(after > before,
			    "trial %d: the DELETE zapped the SPTE of a page the guest had mapped, but requested no remote TLB flush (a yield dropped the pending flush?)",
			    i);
	}
	atomic_store(&spin_stop, true);
	pthread_join(spin, NULL);
	ksft_test_result_pass("%d DELETEs of a 1 GiB memslot with one page mapped, a busy thread on the same CPU: each requested a remote TLB flush\n",
			      NR_TRIALS);
	munmap(mem, SLOT_SIZE);
	kvm_vm_free(vm);
	ksft_finished();
}
