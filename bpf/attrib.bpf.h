/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Steal attribution, included by sched.bpf.c (it shares the task storage
 * and the one sched_switch program). Each CPU keeps the list of vCPUs
 * waiting on its runqueue and who runs there; every event on that CPU
 * closes a segment and charges its length to each waiter under the running
 * task's culprit. All writes to a CPU's entry happen under that CPU's
 * runqueue lock (switch, wakeup and queued-migration tracepoints all fire
 * with it held), so no atomics are needed on the list.
 */
#ifndef __bpf__
#error "BPF-only header"
#endif

#include "attrib.h"

_Static_assert((ATTR_MAX_WAITERS & (ATTR_MAX_WAITERS - 1)) == 0,
	       "waiter indices are masked");

#define PF_KTHREAD 0x00200000

/* Loops over the few parts of a wait are unrolled in full: Linux 6.1's
 * verifier rejects a loop whose back edge clang lays out as a fallthrough
 * ("back-edge from insn"), and unrolled there is no back edge at all. */

/* Masks an index in a way clang cannot drop: it proves plain masks
 * redundant after a bounds check, then indexes with an unmasked copy the
 * verifier rejects. `size` must be a power of two. */
#define BOUND_INDEX(index, size) \
	asm volatile("%[x] &= %[m]" : [x] "+r"(index) : [m] "i"((size)-1))

/* Whether culprit cgroups come from the v1 cpu hierarchy (hybrid and v1
 * hosts) or from the unified one; set by the agent before load. */
const volatile bool culprit_cgroup_v1 = false;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* sized to the possible CPUs before load */
	__type(key, __u32);
	__type(value, struct attr_cpu);
} attr_cpus SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ATTR_MAX_ENTRIES);
	__type(key, struct attr_key);
	__type(value, __u64);
} attribution SEC(".maps");

struct culprit {
	__u32 kind;
	__u64 id;
};

static __always_inline void count_error(__u32 which);
static __always_inline void count_error_by(__u32 which, __u64 amount);

/* The id of the cgroup `cset` charges CPU time to, on the hierarchy the
 * agent chose. */
static __always_inline __u64 cset_cgroup_id(struct css_set *cset)
{
	if (culprit_cgroup_v1)
		return cset->subsys[bpf_core_enum_value(enum cgroup_subsys_id,
							cpu_cgrp_id)]
			->cgroup->kn->id;
	return cset->dfl_cgrp->kn->id;
}

/* Who `task` is, as a culprit. `group` is its guest when it is tracked
 * (the caller knows: it looked up the task's storage or cached it). */
static __always_inline struct culprit culprit_of(struct task_struct *task,
						 __u32 group)
{
	struct culprit who = {};

	if (!task || task->pid == 0) {
		who.kind = ATTR_CULPRIT_IDLE;
	} else if (group) {
		who.kind = ATTR_CULPRIT_GUEST;
		who.id = group;
	} else if (task->flags & PF_KTHREAD) {
		who.kind = ATTR_CULPRIT_KERNEL;
	} else {
		who.kind = ATTR_CULPRIT_CGROUP;
		who.id = cset_cgroup_id(task->cgroups);
	}
	return who;
}

/*
 * The helpers below that loop over a wait's parts are global (non-static)
 * functions: the verifier checks each once, on its own, where an inlined
 * copy was checked again at every call site and inside every unrolled loop
 * around it. Inlined, handle_sched_switch took 505,807 instructions to
 * verify on 6.1 and more than the limit of 1,000,000 on one 6.18 build.
 * Their pointer arguments are checked against the size of their type, and
 * may be NULL as far as the verifier knows.
 */

/* Adds `ns` to the victim's total for one culprit in the map. */
__noinline int attr_flush_part(__u32 victim_group, __u32 kind, __u64 id,
			       __u64 ns)
{
	struct attr_key key = { .victim_group = victim_group,
				.kind = kind,
				.id = id };
	__u64 zero = 0, *total;

	if (!ns || !kind)
		return 0;
	total = bpf_map_lookup_elem(&attribution, &key);
	if (!total) {
		bpf_map_update_elem(&attribution, &key, &zero, BPF_NOEXIST);
		total = bpf_map_lookup_elem(&attribution, &key);
	}
	if (!total) {
		count_error(SCHED_ERR_ATTR_FULL);
		count_error_by(SCHED_ERR_ATTR_LOST_NS, ns);
		return -1;
	}
	/* vCPUs of one guest finish waits on several CPUs at once. */
	__sync_fetch_and_add(total, ns);
	return 0;
}

/* Adds `ns` to the culprit's part of a wait; when all parts are taken the
 * smallest goes to the map as it stands and makes room. */
