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

/* Culprits remembered per CPU: a vCPU's wait is split between them when
 * it ends. More culprits than this within one wait are rare; a slot given
 * to another culprit mid-wait is counted (SCHED_ERR_CULPRIT_EVICTED) and its
 * share goes to the wait's last culprit. */
#define ATTR_CPU_CULPRITS 16
/* Waiting vCPUs per CPU whose cgroups have a CPU quota, so they can be
 * throttled: each is checked at every segment. More are not watched
 * (SCHED_ERR_WAITERS_FULL) and their throttled time goes to who ran. */
#define ATTR_MAX_WATCHED 8
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

/* One part of a wait: a culprit and its time. */
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

/* A culprit of one CPU and the time it ran there while vCPUs waited,
 * cumulative: a wait's share is the difference between its end and its
 * start, so a segment is charged once, whatever the number of waiters. */
struct attr_culprit_slot {
	__u32 kind; /* enum attr_culprit_kind; 0: free */
	__u32 gen; /* bumped when the slot changes culprit */
	__u64 id;
	__u64 ns;
	__u64 last_ns; /* rq clock of its last charge: the oldest goes first */
};

/* What a waiting vCPU saw of its CPU's slots when its wait began. */
struct attr_mark {
	__u64 ns;
	__u32 gen;
	__u32 _pad;
};

struct attr_marks {
	struct attr_mark mark[ATTR_CPU_CULPRITS];
};

/* A waiting vCPU that its CPU quota may throttle. */
struct attr_watch {
	__u32 slot; /* the vCPU's stats slot: its identity here */
	__u32 _pad;
	__u64 cfs_rq; /* address, read for throttle_count */
	__u64 throttled_ns;
};

struct attr_watches {
	struct attr_watch watch[ATTR_MAX_WATCHED];
};

/* Per CPU; the agent reads vcpu_wait_ns (and overflow, always 0 since the
 * waiter list it counted is gone). */
struct attr_cpu {
	__u64 seg_start_ns; /* the open segment began here */
	__u64 vcpu_wait_ns; /* vCPU-ns spent waiting on this CPU */
	__u64 overflow;
	__u64 cur_tracked_task; /* last tracked task switched in, address */
	__u32 cur_tracked_pid; /* and its tid: together they identify it */
	__u32 cur_group; /* its group */
	__u32 count; /* vCPUs waiting here */
	__u32 cur_slot; /* culprit slot of the open segment */
	__u32 cur_kind; /* culprit of the open segment */
	__u32 watched; /* entries of watches in use */
	__u64 cur_id;
	__u64 cur_cset; /* css_set address cur_id was read from, or 0 */
	__u64 busy_since_ns; /* count last went from 0 to 1 */
	struct attr_culprit_slot culprits[ATTR_CPU_CULPRITS];
	struct attr_watches watches;
};
_Static_assert(sizeof(struct attr_culprit_slot) == 32,
	       "attr_culprit_slot layout is ABI");
_Static_assert(sizeof(struct attr_cpu) ==
		       80 + 32 * ATTR_CPU_CULPRITS + 24 * ATTR_MAX_WATCHED,
	       "attr_cpu layout is ABI");

#endif
