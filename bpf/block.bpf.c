// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Block-layer accounting: each request is followed from its creation or
 * insert to its issue and completion, and its queue wait, device time and
 * bytes are added to its owner's counters on its device. Whose request it
 * is, and which guest that owner belongs to, the agent decides; this side
 * only records the blk-cgroup the kernel charged and, for watched
 * processes, the submitting tgid.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "block.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define PF_KTHREAD 0x00200000

/* One request in flight, keyed by its struct request address. */
struct request_state {
	struct block_owner_key owner;
	__u64 queued_ns; /* insert, else the kernel's start_time_ns */
	__u64 issued_ns; /* 0 while in the queue */
	__u32 op; /* enum block_op */
	__u32 _pad;
};

/* The last issues on one device: who went ahead of a waiting request. */
struct recent_issue {
	__u64 cgroup_id;
	__u32 tgid;
	__u32 _pad;
	__u64 issued_ns;
};

struct device_state {
	__u64 issues; /* ever; the ring position is issues % size */
	struct recent_issue recent[BLOCK_RECENT_ISSUES];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BLOCK_MAX_REQUESTS);
	__type(key, __u64);
	__type(value, struct request_state);
} requests SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BLOCK_MAX_OWNERS);
	__type(key, struct block_owner_key);
	__type(value, struct block_owner_stats);
} owner_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BLOCK_MAX_BLOCKED);
	__type(key, struct block_blocked_key);
	__type(value, __u64);
} blocked_behind SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BLOCK_MAX_DEVICES);
	__type(key, __u32);
	__type(value, struct device_state);
} devices SEC(".maps");

/* tgids the agent wants told apart (guests' VMM processes); value unused. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BLOCK_MAX_WATCHED);
	__type(key, __u32);
	__type(value, __u32);
} watched_tgids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BLOCK_ERR_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} block_errors SEC(".maps");

static __always_inline void count_error(__u32 which)
{
	__u64 *count = bpf_map_lookup_elem(&block_errors, &which);

	if (count)
		*count += 1;
}

/* The blk-cgroup the kernel charges: the first bio's blkg. On cgroup v1
 * that is the blkio hierarchy's cgroup, on v2 the unified one. Requests
 * without a bio (flushes) have no owner cgroup. */
static __always_inline __u64 request_cgroup_id(struct request *rq)
{
	struct bio *bio = BPF_CORE_READ(rq, bio);

	if (!bio || !bpf_core_field_exists(bio->bi_blkg))
		return 0;
	return BPF_CORE_READ(bio, bi_blkg, blkcg, css.cgroup, kn, id);
}

static __always_inline __u32 request_dev(struct request *rq)
{
	struct gendisk *disk = BPF_CORE_READ(rq, q, disk);

	if (!disk)
		return 0;
	return block_dev_make((__u32)BPF_CORE_READ(disk, major),
			      (__u32)BPF_CORE_READ(disk, first_minor));
}

/* The submitter, when it is a watched process. Worker threads of the VMM
 * (thread pool, io_uring workers) share its tgid; kernel threads never
 * count as submitters. */
static __always_inline __u32 current_watched_tgid(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 tgid;

	if (task->flags & PF_KTHREAD)
		return 0;
	tgid = bpf_get_current_pid_tgid() >> 32;
	return bpf_map_lookup_elem(&watched_tgids, &tgid) ? tgid : 0;
}

static __always_inline struct block_owner_stats *
owner_stats_of(const struct block_owner_key *owner)
{
	static const struct block_owner_stats zero;
	struct block_owner_stats *stats;

	stats = bpf_map_lookup_elem(&owner_stats, owner);
	if (stats)
		return stats;
	/* NOEXIST: a racing creator on another CPU keeps its entry. */
	if (bpf_map_update_elem(&owner_stats, owner, &zero, BPF_NOEXIST) &&
	    !bpf_map_lookup_elem(&owner_stats, owner)) {
		count_error(BLOCK_ERR_OWNERS_FULL);
		return NULL;
	}
	return bpf_map_lookup_elem(&owner_stats, owner);
}

/* An issued request leaves the device's count without completing. */
static __always_inline void retire_issued(const struct request_state *state)
{
	struct block_owner_stats *stats;

	if (!state->issued_ns)
		return;
	stats = owner_stats_of(&state->owner);
	if (stats)
		__sync_fetch_and_add(&stats->retired, 1);
}

/* State for a request seen for the first time (or again after its struct
 * was reused: the earlier request never completed as far as we saw). */
