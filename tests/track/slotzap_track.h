/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The ioctl interface of slotzap_track.ko, shared by the module and
 * track-test.c. Not a kernel uAPI: a test fixture of kvm-slotzap.
 */
#ifndef SLOTZAP_TRACK_H
#define SLOTZAP_TRACK_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define SLOTZAP_TRACK_MAX_EVENTS	64

/* one ->track_remove_region() call */
struct slotzap_track_event {
	__u64 gfn;
	__u64 nr_pages;
};

struct slotzap_track_events {
	__u32 count;	/* calls since the last SLOTZAP_TRACK_EVENTS */
	__u32 lost;	/* calls beyond SLOTZAP_TRACK_MAX_EVENTS */
	struct slotzap_track_event ev[SLOTZAP_TRACK_MAX_EVENTS];
};

/* register a page-track notifier on the VM whose file descriptor is the argument */
#define SLOTZAP_TRACK_ATTACH	_IO('z', 1)
/* read and reset the calls recorded since the last read */
#define SLOTZAP_TRACK_EVENTS	_IOR('z', 2, struct slotzap_track_events)

#endif