__noinline int attr_add_part(struct attr_parts *parts, __u32 group,
			     __u32 kind, __u64 id, __u64 ns)
{
	int free_at = -1, smallest = 0;

	if (!parts)
		return 0;
#pragma clang loop unroll(full)
	for (int i = 0; i < ATTR_PARTS; i++) {
		struct attr_part *part = &parts->part[i];

		if (part->kind == kind && part->id == id) {
			part->ns += ns;
			return 0;
		}
		if (!part->kind && free_at < 0)
			free_at = i;
		if (smallest >= 0 && smallest < ATTR_PARTS &&
		    part->ns < parts->part[smallest].ns)
			smallest = i;
	}
	if (free_at < 0) {
		free_at = smallest;
		if (free_at < 0 || free_at >= ATTR_PARTS)
			return 0;
		attr_flush_part(group, parts->part[free_at].kind,
				parts->part[free_at].id,
				parts->part[free_at].ns);
	}
	if (free_at < 0 || free_at >= ATTR_PARTS)
		return 0;
	parts->part[free_at].kind = kind;
	parts->part[free_at].id = id;
	parts->part[free_at].ns = ns;
	return 0;
}

/* Moves every part of `from` into `into` (a waiter leaving a CPU's list
 * hands its culprits so far to the task). */
__noinline int attr_merge_parts(struct attr_parts *into,
				struct attr_parts *from, __u32 group)
{
	if (!into || !from)
		return 0;
#pragma clang loop unroll(full)
	for (int p = 0; p < ATTR_PARTS; p++)
		if (from->part[p].kind)
			attr_add_part(into, group, from->part[p].kind,
				      from->part[p].id, from->part[p].ns);
	return 0;
}

/* At the end of a wait of exactly `wait_ns` (the kernel's figure): the
 * parts are scaled to it and what they do not cover (before the vCPU was
 * listed, after a migration) goes to the last culprit, so the culprits of
 * a guest always add up to its steal. */
__noinline int attr_settle_wait(struct attr_parts *parts, __u32 group,
				__u64 wait_ns, __u32 last_kind, __u64 last_id)
{
	__u64 covered_ns = 0;

	if (!parts)
		return 0;
#pragma clang loop unroll(full)
	for (int p = 0; p < ATTR_PARTS; p++)
		covered_ns += parts->part[p].ns;
#pragma clang loop unroll(full)
	for (int p = 0; p < ATTR_PARTS; p++) {
		__u64 ns = parts->part[p].ns;

		if (covered_ns > wait_ns && covered_ns)
			ns = ns * wait_ns / covered_ns;
		attr_flush_part(group, parts->part[p].kind, parts->part[p].id,
				ns);
		parts->part[p].kind = 0;
		parts->part[p].ns = 0;
	}
	if (wait_ns > covered_ns)
		attr_flush_part(group, last_kind, last_id,
				wait_ns - covered_ns);
	return 0;
}

#define RUNTIME_INF ((__u64)~0ULL)
#define THROTTLE_DEPTH 8

/*
 * The cfs_rq to watch for throttling while `task` waits: 0 when neither
 * its group nor any ancestor has a CPU quota, so it cannot be throttled
 * and the per-segment read is skipped (a quota set mid-wait counts from
 * the next wait). Deeper hierarchies than THROTTLE_DEPTH are watched.
 */
static __always_inline __u64 throttle_watch(struct task_struct *task)
{
	struct cfs_rq *cfs_rq;
	struct task_group *tg;

	if (!bpf_core_field_exists(task->se.cfs_rq))
		return 0;
	cfs_rq = task->se.cfs_rq;
	if (!bpf_core_field_exists(((struct task_group *)0)->cfs_bandwidth))
		return (__u64)cfs_rq;
	tg = cfs_rq->tg;
#pragma clang loop unroll(full)
	for (int level = 0; level < THROTTLE_DEPTH; level++) {
		if (!tg)
			return 0;
		if (tg->cfs_bandwidth.quota != RUNTIME_INF)
			return (__u64)cfs_rq;
		tg = tg->parent;
	}
	return (__u64)cfs_rq;
}

static __always_inline bool waiter_throttled(const struct attr_waiter *w)
{
	int throttle_count = 0;

	if (!w->cfs_rq ||
	    !bpf_core_field_exists(((struct cfs_rq *)0)->throttle_count))
		return false;
	bpf_probe_read_kernel(&throttle_count, sizeof(throttle_count),
			      &((struct cfs_rq *)w->cfs_rq)->throttle_count);
	return throttle_count > 0;
}

struct segment_ctx {
	struct attr_cpu *cpu;
	__u64 span_ns;
};

static __always_inline void charge_one(struct attr_cpu *cpu,
				       struct attr_waiter *w, __u64 span_ns)
{
	if (waiter_throttled(w))
		attr_add_part(&w->parts, w->group, ATTR_CULPRIT_THROTTLED, 0,
			      span_ns);
	else
		attr_add_part(&w->parts, w->group, cpu->cur_kind, cpu->cur_id,
			      span_ns);
}

/* One waiter's share of a segment; a bpf_loop callback, verified once
 * rather than once per unrolled waiter. */
static long charge_waiter(__u32 index, void *data)
{
	struct segment_ctx *ctx = data;

	BOUND_INDEX(index, ATTR_MAX_WAITERS);
	charge_one(ctx->cpu, &ctx->cpu->waiters[index], ctx->span_ns);
	return 0;
}

