// SPDX-License-Identifier: GPL-2.0
/*
 * slotzap-preload: run an unmodified VMM with KVM_X86_QUIRK_SLOT_ZAP_ALL
 * disabled, i.e. with KVM zapping only the memslot that is deleted or moved.
 *
 *   LD_PRELOAD=/path/to/libslotzap-preload.so qemu-system-x86_64 -enable-kvm ...
 *
 * The library wraps ioctl().  Right after each successful KVM_CREATE_VM it
 * disables the quirk on the new VM with KVM_ENABLE_CAP(KVM_CAP_DISABLE_QUIRKS2),
 * and when the VMM disables quirks itself it adds the bit to the VMM's mask,
 * so the quirks the VMM disables stay disabled and so does ours.  If the
 * kernel does not report the quirk, KVM_CREATE_VM fails with EOPNOTSUPP and a
 * message says why: the VMM never runs with a policy it did not ask for.
 *
 * Environment:
 *   SLOTZAP_QUIRK=off    disable the quirk (the default)
 *   SLOTZAP_QUIRK=on     leave the quirk alone, only count (for comparisons)
 *   SLOTZAP_REPORT=FILE  at exit, append one line per VM to FILE: memslot
 *                        operations seen (CREATE, DELETE, MOVE, FLAGS) and
 *                        the pf_fixed/pf_taken stats summed over its vCPUs
 *
 * Build: gcc -shared -fPIC -O2 -o libslotzap-preload.so slotzap-preload.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#ifndef KVM_X86_QUIRK_SLOT_ZAP_ALL
#define KVM_X86_QUIRK_SLOT_ZAP_ALL	(1 << 7)
#endif

#define MAX_VMS		8
#define MAX_SLOTS	512
#define MAX_VCPUS	64

struct slot {
	bool used;
	uint32_t id;		/* as_id << 16 | slot id, as in the ioctl */
	uint64_t gpa, size;
};

struct vm {
	int fd;
	uint64_t creates, deletes, moves, flags;
	struct slot slots[MAX_SLOTS];
	int stats_fds[MAX_VCPUS];
	int nr_vcpus;
};

static int (*real_ioctl)(int fd, unsigned long req, ...);
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct vm vms[MAX_VMS];
static bool disable_quirk = true;
static const char *report_path;

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("slotzap-preload: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

__attribute__((constructor)) static void init(void)
{
	const char *mode = getenv("SLOTZAP_QUIRK");

	real_ioctl = dlsym(RTLD_NEXT, "ioctl");
	if (!real_ioctl)
		die("cannot find the real ioctl(): %s", dlerror());

	if (mode && !strcmp(mode, "on"))
		disable_quirk = false;
	else if (mode && strcmp(mode, "off"))
		die("SLOTZAP_QUIRK must be 'on' or 'off', not '%s'", mode);

	report_path = getenv("SLOTZAP_REPORT");
}

static struct vm *find_vm(int fd)
{
	int i;

	for (i = 0; i < MAX_VMS; i++)
		if (vms[i].fd == fd && fd > 0)
			return &vms[i];
	return NULL;
}

static void add_vm(int fd)
{
	int i;

	for (i = 0; i < MAX_VMS; i++) {
		if (vms[i].fd <= 0) {
			memset(&vms[i], 0, sizeof(vms[i]));
			vms[i].fd = fd;
			return;
		}
	}
	fprintf(stderr, "slotzap-preload: more than %d VMs, not counting VM fd %d\n",
		MAX_VMS, fd);
}

static void count_memslot_update(struct vm *vm,
				 const struct kvm_userspace_memory_region *r)
{
	struct slot *s, *free_slot = NULL;
	int i;

	for (i = 0; i < MAX_SLOTS; i++) {
		s = &vm->slots[i];
		if (s->used && s->id == r->slot)
			break;
		if (!s->used && !free_slot)
			free_slot = s;
	}

	if (i == MAX_SLOTS) {
		if (!r->memory_size || !free_slot)
			return;
		vm->creates++;
		*free_slot = (struct slot){ true, r->slot, r->guest_phys_addr,
					    r->memory_size };
		return;
	}

	if (!r->memory_size) {
		vm->deletes++;
		s->used = false;
	} else if (r->guest_phys_addr != s->gpa) {
		vm->moves++;
		s->gpa = r->guest_phys_addr;
	} else {
		vm->flags++;
	}
}

static int enable_cap_with_quirk(int fd, unsigned long req,
				 struct kvm_enable_cap *cap)
{
	struct kvm_enable_cap mine = *cap;

	mine.args[0] |= KVM_X86_QUIRK_SLOT_ZAP_ALL;
	return real_ioctl(fd, req, &mine);
}

static int create_vm(int kvm_fd, unsigned long req, void *arg)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_DISABLE_QUIRKS2,
		.args[0] = KVM_X86_QUIRK_SLOT_ZAP_ALL,
	};
	int quirks, fd, saved;

	if (disable_quirk) {
		quirks = real_ioctl(kvm_fd, KVM_CHECK_EXTENSION,
				    KVM_CAP_DISABLE_QUIRKS2);
		if (quirks < 0 || !(quirks & KVM_X86_QUIRK_SLOT_ZAP_ALL)) {
			fprintf(stderr,
				"slotzap-preload: this kernel does not report KVM_X86_QUIRK_SLOT_ZAP_ALL in KVM_CHECK_EXTENSION(KVM_CAP_DISABLE_QUIRKS2) (got %d); boot a kernel with the kvm-slotzap series or load its KVM modules, or run with SLOTZAP_QUIRK=on\n",
				quirks);
			errno = EOPNOTSUPP;
			return -1;
		}
	}

	fd = real_ioctl(kvm_fd, req, arg);
	if (fd < 0 || !disable_quirk)
		return fd;

	if (real_ioctl(fd, KVM_ENABLE_CAP, &cap)) {
		saved = errno;
		fprintf(stderr, "slotzap-preload: disabling KVM_X86_QUIRK_SLOT_ZAP_ALL failed: %s\n",
			strerror(saved));
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int ioctl(int fd, unsigned long req, ...)
{
	struct vm *vm;
	void *arg;
	va_list ap;
	int ret;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);

	if (req == KVM_CREATE_VM) {
		ret = create_vm(fd, req, arg);
		if (ret >= 0) {
			pthread_mutex_lock(&lock);
			add_vm(ret);
			pthread_mutex_unlock(&lock);
		}
		return ret;
	}

	pthread_mutex_lock(&lock);
	vm = find_vm(fd);
	pthread_mutex_unlock(&lock);
	if (!vm)
		return real_ioctl(fd, req, arg);

	if (req == KVM_ENABLE_CAP && disable_quirk &&
	    (((struct kvm_enable_cap *)arg)->cap == KVM_CAP_DISABLE_QUIRKS2 ||
	     ((struct kvm_enable_cap *)arg)->cap == KVM_CAP_DISABLE_QUIRKS))
		return enable_cap_with_quirk(fd, req, arg);

	ret = real_ioctl(fd, req, arg);
	if (ret < 0)
		return ret;

	pthread_mutex_lock(&lock);
	if (req == KVM_SET_USER_MEMORY_REGION) {
		count_memslot_update(vm, arg);
	} else if (req == KVM_CREATE_VCPU && vm->nr_vcpus < MAX_VCPUS) {
		/* The stats fd keeps the VM alive until it is read at exit. */
		vm->stats_fds[vm->nr_vcpus] = real_ioctl(ret, KVM_GET_STATS_FD,
							 NULL);
		if (vm->stats_fds[vm->nr_vcpus] >= 0)
			vm->nr_vcpus++;
	}
	pthread_mutex_unlock(&lock);
	return ret;
}

