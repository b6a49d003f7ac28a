// SPDX-License-Identifier: GPL-2.0-only
/*
 * An external page-track user (KVM-GT's role, played by slotzap_track.ko)
 * under memslot updates, with KVM_X86_QUIRK_SLOT_ZAP_ALL on and off:
 *   - a DELETE is reported to it once, with the deleted range;
 *   - CREATE and a flags change (dirty logging on and off) are not reported;
 *   - a MOVE is refused with EINVAL while it is attached, reports nothing
 *     and leaves the memslot where it was;
 *   - once it is detached, a MOVE succeeds again.
 * TAP output; exit status 0 when every check passed.
 *
 *   insmod slotzap_track.ko && ./track-test
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "slotzap_track.h"

#define QUIRK_SLOT_ZAP_ALL	(1ULL << 7)	/* KVM_X86_QUIRK_SLOT_ZAP_ALL */
#define SLOT_SIZE		(1UL << 20)
#define SLOT_GPA		(1UL << 30)
#define MOVED_GPA		(3UL << 30)
#define SLOT			1
#define OTHER_SLOT		2
#define OTHER_GPA		(2UL << 30)
#define CHECKS_PER_POLICY	7

static int checks, failures;

static void check(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d ", ok ? "" : "not ", ++checks);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	failures += !ok;
}

static void die(const char *what)
{
	printf("Bail out! %s: %s\n", what, strerror(errno));
	exit(1);
}

static int set_slot(int vm, int slot, unsigned long gpa, unsigned long size,
		    void *mem, unsigned int flags)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (unsigned long)mem,
	};

	return ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) ? errno : 0;
}

static struct slotzap_track_events events(int tracker)
{
	struct slotzap_track_events e;

	if (ioctl(tracker, SLOTZAP_TRACK_EVENTS, &e))
		die("SLOTZAP_TRACK_EVENTS");
	return e;
}

/* exactly one removal, of [gfn, gfn + nr_pages) */
static int one_removal(struct slotzap_track_events e, __u64 gfn, __u64 nr_pages,
		       char *got, size_t len)
{
	unsigned int i;
	int n = snprintf(got, len, "%u call(s)", e.count + e.lost);

	for (i = 0; i < e.count && n < (int)len; i++)
		n += snprintf(got + n, len - n, " [gfn 0x%llx, %llu pages]",
			      (unsigned long long)e.ev[i].gfn,
			      (unsigned long long)e.ev[i].nr_pages);
	return e.count == 1 && !e.lost && e.ev[0].gfn == gfn &&
	       e.ev[0].nr_pages == nr_pages;
}

static void run(int kvm, int quirk_on)
{
	const char *q = quirk_on ? "quirk on" : "quirk off";
	__u64 gfn = SLOT_GPA >> 12, npages = SLOT_SIZE >> 12;
	struct slotzap_track_events e;
	int vm, tracker, r;
	char got[512];
	void *mem, *other;

	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		die("KVM_CREATE_VM");
	if (!quirk_on) {
		struct kvm_enable_cap cap = {
			.cap = KVM_CAP_DISABLE_QUIRKS2,
			.args[0] = QUIRK_SLOT_ZAP_ALL,
		};

		if (ioctl(vm, KVM_ENABLE_CAP, &cap))
			die("KVM_ENABLE_CAP(KVM_CAP_DISABLE_QUIRKS2, SLOT_ZAP_ALL)");
	}
	mem = mmap(NULL, SLOT_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	other = mmap(NULL, SLOT_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED || other == MAP_FAILED)
		die("mmap");
	if (set_slot(vm, SLOT, SLOT_GPA, SLOT_SIZE, mem, 0) ||
	    set_slot(vm, OTHER_SLOT, OTHER_GPA, SLOT_SIZE, other, 0))
		die("KVM_SET_USER_MEMORY_REGION (create)");

	tracker = open("/dev/slotzap_track", O_RDWR);
	if (tracker < 0)
		die("open /dev/slotzap_track (insmod slotzap_track.ko first)");
	if (ioctl(tracker, SLOTZAP_TRACK_ATTACH, vm))
		die("SLOTZAP_TRACK_ATTACH");

	r = set_slot(vm, SLOT, SLOT_GPA, 0, NULL, 0);
	check(!r && one_removal(events(tracker), gfn, npages, got, sizeof(got)),
	      "%s: DELETE is reported once, with its range (%s; got %s)",
	      q, strerror(r), got);

	r = set_slot(vm, SLOT, SLOT_GPA, SLOT_SIZE, mem, 0);
	e = events(tracker);
	check(!r && !e.count, "%s: CREATE is not reported (%s; %u call(s))",
	      q, strerror(r), e.count);

	r = set_slot(vm, OTHER_SLOT, OTHER_GPA, SLOT_SIZE, other,
		     KVM_MEM_LOG_DIRTY_PAGES);
	if (!r)
		r = set_slot(vm, OTHER_SLOT, OTHER_GPA, SLOT_SIZE, other, 0);
	e = events(tracker);
	check(!r && !e.count,
	      "%s: dirty logging on and off is not reported (%s; %u call(s))",
	      q, strerror(r), e.count);

	r = set_slot(vm, SLOT, MOVED_GPA, SLOT_SIZE, mem, 0);
	e = events(tracker);
	check(r == EINVAL && !e.count,
	      "%s: MOVE is refused with EINVAL while a tracker is attached (%s; %u call(s))",
	      q, r ? strerror(r) : "it succeeded", e.count);

	/* the refused MOVE left the slot where it was: DELETE reports it there */
	r = set_slot(vm, SLOT, SLOT_GPA, 0, NULL, 0);
	check(!r && one_removal(events(tracker), gfn, npages, got, sizeof(got)),
	      "%s: the refused MOVE left the memslot in place (DELETE: %s; got %s)",
	      q, strerror(r), got);

	r = set_slot(vm, OTHER_SLOT, OTHER_GPA, 0, NULL, 0);
	check(!r && one_removal(events(tracker), OTHER_GPA >> 12, npages, got, sizeof(got)),
	      "%s: DELETE of another memslot is reported with its range (%s; got %s)",
	      q, strerror(r), got);

	close(tracker);
	r = set_slot(vm, OTHER_SLOT, OTHER_GPA, SLOT_SIZE, other, 0);
	if (!r)
		r = set_slot(vm, OTHER_SLOT, MOVED_GPA, SLOT_SIZE, other, 0);
	check(!r, "%s: MOVE succeeds once the tracker is detached (%s)",
	      q, strerror(r));

	close(vm);
	munmap(mem, SLOT_SIZE);
	munmap(other, SLOT_SIZE);
}

int main(void)
{
	int kvm = open("/dev/kvm", O_RDWR);

	if (kvm < 0)
		die("open /dev/kvm");
	if (!(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_DISABLE_QUIRKS2) &
	      QUIRK_SLOT_ZAP_ALL)) {
		printf("1..0 # SKIP no KVM_X86_QUIRK_SLOT_ZAP_ALL: %s\n",
		       "not the series' KVM");
		return 4;
	}
	printf("TAP version 13\n1..%d\n", 2 * CHECKS_PER_POLICY);
	run(kvm, 1);
	run(kvm, 0);
	printf("# %d of %d checks failed\n", failures, checks);
	return failures ? 1 : 0;
}