/* Charges [seg_start, now] to every waiter and opens a new segment. */
static __always_inline void close_segment(struct attr_cpu *cpu, __u64 now_ns)
{
	struct segment_ctx ctx = { .cpu = cpu };
	__u32 count = cpu->count;

	if (now_ns <= cpu->seg_start_ns) {
		cpu->seg_start_ns = now_ns;
		return;
	}
	ctx.span_ns = now_ns - cpu->seg_start_ns;
	cpu->seg_start_ns = now_ns;
	cpu->vcpu_wait_ns += ctx.span_ns * count;
	/* One waiting vCPU per CPU is the common case, and bpf_loop's
	 * indirect call costs more than the charge itself. */
	if (count == 1) {
		charge_one(cpu, &cpu->waiters[0], ctx.span_ns);
		return;
	}
	if (count > ATTR_MAX_WAITERS)
		count = ATTR_MAX_WAITERS;
	bpf_loop(count, charge_waiter, &ctx, 0);
}

struct find_ctx {
	struct attr_cpu *cpu;
	__u32 slot;
	__s32 found;
};

static long match_waiter(__u32 index, void *data)
{
	struct find_ctx *ctx = data;
	struct attr_cpu *cpu = ctx->cpu;

	BOUND_INDEX(index, ATTR_MAX_WAITERS);
	if (cpu->waiters[index].slot != ctx->slot)
		return 0;
	ctx->found = (__s32)index;
	return 1; /* stop */
}

static __always_inline __s32 find_waiter(struct attr_cpu *cpu, __u32 slot)
{
	struct find_ctx ctx = { .cpu = cpu, .slot = slot, .found = -1 };
	__u32 count = cpu->count;

	if (count > ATTR_MAX_WAITERS)
		count = ATTR_MAX_WAITERS;
	bpf_loop(count, match_waiter, &ctx, 0);
	return ctx.found;
}

static __always_inline void set_culprit(struct attr_cpu *cpu,
					struct culprit who)
{
	cpu->cur_kind = who.kind;
	cpu->cur_id = who.id;
	cpu->cur_cset = 0;
}

/*
 * The culprit for `task` switching in on `cpu` while vCPUs wait there; the
 * hot case of a switch storm among host tasks. Tasks of one cgroup share a
 * css_set, so the chain of four loads to its cgroup id is skipped while
 * the css_set stays the one read last. (A css_set freed and its memory
 * reused for another while the same CPU keeps waiters would misname one
 * culprit; its time is still counted.)
 */
static __always_inline void set_culprit_task(struct attr_cpu *cpu,
					     struct task_struct *task,
					     __u32 group)
{
	struct css_set *cset;

	if (group || task->pid == 0 || (task->flags & PF_KTHREAD)) {
		set_culprit(cpu, culprit_of(task, group));
		return;
	}
	cset = task->cgroups;
	if (cpu->cur_cset == (__u64)cset && cpu->cur_kind == ATTR_CULPRIT_CGROUP)
		return;
	cpu->cur_kind = ATTR_CULPRIT_CGROUP;
	cpu->cur_id = cset_cgroup_id(cset);
	cpu->cur_cset = (__u64)cset;
}

/* A vCPU starts waiting on `cpu`, where `running` is on CPU. */
static __always_inline void add_waiter(struct attr_cpu *cpu, __u32 slot,
				       __u32 group, __u64 cfs_rq,
				       struct culprit running, __u64 now_ns)
{
	struct attr_waiter *w;
	__u32 at = cpu->count;

	if (at && find_waiter(cpu, slot) >= 0)
		return; /* listed already: never twice */
	if (at == 0) {
		cpu->seg_start_ns = now_ns;
		set_culprit(cpu, running);
	} else {
		close_segment(cpu, now_ns);
	}
	if (at >= ATTR_MAX_WAITERS) {
		cpu->overflow += 1;
		count_error(SCHED_ERR_WAITERS_FULL);
		return;
	}
	BOUND_INDEX(at, ATTR_MAX_WAITERS);
	w = &cpu->waiters[at];
	__builtin_memset(w, 0, sizeof(*w));
	w->slot = slot;
	w->group = group;
	w->cfs_rq = cfs_rq;
	cpu->count = at + 1;
}

/* Removes the waiter with `slot`, moving its parts into `out`. Returns
 * whether it was listed. The last entry fills the hole. */
static __always_inline bool take_waiter(struct attr_cpu *cpu, __u32 slot,
					struct attr_parts *out)
{
	__s32 at = find_waiter(cpu, slot);
	__u32 index, last;
	struct attr_waiter *w;

	if (at < 0 || !cpu->count)
		return false;
	index = (__u32)at;
	BOUND_INDEX(index, ATTR_MAX_WAITERS);
	w = &cpu->waiters[index];
	attr_merge_parts(out, &w->parts, w->group);
	last = cpu->count - 1;
	if (last < ATTR_MAX_WAITERS && last != index) {
		BOUND_INDEX(last, ATTR_MAX_WAITERS);
		__builtin_memcpy(w, &cpu->waiters[last], sizeof(*w));
	}
	cpu->count = last;
	return true;
}
