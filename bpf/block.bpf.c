// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Block-layer accounting: each request is followed from its creation or
 * insert to its issue and completion, and its queue wait, device time and
 * bytes are added to its owner's counters on its device. Whose request it
 * is, and which guest that owner belongs to, the agent decides; this side
 * only records the blk-cgroup the kernel charged and, for watched
 * processes, the submitting tgid.
 *
 * Counts, per (owner, device): requests, bytes, queue wait and device time
 * by operation, and the wait charged to the owners whose requests went
 * first (blocked_behind). Errors in block_errors.
 *
 * Locks: none. A request's way in `requests` is claimed with a
 * compare-and-swap; owners' counters are per CPU; blocked_behind adds are
 * atomic; a device's ring of recent issues is racy by design (two CPUs
 * issuing at once may misname one culprit once) and says so where it is
 * written.
 *
 * Never: sleeps, allocates per request (the request table is a
 * preallocated array), reads a request's data, or decides whose request
 * belongs to which guest.
 */
#include "common.bpf.h"
#include "block.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* One request in flight. */
struct request_state {
	struct block_owner_key owner;
	__u64 queued_ns; /* creation (the kernel's start_time_ns) or insert */
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
	/* The owner of the last issue and how many issues in a row were its
	 * (saturating at the ring's size): once the run covers the ring, a
	 * request of that owner waited behind its own requests only and
	 * nothing is charged, without a walk. */
	__u64 run_cgroup_id;
	__u32 run_tgid;
	__u32 run_issues;
	struct recent_issue recent[BLOCK_RECENT_ISSUES];
};

/*
 * Requests in flight, by their struct request address, in a
 * set-associative table: an array of sets of REQUEST_WAYS, each set's
 * tags (0: free) in one 64-byte cache line. A request claims a
 * free way with a compare-and-swap and frees it by clearing the tag: no
 * lock and no allocation, where a hash map's insert and delete took a
 * bucket lock with interrupts off and cost ~170 ns a request here (a
 * BPF_PROG_TEST_RUN of one insert and one delete). A request whose set is
 * full goes unmeasured and is counted (BLOCK_ERR_REQUESTS_FULL).
 */
#define REQUEST_WAYS 8
#define REQUEST_SETS (BLOCK_MAX_REQUESTS / REQUEST_WAYS)

struct request_set {
	__u64 tag[REQUEST_WAYS];
	struct request_state state[REQUEST_WAYS];
};
_Static_assert(sizeof(((struct request_set *)0)->tag) == 64,
	       "a set's tags fill one cache line");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, REQUEST_SETS);
	__type(key, __u32);
	__type(value, struct request_set);
} requests SEC(".maps");

/* A request's name in the table. The verifier forbids arithmetic on a
 * pointer, which the hash below needs, but lets a privileged program
 * subtract two pointers into a number: the request's distance from a
 * fixed address (this map's) names it as well as its address does. */
static __always_inline __u64 request_key(struct request *rq)
{
	return (__u64)rq - (__u64)(void *)&requests;
}

/* Request structs lie in arrays a few hundred bytes apart: a
 * multiplicative hash spreads them over the sets. */
static __always_inline struct request_set *request_set_of(__u64 key)
{
	__u32 index = (__u32)(((key >> 6) * 0x9E3779B97F4A7C15ULL) >> 40) &
		      (REQUEST_SETS - 1);

	return bpf_map_lookup_elem(&requests, &index);
}

/* The way of `set` holding request `key`, or REQUEST_WAYS. */
static __always_inline __u32 request_way(const struct request_set *set,
					 __u64 key)
{
	__u32 way;

	for (way = 0; way < REQUEST_WAYS; way++)
		if (set->tag[way] == key)
			break;
	return way;
}

/* The state of request `key` when tracked, else NULL; *set_out and
 * *way_out say where, for request_forget(). */
static __always_inline struct request_state *
request_find(__u64 key, struct request_set **set_out, __u32 *way_out)
{
	struct request_set *set = request_set_of(key);
	__u32 way;

	if (!set)
		return NULL;
	way = request_way(set, key);
	if (way >= REQUEST_WAYS)
		return NULL;
	*set_out = set;
	*way_out = way;
	return &set->state[way];
}

/* Frees the way once nothing more is read from its state. */
static __always_inline void request_forget(struct request_set *set, __u32 way)
{
	if (way < REQUEST_WAYS)
		set->tag[way] = 0;
}

/* A free way of the request's set, claimed for it, or NULL (full). */
static __always_inline struct request_state *request_claim(__u64 key)
{
	struct request_set *set = request_set_of(key);
	__u32 way;

	if (!set)
		return NULL;
	for (way = 0; way < REQUEST_WAYS; way++) {
		if (set->tag[way])
			continue;
		/* Another CPU claiming the same way for another request
		 * wins or loses here, never both. */
		if (__sync_val_compare_and_swap(&set->tag[way], 0, key) == 0)
			return &set->state[way];
	}
	return NULL;
}

