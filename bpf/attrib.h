/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The contract for steal attribution: who ran on a CPU while a vCPU waited
 * there. Keys of the attribution map and the per-CPU figures the agent
 * reads. Only fixed-size types; layouts are pinned.
 */
#ifndef KVMWARDEN_BPF_ATTRIB_H
#define KVMWARDEN_BPF_ATTRIB_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Waiting vCPUs tracked per CPU; more are counted as overflow and their
 * wait goes whole to the task that ran last before them. */
#define ATTR_MAX_WAITERS 16
/* Distinct culprits remembered per wait before the smallest is flushed. */
#define ATTR_PARTS 6
/* Entries of the attribution map: victims x culprits. */
#define ATTR_MAX_ENTRIES 65536

enum attr_culprit_kind {
	ATTR_CULPRIT_NONE = 0,
	ATTR_CULPRIT_GUEST = 1, /* id: the culprit guest's group */
	ATTR_CULPRIT_CGROUP = 2, /* id: the cgroup's kernfs id (inode) */
	ATTR_CULPRIT_KERNEL = 3, /* kernel threads; id 0 */
	ATTR_CULPRIT_IDLE = 4, /* nothing ran: wake-up latency; id 0 */
	ATTR_CULPRIT_THROTTLED = 5, /* the victim's own CPU quota; id 0 */
};

struct attr_key {
	__u32 victim_group; /* the waiting vCPU's guest (registration group) */
	__u32 kind; /* enum attr_culprit_kind */
	__u64 id;
};
_Static_assert(sizeof(struct attr_key) == 16, "attr_key layout is ABI");

/* What a CPU's list of waiting vCPUs holds, read by the agent only for
 * vcpu_wait_ns and overflow. */
struct attr_part {
	__u32 kind;
	__u32 _pad;
	__u64 id;
	__u64 ns;
};

/* The culprits of one wait so far. A struct rather than a bare array so
 * that BPF's global functions, which learn an argument's size from its
 * type, may index all of it. */
struct attr_parts {
	struct attr_part part[ATTR_PARTS];
};

struct attr_waiter {
	__u32 slot; /* the vCPU's stats slot: its identity here */
	__u32 group;
	__u64 cfs_rq; /* address, read for throttle_count */
	struct attr_parts parts;
};

struct attr_cpu {
	__u64 seg_start_ns; /* the open segment began here */
	__u64 vcpu_wait_ns; /* vCPU-ns spent waiting on this CPU */
	__u64 overflow; /* waiters not listed: list full */
	__u64 cur_tracked_task; /* last tracked task switched in, address */
	__u32 cur_tracked_pid; /* and its tid: together they identify it */
	__u32 cur_group; /* its group */
	__u32 count;
	__u32 _pad0;
	__u32 cur_kind; /* culprit of the open segment */
	__u32 _pad;
	__u64 cur_id;
	__u64 cur_cset; /* css_set address cur_id was read from, or 0 */
	struct attr_waiter waiters[ATTR_MAX_WAITERS];
};
_Static_assert(sizeof(struct attr_waiter) == 16 + 24 * ATTR_PARTS,
	       "attr_waiter layout is ABI");

#endif