/* Sum the per-vCPU binary stats named @name. */
static uint64_t vcpu_stat_sum(struct vm *vm, const char *name)
{
	struct kvm_stats_header hdr;
	struct kvm_stats_desc *desc;
	uint64_t val, sum = 0;
	size_t desc_size;
	char *descs;
	int i, j;

	for (i = 0; i < vm->nr_vcpus; i++) {
		int fd = vm->stats_fds[i];

		if (pread(fd, &hdr, sizeof(hdr), 0) != sizeof(hdr))
			continue;
		desc_size = sizeof(*desc) + hdr.name_size;
		descs = calloc(hdr.num_desc, desc_size);
		if (!descs)
			continue;
		if (pread(fd, descs, hdr.num_desc * desc_size, hdr.desc_offset) ==
		    (ssize_t)(hdr.num_desc * desc_size)) {
			for (j = 0; j < (int)hdr.num_desc; j++) {
				desc = (void *)(descs + j * desc_size);
				if (strcmp(desc->name, name))
					continue;
				if (pread(fd, &val, sizeof(val),
					  hdr.data_offset + desc->offset) == sizeof(val))
					sum += val;
				break;
			}
		}
		free(descs);
	}
	return sum;
}

__attribute__((destructor)) static void report(void)
{
	FILE *f;
	int i;

	if (!report_path)
		return;

	f = fopen(report_path, "a");
	if (!f) {
		fprintf(stderr, "slotzap-preload: cannot open %s: %s\n",
			report_path, strerror(errno));
		return;
	}

	pthread_mutex_lock(&lock);
	for (i = 0; i < MAX_VMS; i++) {
		struct vm *vm = &vms[i];

		if (vm->fd <= 0)
			continue;
		fprintf(f, "quirk=%s creates=%lu deletes=%lu moves=%lu flags=%lu vcpus=%d pf_fixed=%lu pf_taken=%lu\n",
			disable_quirk ? "off" : "on", vm->creates, vm->deletes,
			vm->moves, vm->flags, vm->nr_vcpus,
			vcpu_stat_sum(vm, "pf_fixed"),
			vcpu_stat_sum(vm, "pf_taken"));
	}
	pthread_mutex_unlock(&lock);
	fclose(f);
}