/* Per CPU: a request is issued on one CPU and completes on another, and
 * shared counters bounced between them at every step, each add an atomic.
 * Plain adds are safe because a completion that interrupts an issue on the
 * same CPU (an interrupt) touches other fields, `retired` aside, which an
 * issue touches only for a lost request. Not preallocated: an entry is
 * 640 bytes per possible CPU, and hosts have few owners. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, BLOCK_MAX_OWNERS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
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
	percpu_counter_add(&block_errors, which, 1);
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
	/* NOEXIST: a racing creator on another CPU keeps its entry. The
	 * kernel zeroes the other CPUs' copies of a new entry. */
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
		stats->retired += 1;
}

/* The state of a request seen for the first time, or again after its
 * struct was reused before we saw it end: issued and never completed as
 * far as we saw, or, at a request's creation (`restart`), any state left
 * behind. A request still queued keeps its state (and start) otherwise.
 * NULL when the request goes unmeasured. */
static __always_inline struct request_state *
track(struct request *rq, __u64 queued_ns, bool restart)
{
	__u64 key = request_key(rq);
	struct request_state *state;
	struct request_set *set;
	__u32 way;

	state = request_find(key, &set, &way);
	if (state) {
		if (!state->issued_ns && !restart)
			return state; /* still queued: keep its start */
		count_error(BLOCK_ERR_LOST);
		retire_issued(state);
	} else {
		state = request_claim(key);
		if (!state) {
			count_error(BLOCK_ERR_REQUESTS_FULL);
			return NULL;
		}
	}
	state->owner.cgroup_id = request_cgroup_id(rq);
	state->owner.tgid = current_watched_tgid();
	state->owner.dev = request_dev(rq);
	state->queued_ns = queued_ns;
	state->issued_ns = 0;
	state->op = block_op_of(rq->cmd_flags);
	return state;
}

static __always_inline void add_hist(__u64 *hist, __u64 ns)
{
	__u32 slot = sched_wait_slot(ns);

	if (slot < BLOCK_HIST_SLOTS)
		hist[slot] += 1;
}

/* This CPU's maximum; the agent takes the largest of the CPUs'. */
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

static __always_inline bool same_owner(const struct block_owner_key *owner,
				       __u64 cgroup_id, __u32 tgid)
{
	return owner->cgroup_id == cgroup_id && owner->tgid == tgid;
}

/* One walk over a device's ring for a request of `owner` that waited
 * from queued_ns to now_ns: the issues in that window (`ahead`), and the
 * other owners' among them as runs of one culprit, each a ring position
 * of its first issue and the run's length. Consecutive issues of one
 * culprit are merged so they cost one map update. */
struct charge_walk {
	struct device_state *device;
	const struct block_owner_key *owner;
	__u64 queued_ns;
	__u64 now_ns;
	__u64 share_ns;
	__u32 ahead;
	__u32 runs;
	__u32 last; /* ring position of the last run's first issue */
	__u8 first[BLOCK_RECENT_ISSUES];
	__u8 issues[BLOCK_RECENT_ISSUES];
};

/* bpf_loop bodies are verified once rather than once per iteration. */
static long gather_issue(__u32 index, void *ctx)
{
	struct charge_walk *walk = ctx;
	struct recent_issue *seen, *last;
	__u32 position = index & (BLOCK_RECENT_ISSUES - 1), run;

	seen = &walk->device->recent[position];
	if (seen->issued_ns <= walk->queued_ns ||
	    seen->issued_ns > walk->now_ns)
		return 0;
	walk->ahead++;
	if (same_owner(walk->owner, seen->cgroup_id, seen->tgid))
		return 0;
	if (walk->runs) {
		last = &walk->device->recent[walk->last &
					     (BLOCK_RECENT_ISSUES - 1)];
		if (last->cgroup_id == seen->cgroup_id &&
		    last->tgid == seen->tgid) {
			walk->issues[(walk->runs - 1) &
				     (BLOCK_RECENT_ISSUES - 1)]++;
			return 0;
		}
	}
	run = walk->runs & (BLOCK_RECENT_ISSUES - 1);
	walk->first[run] = position;
	walk->issues[run] = 1;
	walk->last = position;
	walk->runs++;
	return 0;
}

static long charge_run(__u32 index, void *ctx)
{
	struct charge_walk *walk = ctx;
	__u32 run = index & (BLOCK_RECENT_ISSUES - 1);
	struct recent_issue *culprit;

	culprit = &walk->device->recent[walk->first[run] &
					(BLOCK_RECENT_ISSUES - 1)];
	charge_blocked(walk->owner, culprit, walk->share_ns * walk->issues[run]);
	return 0;
}

