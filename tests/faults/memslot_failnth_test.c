// SPDX-License-Identifier: GPL-2.0-only
/*
 * Injected allocation failures in memslot updates (fail-nth sweep).
 *
 * For each memslot operation (CREATE, DELETE, MOVE, dirty logging on, dirty
 * logging off) and for KVM_ENABLE_CAP of KVM_X86_QUIRK_SLOT_ZAP_ALL, with the
 * quirk on and off, after the vCPU has mapped the memslot: fail the n-th
 * fault-injection point (slab or page allocation) reached by the ioctl, for
 * n = 1, 2, ... until the ioctl completes without reaching an n-th point.
 * An ioctl that fails must fail with ENOMEM and leave everything as it was:
 * the guest still reads the memslot's contents where they were (and MMIO
 * where there was no memslot), KVM_GET_DIRTY_LOG still agrees with the old
 * flags, and the operation then succeeds when nothing is injected.
 * KVM_ENABLE_CAP of the quirk allocates nothing on 6.1 (0 points); it is
 * swept all the same, so an allocation added there later is covered.
 *
 * Needs a kernel with CONFIG_FAULT_INJECTION, CONFIG_FAILSLAB,
 * CONFIG_FAIL_PAGE_ALLOC and CONFIG_FAULT_INJECTION_DEBUG_FS
 * (configs/kvm-debug.config); tests/faults/run.sh sets the debugfs knobs
 * and checks kmemleak afterwards. Not part of the series: a test of the
 * kvm-slotzap harness, built against the series' selftest library.
 */
#define _GNU_SOURCE /* for program_invocation_short_name */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"

#define SLOT		1
#define SLOT_GPA	0x40000000ull
#define MOVED_GPA	0x50000000ull
#define SLOT_SIZE	(2ull << 20)
#define SLOT_PAGES	(SLOT_SIZE / PAGE_SIZE)
#define MAX_NTH		10000
/* a sweep ends when this many n in a row reach no injection point */
#define QUIET_NTH	3
#define MMIO_MAGIC	0x6d6d696f6d6d696full

#ifndef KVM_X86_QUIRK_SLOT_ZAP_ALL
#define KVM_X86_QUIRK_SLOT_ZAP_ALL	(1 << 7)
#endif

enum guest_cmd { CMD_TOUCH, CMD_READ };

static uint64_t guest_cmd;
static uint64_t guest_arg;

static void guest_code(void)
{
	uint64_t gva;

	for (;;) {
		if (READ_ONCE(guest_cmd) == CMD_TOUCH) {
			for (gva = SLOT_GPA; gva < SLOT_GPA + SLOT_SIZE;
			     gva += PAGE_SIZE)
				WRITE_ONCE(*(uint64_t *)gva, gva);
			GUEST_SYNC(0);
		} else {
			GUEST_SYNC(READ_ONCE(*(uint64_t *)READ_ONCE(guest_arg)));
		}
	}
}

/* Run the guest to its next GUEST_SYNC; MMIO reads return MMIO_MAGIC. */
static uint64_t run_guest(struct kvm_vcpu *vcpu)
{
	uint64_t magic = MMIO_MAGIC;
	struct ucall uc;

	for (;;) {
		vcpu_run(vcpu);
		if (vcpu->run->exit_reason == KVM_EXIT_MMIO) {
			TEST_ASSERT(!vcpu->run->mmio.is_write &&
				    vcpu->run->mmio.len == sizeof(magic),
				    "Unexpected MMIO access to 0x%llx",
				    vcpu->run->mmio.phys_addr);
			memcpy(vcpu->run->mmio.data, &magic, sizeof(magic));
			continue;
		}
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			return uc.args[1];
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
		default:
			TEST_FAIL("Unexpected exit: %s",
				  exit_reason_str(vcpu->run->exit_reason));
		}
	}
}

static void guest_touch(struct kvm_vcpu *vcpu)
{
	guest_cmd = CMD_TOUCH;
	sync_global_to_guest(vcpu->vm, guest_cmd);
	run_guest(vcpu);
}

static uint64_t guest_read(struct kvm_vcpu *vcpu, uint64_t gva)
{
	guest_cmd = CMD_READ;
	guest_arg = gva;
	sync_global_to_guest(vcpu->vm, guest_cmd);
	sync_global_to_guest(vcpu->vm, guest_arg);
	return run_guest(vcpu);
}

/* What the memslot looks like between operations. */
struct slot_state {
	bool present;
	uint64_t gpa;
	uint32_t flags;
};

struct ctx {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	void *hva;
	struct slot_state state;
	int fail_nth;		/* /proc/thread-self/fail-nth */
};

static int set_slot(struct ctx *c, struct slot_state s)
{
	int r = __vm_set_user_memory_region(c->vm, SLOT, s.flags, s.gpa,
					    s.present ? SLOT_SIZE : 0, c->hva);

	if (!r)
		c->state = s;
	return r ? errno : 0;
}