static __always_inline struct request_state *track(struct request *rq,
						   __u64 queued_ns)
{
	__u64 key = (__u64)rq;
	struct request_state fresh = {}, *state;

	state = bpf_map_lookup_elem(&requests, &key);
	if (state) {
		if (!state->issued_ns)
			return state; /* still queued: keep its start */
		count_error(BLOCK_ERR_LOST);
		retire_issued(state);
	}
	fresh.owner.cgroup_id = request_cgroup_id(rq);
	fresh.owner.tgid = current_watched_tgid();
	fresh.owner.dev = request_dev(rq);
	fresh.queued_ns = queued_ns;
	fresh.op = block_op_of(BPF_CORE_READ(rq, cmd_flags));
	if (bpf_map_update_elem(&requests, &key, &fresh, BPF_ANY)) {
		count_error(BLOCK_ERR_REQUESTS_FULL);
		return NULL;
	}
	return bpf_map_lookup_elem(&requests, &key);
}

static __always_inline void add_hist(__u64 *hist, __u64 ns)
{
	__u32 slot = sched_wait_slot(ns);

	if (slot < BLOCK_HIST_SLOTS)
		__sync_fetch_and_add(&hist[slot], 1);
}

/* Racy maximum: a lost race loses one maximum, never corrupts a sum. */
static __always_inline void raise_max(__u64 *max, __u64 ns)
{
	if (ns > *max)
		*max = ns;
}

struct culprit_tally {
	__u64 cgroup_id;
	__u32 tgid;
	__u32 issues;
};

static __always_inline void charge_blocked(const struct block_owner_key *victim,
					   const struct culprit_tally *culprit,
					   __u64 ns)
{
	struct block_blocked_key key = {
		.victim_cgroup_id = victim->cgroup_id,
		.culprit_cgroup_id = culprit->cgroup_id,
		.victim_tgid = victim->tgid,
		.culprit_tgid = culprit->tgid,
		.dev = victim->dev,
	};
	__u64 zero = 0, *total;

	total = bpf_map_lookup_elem(&blocked_behind, &key);
	if (!total) {
		bpf_map_update_elem(&blocked_behind, &key, &zero, BPF_NOEXIST);
		total = bpf_map_lookup_elem(&blocked_behind, &key);
		if (!total) {
			count_error(BLOCK_ERR_BLOCKED_FULL);
			return;
		}
	}
	__sync_fetch_and_add(total, ns);
}

/*
 * A request of `owner` waited wait_ns until now. The requests the device's
 * queue issued meanwhile went ahead of it; the wait is split between their
 * owners in proportion to how many each had, and the share of the owner's
 * own requests is nobody else's fault. The window is the device's last
 * BLOCK_RECENT_ISSUES issues, a sample when more went ahead. Then this
 * issue joins the ring.
 */
static __always_inline void account_issue(const struct block_owner_key *owner,
					  __u64 queued_ns, __u64 now_ns)
{
	static const struct device_state empty;
	struct culprit_tally culprits[BLOCK_CULPRITS_PER_WAIT] = {};
	__u32 dev = owner->dev, ahead = 0, untracked = 0;
	struct device_state *device;
	__u64 wait_ns = now_ns - queued_ns, position;

	device = bpf_map_lookup_elem(&devices, &dev);
	if (!device) {
		bpf_map_update_elem(&devices, &dev, &empty, BPF_NOEXIST);
		device = bpf_map_lookup_elem(&devices, &dev);
		if (!device) {
			count_error(BLOCK_ERR_DEVICES_FULL);
			return;
		}
	}
	for (__u32 i = 0; i < BLOCK_RECENT_ISSUES && wait_ns; i++) {
		struct recent_issue *seen = &device->recent[i];
		bool placed = false;

		if (seen->issued_ns <= queued_ns || seen->issued_ns > now_ns)
			continue;
		ahead++;
		if (seen->cgroup_id == owner->cgroup_id &&
		    seen->tgid == owner->tgid)
			continue;
		for (__u32 c = 0; c < BLOCK_CULPRITS_PER_WAIT; c++) {
			struct culprit_tally *tally = &culprits[c];

			if (!tally->issues) {
				tally->cgroup_id = seen->cgroup_id;
				tally->tgid = seen->tgid;
			} else if (tally->cgroup_id != seen->cgroup_id ||
				   tally->tgid != seen->tgid) {
				continue;
			}
			tally->issues++;
			placed = true;
			break;
		}
		if (!placed)
			untracked++;
	}
	if (untracked)
		count_error(BLOCK_ERR_CULPRITS);
	for (__u32 c = 0; c < BLOCK_CULPRITS_PER_WAIT && ahead; c++) {
		if (culprits[c].issues)
			charge_blocked(owner, &culprits[c],
				       wait_ns * culprits[c].issues / ahead);
	}
	/* Two CPUs issuing at once take different positions; a reader may see
	 * a half-written entry, which at worst names a wrong culprit once. */
	position = __sync_fetch_and_add(&device->issues, 1);
	position %= BLOCK_RECENT_ISSUES;
	device->recent[position].cgroup_id = owner->cgroup_id;
	device->recent[position].tgid = owner->tgid;
	device->recent[position].issued_ns = now_ns;
}

