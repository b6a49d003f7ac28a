// SPDX-License-Identifier: GPL-2.0-only
/*
 * A test-only external page-track user: what KVM-GT is to KVM, without a
 * GPU. Each open of /dev/slotzap_track may attach to one VM (the VM's file
 * descriptor, as KVM-GT gets the VM from VFIO); the page-track notifier it
 * registers records every ->track_remove_region() call, and
 * SLOTZAP_TRACK_EVENTS hands the record to user space. Closing the file
 * unregisters the notifier. tests/track/track-test.c drives it.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kvm_host.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <asm/kvm_page_track.h>

#include "slotzap_track.h"

struct slotzap_tracker {
	struct kvm_page_track_notifier_node node;
	struct kvm *kvm;
	struct mutex attach_lock;	/* serializes ATTACH against itself */
	spinlock_t lock;		/* protects events */
	struct slotzap_track_events events;
};

static void slotzap_track_remove_region(gfn_t gfn, unsigned long nr_pages,
					struct kvm_page_track_notifier_node *node)
{
	struct slotzap_tracker *t = container_of(node, struct slotzap_tracker, node);
	struct slotzap_track_events *e = &t->events;

	spin_lock(&t->lock);
	if (e->count < SLOTZAP_TRACK_MAX_EVENTS) {
		e->ev[e->count].gfn = gfn;
		e->ev[e->count].nr_pages = nr_pages;
		e->count++;
	} else {
		e->lost++;
	}
	spin_unlock(&t->lock);
}

static int slotzap_track_open(struct inode *inode, struct file *file)
{
	struct slotzap_tracker *t = kzalloc(sizeof(*t), GFP_KERNEL);

	if (!t)
		return -ENOMEM;
	mutex_init(&t->attach_lock);
	spin_lock_init(&t->lock);
	t->node.track_remove_region = slotzap_track_remove_region;
	file->private_data = t;
	return 0;
}

static int slotzap_track_release(struct inode *inode, struct file *file)
{
	struct slotzap_tracker *t = file->private_data;

	if (t->kvm) {
		kvm_page_track_unregister_notifier(t->kvm, &t->node);
		kvm_put_kvm(t->kvm);
	}
	kfree(t);
	return 0;
}

static long slotzap_track_attach(struct slotzap_tracker *t, int vm_fd)
{
	struct fd f = fdget(vm_fd);
	long r = 0;

	if (!f.file)
		return -EBADF;
	mutex_lock(&t->attach_lock);
	if (t->kvm) {
		r = -EBUSY;
	} else if (!file_is_kvm(f.file)) {
		r = -EINVAL;
	} else {
		t->kvm = f.file->private_data;
		kvm_get_kvm(t->kvm);
		kvm_page_track_register_notifier(t->kvm, &t->node);
	}
	mutex_unlock(&t->attach_lock);
	fdput(f);
	return r;
}

static long slotzap_track_read_events(struct slotzap_tracker *t,
				      void __user *argp)
{
	struct slotzap_track_events *e = kmalloc(sizeof(*e), GFP_KERNEL);
	long r = 0;

	if (!e)
		return -ENOMEM;
	spin_lock(&t->lock);
	*e = t->events;
	memset(&t->events, 0, sizeof(t->events));
	spin_unlock(&t->lock);
	if (copy_to_user(argp, e, sizeof(*e)))
		r = -EFAULT;
	kfree(e);
	return r;
}

static long slotzap_track_ioctl(struct file *file, unsigned int cmd,
				unsigned long arg)
{
	struct slotzap_tracker *t = file->private_data;

	switch (cmd) {
	case SLOTZAP_TRACK_ATTACH:
		return slotzap_track_attach(t, (int)arg);
	case SLOTZAP_TRACK_EVENTS:
		return slotzap_track_read_events(t, (void __user *)arg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations slotzap_track_fops = {
	.owner		= THIS_MODULE,
	.open		= slotzap_track_open,
	.release	= slotzap_track_release,
	.unlocked_ioctl	= slotzap_track_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice slotzap_track_dev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "slotzap_track",
	.fops	= &slotzap_track_fops,
};

module_misc_device(slotzap_track_dev);

MODULE_DESCRIPTION("kvm-slotzap test fixture: an external KVM page-track user");
MODULE_LICENSE("GPL");