static void must_set_slot(struct ctx *c, struct slot_state s)
{
	int r = set_slot(c, s);

	TEST_ASSERT(!r, "KVM_SET_USER_MEMORY_REGION(present %d, gpa 0x%lx, flags 0x%x) without injection: %s",
		    s.present, s.gpa, s.flags, strerror(r));
}

/*
 * The guest and KVM_GET_DIRTY_LOG see exactly c->state: the contents at its
 * address, MMIO at the other, a dirty log only with dirty logging on.
 */
static void check_state(struct ctx *c, const char *what)
{
	struct slot_state s = c->state;
	uint64_t other = s.gpa == SLOT_GPA ? MOVED_GPA : SLOT_GPA;
	unsigned long bitmap[SLOT_PAGES / 64];
	struct kvm_dirty_log log = { .slot = SLOT, .dirty_bitmap = bitmap };
	uint64_t v;
	int r;

	if (s.present) {
		static const uint64_t offsets[] = { 0, PAGE_SIZE, SLOT_SIZE - PAGE_SIZE };
		int i;

		for (i = 0; i < ARRAY_SIZE(offsets); i++) {
			/* what guest_touch() wrote */
			uint64_t want = SLOT_GPA + offsets[i];

			v = guest_read(c->vcpu, s.gpa + offsets[i]);
			TEST_ASSERT(v == want, "%s: the guest read 0x%lx at 0x%lx, expected 0x%lx",
				    what, v, (uint64_t)(s.gpa + offsets[i]), want);
		}
	}
	v = guest_read(c->vcpu, s.present ? other : SLOT_GPA);
	TEST_ASSERT(v == MMIO_MAGIC,
		    "%s: the guest read 0x%lx where no memslot is, expected MMIO", what, v);

	r = __vm_ioctl(c->vm, KVM_GET_DIRTY_LOG, &log) ? errno : 0;
	if (s.present && (s.flags & KVM_MEM_LOG_DIRTY_PAGES)) {
		TEST_ASSERT(!r, "%s: KVM_GET_DIRTY_LOG with dirty logging on: %s",
			    what, strerror(r));
		/* the log was just cleared: writes must be logged again */
		if (s.gpa == SLOT_GPA) {
			guest_touch(c->vcpu);
			vm_ioctl(c->vm, KVM_GET_DIRTY_LOG, &log);
			TEST_ASSERT(bitmap[0] & 2,
				    "%s: the guest wrote page 1 with dirty logging on, but the dirty log does not show it",
				    what);
		}
	} else {
		TEST_ASSERT(r == ENOENT,
			    "%s: KVM_GET_DIRTY_LOG without dirty logging returned %s, expected ENOENT",
			    what, strerror(r));
	}
}

static void set_fail_nth(struct ctx *c, int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%d", n);

	TEST_ASSERT(pwrite(c->fail_nth, buf, len, 0) == len,
		    "write to /proc/thread-self/fail-nth: %s", strerror(errno));
}

/* Was the fault armed by set_fail_nth() injected?  Disarms it. */
static bool fault_injected(struct ctx *c)
{
	char buf[16] = {};

	TEST_ASSERT(pread(c->fail_nth, buf, sizeof(buf) - 1, 0) > 0,
		    "read of /proc/thread-self/fail-nth: %s", strerror(errno));
	set_fail_nth(c, 0);
	return atoi(buf) == 0;
}

struct op {
	const char *name;
	struct slot_state before, after;
	bool quirk;	/* KVM_ENABLE_CAP of the quirk instead of a memslot update */
};

static const struct op ops[] = {
	{ "CREATE", { false, SLOT_GPA, 0 }, { true, SLOT_GPA, 0 } },
	{ "DELETE", { true, SLOT_GPA, 0 }, { false, SLOT_GPA, 0 } },
	{ "MOVE", { true, SLOT_GPA, 0 }, { true, MOVED_GPA, 0 } },
	{ "dirty logging on", { true, SLOT_GPA, 0 },
	  { true, SLOT_GPA, KVM_MEM_LOG_DIRTY_PAGES } },
	{ "dirty logging off", { true, SLOT_GPA, KVM_MEM_LOG_DIRTY_PAGES },
	  { true, SLOT_GPA, 0 } },
	{ "KVM_ENABLE_CAP(SLOT_ZAP_ALL off)", { true, SLOT_GPA, 0 },
	  { true, SLOT_GPA, 0 }, true },
};

static int do_op(struct ctx *c, const struct op *op)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_DISABLE_QUIRKS2,
		.args[0] = KVM_X86_QUIRK_SLOT_ZAP_ALL,
	};

	if (op->quirk)
		return ioctl(c->vm->fd, KVM_ENABLE_CAP, &cap) ? errno : 0;
	return set_slot(c, op->after);
}

static struct ctx new_vm(bool zap_all)
{
	struct ctx c = {};