/*
 * A request of `owner` waited wait_ns until now. The requests the device's
 * queue issued meanwhile went ahead of it, and each takes an equal share of
 * the wait: the shares of the owner's own requests are nobody else's
 * fault. The window is the device's last BLOCK_RECENT_ISSUES issues, a
 * sample when more went ahead. One pass over the ring counts the issues in
 * the window and gathers the other owners' runs; a second charges each run
 * (a map update each, rarely more than one or two). While one owner has
 * the device to itself there is no walk at all. Then this issue joins the
 * ring.
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
	bool own_run;

	device = bpf_map_lookup_elem(&devices, &dev);
	if (!device) {
		bpf_map_update_elem(&devices, &dev, &empty, BPF_NOEXIST);
		device = bpf_map_lookup_elem(&devices, &dev);
		if (!device) {
			count_error(BLOCK_ERR_DEVICES_FULL);
			return;
		}
	}
	own_run = same_owner(owner, device->run_cgroup_id, device->run_tgid);
	if (wait_ns && !(own_run && device->run_issues >= BLOCK_RECENT_ISSUES)) {
		walk.device = device;
		bpf_loop(BLOCK_RECENT_ISSUES, gather_issue, &walk, 0);
		if (walk.runs) {
			walk.share_ns = wait_ns / walk.ahead;
			bpf_loop(walk.runs, charge_run, &walk, 0);
		}
	}
	/* Racy, like the ring: two CPUs issuing at once may leave the run
	 * one short or name the wrong owner once, which only sends the next
	 * issues through the walk. */
	if (own_run) {
		if (device->run_issues < BLOCK_RECENT_ISSUES)
			device->run_issues++;
	} else {
		device->run_cgroup_id = owner->cgroup_id;
		device->run_tgid = owner->tgid;
		device->run_issues = 1;
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
 * the earliest point to see who submitted it, and where the queue wait
 * starts. Not from the kernel's rq->start_time_ns, although it would spare
 * a clock read: it can be a plug's cached time, and on QEMU's requests
 * here it was stale by about 170 ms (a guest writing alone showed a mean
 * queue wait of 172 ms with it, 4.6 us with the clock). */
SEC("tp_btf/block_io_start")
int BPF_PROG(block_start, struct request *rq)
{
	track(rq, bpf_ktime_get_ns(), true);
	return 0;
}

/* Only on kernels without block_io_start (the loader leaves it out
 * otherwise): the insert into the scheduler queue is then the first sight
 * of a request. With block_io_start the wait already counts from creation,
 * and a program here cost another ~80 ns a request for nothing. */
SEC("tp_btf/block_rq_insert")
int BPF_PROG(block_insert, struct request *rq)
{
	__u64 now_ns = bpf_ktime_get_ns();
	struct request_state *state = track(rq, now_ns, false);

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
	struct request_set *set;
	__u32 way;

	state = request_find(request_key(rq), &set, &way);
	if (!state || state->issued_ns) {
		/* Issued straight away (no scheduler insert, on a kernel
		 * without block_io_start): the kernel's own creation time is
		 * the queue start when it keeps one. */
		start_ns = rq->start_time_ns;
		if (!start_ns || start_ns > now_ns)
			start_ns = now_ns;
		state = track(rq, start_ns, false);
		if (!state)
			return 0;
		state->queued_ns = start_ns;
	}
	state->issued_ns = now_ns;
	queue_ns = now_ns >= state->queued_ns ? now_ns - state->queued_ns : 0;
	stats = owner_stats_of(&state->owner);
	if (stats) {
		stats->issued += 1;
		stats->queue_ns += queue_ns;
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
	struct request_set *set;
	__u32 op, way;
	bool last;

	state = request_find(request_key(rq), &set, &way);
	if (!state || !state->issued_ns) {
		/* Ended before it was issued (failed early), or began before
		 * the programs were loaded: nothing to measure, nothing kept. */
		if (state)
			request_forget(set, way);
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
		stats->bytes[op] += nr_bytes;
		if (last) {
			device_ns = now_ns - state->issued_ns;
			stats->ops[op] += 1;
			stats->device_ns += device_ns;
			stats->retired += 1;
			add_hist(stats->device_hist, device_ns);
			raise_max(&stats->device_max_ns, device_ns);
		}
	}
	/* Last: nothing reads the state after this. */
	if (last)
		request_forget(set, way);
	return 0;
}

/* Back to the queue (a busy driver): it waits again from now. */
SEC("tp_btf/block_rq_requeue")
int BPF_PROG(block_requeue, struct request *rq)
{
	struct request_state *state;
	struct request_set *set;
	__u32 way;

	state = request_find(request_key(rq), &set, &way);
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
	struct request_set *set;
	__u32 way;

	if (request_find(request_key(rq), &set, &way)) {
		request_forget(set, way);
		count_error(BLOCK_ERR_MERGED);
	}
	return 0;
}
