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
 * without a bio (flushes) have no owner cgroup. tp_btf hands over BTF
 * pointers, so these are plain loads (a NULL on the way reads as 0), not
 * bpf_probe_read calls: measured, the probe-read chain made block_io_start
 * cost about 740 ns a run. */
static __always_inline __u64 request_cgroup_id(struct request *rq)
{
	struct blkcg_gq *blkg;
	struct bio *bio = rq->bio;

	if (!bio || !bpf_core_field_exists(bio->bi_blkg))
		return 0;
	blkg = bio->bi_blkg;
	if (!blkg)
		return 0;
	return blkg->blkcg->css.cgroup->kn->id;
}

static __always_inline __u32 request_dev(struct request *rq)
{
	struct gendisk *disk = rq->q->disk;

	if (!disk)
		return 0;
	return block_dev_make((__u32)disk->major, (__u32)disk->first_minor);
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

/* State for a request seen for the first time, or again after its struct
 * was reused before we saw it end: issued and never completed as far as we
 * saw, or, at a request's creation (`restart`), any entry left behind.
 * One NOEXIST update in the common case: block_io_start runs for every
 * request, and each extra hash operation there costs ~100 ns a request.
 * Returns 0, or -1 when the request goes unmeasured. */
static __always_inline int track(struct request *rq, __u64 queued_ns,
				 bool restart)
{
	__u64 key = (__u64)rq;
	struct request_state fresh = {}, *state;

	fresh.owner.cgroup_id = request_cgroup_id(rq);
	fresh.owner.tgid = current_watched_tgid();
	fresh.owner.dev = request_dev(rq);
	fresh.queued_ns = queued_ns;
	fresh.op = block_op_of(rq->cmd_flags);
	if (bpf_map_update_elem(&requests, &key, &fresh, BPF_NOEXIST) == 0)
		return 0;
	state = bpf_map_lookup_elem(&requests, &key);
	if (!state) {
		count_error(BLOCK_ERR_REQUESTS_FULL);
		return -1;
	}
	if (!state->issued_ns && !restart)
		return 0; /* still queued: keep its start */
	count_error(BLOCK_ERR_LOST);
	retire_issued(state);
	if (bpf_map_update_elem(&requests, &key, &fresh, BPF_ANY)) {
		count_error(BLOCK_ERR_REQUESTS_FULL);
		return -1;
	}
	return 0;
}

/* The state of a request that is (now) tracked, or NULL. */
static __always_inline struct request_state *tracked(struct request *rq,
						     __u64 queued_ns)
{
	__u64 key = (__u64)rq;
	struct request_state *state = bpf_map_lookup_elem(&requests, &key);

	if (state && !state->issued_ns)
		return state;
	if (track(rq, queued_ns, false))
		return NULL;
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

static __always_inline void charge_blocked(const struct block_owner_key *victim,
					   const struct recent_issue *culprit,
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

struct charge_walk {
	struct device_state *device;
	const struct block_owner_key *owner;
	__u64 queued_ns;
	__u64 now_ns;
	__u64 share_ns;
	__u64 ahead; /* issues in the window, the owner's own included */
};

static __always_inline bool in_window(const struct charge_walk *walk,
				      const struct recent_issue *seen)
{
	return seen->issued_ns > walk->queued_ns &&
	       seen->issued_ns <= walk->now_ns;
}

/* bpf_loop bodies are verified once rather than once per iteration. */
static long count_ahead(__u32 index, void *ctx)
{
	struct charge_walk *walk = ctx;

	walk->ahead += in_window(
		walk, &walk->device->recent[index & (BLOCK_RECENT_ISSUES - 1)]);
	return 0;
}

static long charge_one(__u32 index, void *ctx)
{
	struct charge_walk *walk = ctx;
	struct recent_issue *seen;

	seen = &walk->device->recent[index & (BLOCK_RECENT_ISSUES - 1)];
	if (!in_window(walk, seen))
		return 0;
	if (seen->cgroup_id == walk->owner->cgroup_id &&
	    seen->tgid == walk->owner->tgid)
		return 0;
	charge_blocked(walk->owner, seen, walk->share_ns);
	return 0;
}

/*
 * A request of `owner` waited wait_ns until now. The requests the device's
 * queue issued meanwhile went ahead of it, and each takes an equal share of
 * the wait: the shares of the owner's own requests are nobody else's
 * fault. The window is the device's last BLOCK_RECENT_ISSUES issues, a
 * sample when more went ahead. A share is charged per issue, without
 * merging owners first: at most BLOCK_RECENT_ISSUES map updates, and a
 * verifier-friendly loop. Then this issue joins the ring.
 */
static __always_inline void account_issue(const struct block_owner_key *owner,
					  __u64 queued_ns, __u64 now_ns)
{
	static const struct device_state empty;
	__u64 wait_ns = now_ns - queued_ns, position;
	struct charge_walk walk = { .owner = owner,
				    .queued_ns = queued_ns,
				    .now_ns = now_ns };
	struct device_state *device;
	__u32 dev = owner->dev;

	device = bpf_map_lookup_elem(&devices, &dev);
	if (!device) {
		bpf_map_update_elem(&devices, &dev, &empty, BPF_NOEXIST);
		device = bpf_map_lookup_elem(&devices, &dev);
		if (!device) {
			count_error(BLOCK_ERR_DEVICES_FULL);
			return;
		}
	}
	walk.device = device;
	bpf_loop(BLOCK_RECENT_ISSUES, count_ahead, &walk, 0);
	if (walk.ahead && wait_ns) {
		walk.share_ns = wait_ns / walk.ahead;
		bpf_loop(BLOCK_RECENT_ISSUES, charge_one, &walk, 0);
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
	track(rq, bpf_ktime_get_ns(), true);
	return 0;
}

SEC("tp_btf/block_rq_insert")
int BPF_PROG(block_insert, struct request *rq)
{
	__u64 now_ns = bpf_ktime_get_ns();
	struct request_state *state = tracked(rq, now_ns);

	/* Queue wait counts from the insert into the scheduler queue. */
	if (state)
		state->queued_ns = now_ns;
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
		start_ns = rq->start_time_ns;
		if (!start_ns || start_ns > now_ns)
			start_ns = now_ns;
		state = tracked(rq, start_ns);
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
	__u32 op;
	bool last;

	state = bpf_map_lookup_elem(&requests, &key);
	if (!state || !state->issued_ns) {
		/* Ended before it was issued (failed early), or began before
		 * the programs were loaded: nothing to measure, nothing kept. */
		if (state)
			bpf_map_delete_elem(&requests, &key);
		count_error(BLOCK_ERR_UNMATCHED);
		return 0;
	}
	/* Traced before __data_len shrinks: a partial completion (SCSI)
	 * leaves the rest in flight. */
	last = nr_bytes >= rq->__data_len;
	op = state->op;
	if (op >= BLOCK_OP_COUNT)
		op = BLOCK_OP_OTHER;
	stats = owner_stats_of(&state->owner);
	if (stats) {
		__sync_fetch_and_add(&stats->bytes[op], nr_bytes);
		if (last) {
			device_ns = now_ns - state->issued_ns;
			__sync_fetch_and_add(&stats->ops[op], 1);
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