	c.vm = vm_create_with_one_vcpu(&c.vcpu, guest_code);
	vm_userspace_mem_region_add(c.vm, VM_MEM_SRC_ANONYMOUS, SLOT_GPA, SLOT,
				    SLOT_PAGES, 0);
	virt_map(c.vm, SLOT_GPA, SLOT_GPA, SLOT_PAGES);
	virt_map(c.vm, MOVED_GPA, MOVED_GPA, SLOT_PAGES);
	c.hva = addr_gpa2hva(c.vm, SLOT_GPA);
	c.state = (struct slot_state){ true, SLOT_GPA, 0 };
	guest_touch(c.vcpu);	/* the pattern check_state() reads back */
	if (!zap_all)
		vm_enable_cap(c.vm, KVM_CAP_DISABLE_QUIRKS2,
			      KVM_X86_QUIRK_SLOT_ZAP_ALL);
	c.fail_nth = open("/proc/thread-self/fail-nth", O_RDWR);
	TEST_ASSERT(c.fail_nth >= 0, "open /proc/thread-self/fail-nth: %s",
		    strerror(errno));
	return c;
}

static void free_vm(struct ctx *c)
{
	if (!c->state.present || c->state.gpa != SLOT_GPA || c->state.flags)
		must_set_slot(c, (struct slot_state){ true, SLOT_GPA, 0 });
	close(c->fail_nth);
	kvm_vm_free(c->vm);
}

/*
 * Sweep one operation; returns the last n whose injection point it reached.
 * Every memslot update allocates (at least the new struct kvm_memory_slot),
 * so a sweep that reaches none means the injection is not armed: fail.
 */
static int sweep(const struct op *op, bool zap_all, int *failed, int *tolerated)
{
	struct ctx c = new_vm(zap_all);
	int n, last = 0;
	char what[128];
	int r;

	/*
	 * Allocations of the debug tools (kmemleak's metadata, KASAN's stack
	 * depot) come and go between calls, so the n-th point is not always
	 * the same allocation: go on until three n in a row reach nothing.
	 */
	for (n = 1; n <= MAX_NTH && n <= last + QUIET_NTH; n++) {
		if (c.state.present != op->before.present ||
		    c.state.gpa != op->before.gpa ||
		    c.state.flags != op->before.flags)
			must_set_slot(&c, op->before);
		if (c.state.present)
			guest_touch(c.vcpu);	/* SPTEs, rmaps, shadow pages */

		set_fail_nth(&c, n);
		r = do_op(&c, op);
		if (!fault_injected(&c)) {
			TEST_ASSERT(!r, "%s, quirk %s: failed without an injected fault: %s",
				    op->name, zap_all ? "on" : "off", strerror(r));
			check_state(&c, op->name);
			continue;
		}
		last = n;
		snprintf(what, sizeof(what), "%s, quirk %s, injection point %d",
			 op->name, zap_all ? "on" : "off", n);
		/*
		 * ENOMEM is the only error an allocation failure may give here
		 * (FAULT_INJECTION_USERCOPY, not configured, would add EFAULT).
		 */
		if (r) {
			TEST_ASSERT(r == ENOMEM, "%s: the ioctl returned %s, expected ENOMEM",
				    what, strerror(r));
			(*failed)++;
			check_state(&c, what);		/* nothing changed */
			r = do_op(&c, op);		/* and it works now */
			TEST_ASSERT(!r, "%s: then without injection: %s", what, strerror(r));
		} else {
			(*tolerated)++;
		}
		check_state(&c, what);
	}
	TEST_ASSERT(n <= MAX_NTH, "%s: still injecting after %d allocations", op->name, MAX_NTH);
	TEST_ASSERT(op->quirk || last,
		    "%s, quirk %s: no allocation failed; is fail-nth armed for sleeping allocations (failslab/ignore-gfp-wait)?",
		    op->name, zap_all ? "on" : "off");
	free_vm(&c);
	return last;
}

int main(int argc, char *argv[])
{
	int i, q, points, failed, tolerated;

	TEST_REQUIRE(kvm_check_cap(KVM_CAP_DISABLE_QUIRKS2) & KVM_X86_QUIRK_SLOT_ZAP_ALL);
	TEST_REQUIRE(!access("/proc/thread-self/fail-nth", W_OK));

	ksft_print_header();
	ksft_set_plan(2 * ARRAY_SIZE(ops));
	for (q = 0; q < 2; q++) {
		for (i = 0; i < ARRAY_SIZE(ops); i++) {
			failed = tolerated = 0;
			points = sweep(&ops[i], !q, &failed, &tolerated);
			if (!points)
				ksft_test_result_pass("%s, quirk %s: 0 faults injected: it allocates nothing (n = 1..%d reached no injection point)\n",
						      ops[i].name, q ? "off" : "on", QUIET_NTH);
			else
				ksft_test_result_pass("%s, quirk %s: %d faults injected (n = 1..%d), %d failed with ENOMEM and changed nothing, %d tolerated\n",
						      ops[i].name, q ? "off" : "on",
						      failed + tolerated, points, failed,
						      tolerated);
		}
	}
	ksft_finished();
}