/* Request creation (6.5+: block_io_start, in the submitter's context):
 * the earliest point to see who submitted it. */
SEC("tp_btf/block_io_start")
int BPF_PROG(block_start, struct request *rq)
{
	track(rq, bpf_ktime_get_ns());
	return 0;
}

SEC("tp_btf/block_rq_insert")
int BPF_PROG(block_insert, struct request *rq)
{
	struct request_state *state = track(rq, bpf_ktime_get_ns());

	/* Queue wait counts from the insert into the scheduler queue. */
	if (state)
		state->queued_ns = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(block_issue, struct request *rq)
{
	__u64 now_ns = bpf_ktime_get_ns(), start_ns, queue_ns;
	struct block_owner_stats *stats;
	struct request_state *state;
	__u64 key = (__u64)rq;

	state = bpf_map_lookup_elem(&requests, &key);
	if (!state || state->issued_ns) {
		/* Issued straight away (no scheduler insert, on a kernel
		 * without block_io_start): the kernel's own creation time is
		 * the queue start when it keeps one. */
		start_ns = BPF_CORE_READ(rq, start_time_ns);
		if (!start_ns || start_ns > now_ns)
			start_ns = now_ns;
		state = track(rq, start_ns);
		if (!state)
			return 0;
		state->queued_ns = start_ns;
	}
	state->issued_ns = now_ns;
	queue_ns = now_ns >= state->queued_ns ? now_ns - state->queued_ns : 0;
	stats = owner_stats_of(&state->owner);
	if (stats) {
		__sync_fetch_and_add(&stats->issued, 1);
		__sync_fetch_and_add(&stats->queue_ns, queue_ns);
		add_hist(stats->queue_hist, queue_ns);
		raise_max(&stats->queue_max_ns, queue_ns);
	}
	account_issue(&state->owner, now_ns - queue_ns, now_ns);
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(block_complete, struct request *rq, blk_status_t error,
	     unsigned int nr_bytes)
{
	__u64 now_ns = bpf_ktime_get_ns(), device_ns;
	struct block_owner_stats *stats;
	struct request_state *state;
	__u64 key = (__u64)rq;
	bool last;

	state = bpf_map_lookup_elem(&requests, &key);
	if (!state || !state->issued_ns) {
		count_error(BLOCK_ERR_UNMATCHED);
		return 0;
	}
	/* Traced before __data_len shrinks: a partial completion (SCSI)
	 * leaves the rest in flight. */
	last = nr_bytes >= BPF_CORE_READ(rq, __data_len);
	stats = owner_stats_of(&state->owner);
	if (stats) {
		__sync_fetch_and_add(&stats->bytes[state->op % BLOCK_OP_COUNT],
				     nr_bytes);
		if (last) {
			device_ns = now_ns - state->issued_ns;
			__sync_fetch_and_add(
				&stats->ops[state->op % BLOCK_OP_COUNT], 1);
			__sync_fetch_and_add(&stats->device_ns, device_ns);
			__sync_fetch_and_add(&stats->retired, 1);
			add_hist(stats->device_hist, device_ns);
			raise_max(&stats->device_max_ns, device_ns);
		}
	}
	if (last)
		bpf_map_delete_elem(&requests, &key);
	return 0;
}

/* Back to the queue (a busy driver): it waits again from now. */
SEC("tp_btf/block_rq_requeue")
int BPF_PROG(block_requeue, struct request *rq)
{
	struct request_state *state;
	__u64 key = (__u64)rq;

	state = bpf_map_lookup_elem(&requests, &key);
	if (!state)
		return 0;
	count_error(BLOCK_ERR_REQUEUED);
	retire_issued(state);
	state->issued_ns = 0;
	state->queued_ns = bpf_ktime_get_ns();
	return 0;
}

/* Merged into another request and freed without completing: its bytes
 * complete as part of the one it joined. */
SEC("tp_btf/block_rq_merge")
int BPF_PROG(block_merge, struct request *rq)
{
	__u64 key = (__u64)rq;

	if (bpf_map_delete_elem(&requests, &key) == 0)
		count_error(BLOCK_ERR_MERGED);
	return 0;
}
