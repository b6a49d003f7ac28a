// SPDX-License-Identifier: GPL-2.0-only
/*
 * LD_PRELOAD library for KVM selftests run under Bochs (scripts/bochs.py):
 * sets RFLAGS.IF in every KVM_SET_REGS, so the selftest's guest runs with
 * interrupts enabled.
 *
 * Why: Bochs 2.7 (Debian 12) does not make an external interrupt exit from
 * VMX non-root mode while the guest's RFLAGS.IF is 0, although KVM sets
 * "external-interrupt exiting" and the SDM says IF does not matter then.
 * Selftest guests run with IF=0, so a guest that spins on memory only the
 * host changes (set_memory_region_test) keeps the CPU forever: L1's timer
 * interrupt never gets through and the host thread never runs again. With
 * IF=1, Bochs takes the exit. The selftest VMs have no interrupt source
 * (no PIT, no LAPIC timer programmed by these guests), so the guest sees
 * no interrupt either way. Only for tests whose guests never rely on IF=0.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

int ioctl(int fd, unsigned long request, ...)
{
	static int (*real_ioctl)(int, unsigned long, ...);
	va_list ap;
	void *arg;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!real_ioctl)
		real_ioctl = dlsym(RTLD_NEXT, "ioctl");
	if (request == KVM_SET_REGS && arg)
		((struct kvm_regs *)arg)->rflags |= 0x200;	/* X86_EFLAGS_IF */
	return real_ioctl(fd, request, arg);
}
