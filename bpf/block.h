/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The contract between bpf/block.bpf.c and the agent for block-layer I/O:
 * per (owner, device) counters, "blocked-behind" time per pair of owners,
 * and error counters. Only fixed-size types; layouts are pinned. It owns no
 * logic beyond helpers both sides must compute identically.
 */
#ifndef KVMWARDEN_BPF_BLOCK_H
#define KVMWARDEN_BPF_BLOCK_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "sched.h" /* sched_wait_slot(): one histogram layout everywhere */

/* (owner, device) pairs. An owner is a blk-cgroup plus, for processes the
 * agent registered (guests), the tgid; everything else has tgid 0, so the
 * map grows with cgroups x devices, not with processes. */
#define BLOCK_MAX_OWNERS 4096
/* Requests in flight, in sets of 8 by a hash of their address. A request
 * struct is preallocated per tag and reused, so a lost completion is found
 * (and counted) when its pointer comes back: stale entries cannot pile up
 * past the tags of all devices. */
#define BLOCK_MAX_REQUESTS 16384
#define BLOCK_MAX_BLOCKED 8192
#define BLOCK_MAX_DEVICES 256
#define BLOCK_MAX_WATCHED 4096
/* Issues remembered per device, to see who went ahead of a waiting request. */
#define BLOCK_RECENT_ISSUES 16 /* a power of two */

#define BLOCK_HIST_SLOTS SCHED_WAIT_SLOTS

enum block_op {
	BLOCK_OP_READ = 0,
	BLOCK_OP_WRITE = 1,
	BLOCK_OP_OTHER = 2, /* flush, discard, write-zeroes, ... */
	BLOCK_OP_COUNT = 3,
};

/* The kernel's dev_t layout (MKDEV), which /sys/dev/block names too. */
static inline __u32 block_dev_make(__u32 major, __u32 minor)
{
	return (major << 20) | (minor & 0xfffff);
}

static inline __u32 block_dev_major(__u32 dev)
{
	return dev >> 20;
}

static inline __u32 block_dev_minor(__u32 dev)
{
	return dev & 0xfffff;
}

/* REQ_OP_READ is 0, REQ_OP_WRITE 1 in every kernel; the op is the low 8
 * bits of cmd_flags (REQ_OP_BITS). */
static inline __u32 block_op_of(__u32 cmd_flags)
{
	__u32 op = cmd_flags & 0xff;

	return op == 0 ? BLOCK_OP_READ :
	       op == 1 ? BLOCK_OP_WRITE :
			 BLOCK_OP_OTHER;
}

struct block_owner_key {
	__u64 cgroup_id; /* kernfs id of the blkcg charged; 0: none */
	__u32 tgid; /* submitter, when registered as watched; else 0 */
	__u32 dev; /* block_dev_make() of the whole disk */
};
_Static_assert(sizeof(struct block_owner_key) == 16,
	       "block_owner_key layout is ABI");

/* Cumulative, one copy per CPU (a per-CPU map): BPF adds with plain
 * stores, the agent sums the CPUs' copies, maxima excepted, which it takes
 * the largest of (io_owner_stats_fold). A request issued on one CPU may
 * retire on another, so only the sums mean anything: in flight =
 * sum(issued) - sum(retired). */
struct block_owner_stats {
	__u64 ops[BLOCK_OP_COUNT]; /* completed requests */
	__u64 bytes[BLOCK_OP_COUNT]; /* completed bytes */
	__u64 queue_ns; /* creation (before 6.5: insert) to issue, summed */
	__u64 device_ns; /* issue to completion, summed */
	__u64 queue_max_ns;
	__u64 device_max_ns;
	__u64 issued; /* requests handed to the driver */
	__u64 retired; /* issued ones completed, requeued or lost */
	__u64 queue_hist[BLOCK_HIST_SLOTS];
	__u64 device_hist[BLOCK_HIST_SLOTS];
	__u64 _pad[2];
};
_Static_assert(sizeof(struct block_owner_stats) == 8 * 80,
	       "block_owner_stats layout is ABI");

/* How long `victim` requests waited in the queue of `dev` while `culprit`
 * requests were issued ahead of them. Value: __u64 ns, cumulative. */
struct block_blocked_key {
	__u64 victim_cgroup_id;
	__u64 culprit_cgroup_id;
	__u32 victim_tgid;
	__u32 culprit_tgid;
	__u32 dev;
	__u32 _pad;
};
_Static_assert(sizeof(struct block_blocked_key) == 32,
	       "block_blocked_key layout is ABI");

/* Per-CPU counters, exported as they are. Merges and requeues are normal
 * events, counted here because each ends or resets a request's state. */
enum block_error {
	BLOCK_ERR_REQUESTS_FULL = 0, /* request map full: request unmeasured */
	BLOCK_ERR_OWNERS_FULL = 1, /* owner map full: figures lost */
	BLOCK_ERR_BLOCKED_FULL = 2, /* blocked-behind map full */
	BLOCK_ERR_DEVICES_FULL = 3, /* device map full: no blocked-behind */
	BLOCK_ERR_MERGED = 4, /* request merged into another: state dropped */
	BLOCK_ERR_REQUEUED = 5, /* issued request sent back to the queue */
	BLOCK_ERR_LOST = 6, /* request struct reused before its completion */
	BLOCK_ERR_UNMATCHED = 7, /* completion of a request never seen */
	BLOCK_ERR_COUNT = 8,
};

#endif
