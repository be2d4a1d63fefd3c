/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Steal attribution, included by sched.bpf.c (it shares the task storage
 * and the one sched_switch program). Each CPU keeps a small table of who
 * ran there while vCPUs waited, with each culprit's time summed since it
 * took its slot. A vCPU marks the table when its wait begins and takes the
 * differences when it ends, so a segment is charged once, to one slot,
 * however many vCPUs wait behind it: the cost of a switch does not grow
 * with the waiters. Only waiters a CPU quota can throttle are visited at
 * each segment (to tell throttled time apart), and only those. All writes
 * to a CPU's entry happen under that CPU's runqueue lock (switch, wakeup
 * and queued-migration tracepoints all fire with it held), so no atomics.
 */
#ifndef KVMWARDEN_BPF_ATTRIB_BPF_H
#define KVMWARDEN_BPF_ATTRIB_BPF_H

#ifndef __bpf__
#error "BPF-only header"
#endif

#include "common.bpf.h"
#include "attrib.h"
#include "sched_errors.bpf.h"

_Static_assert((ATTR_CPU_CULPRITS & (ATTR_CPU_CULPRITS - 1)) == 0 &&
		       (ATTR_MAX_WATCHED & (ATTR_MAX_WATCHED - 1)) == 0,
	       "slot and watch indices are masked");

/* Loops over the few parts of a wait are unrolled in full: Linux 6.1's
 * verifier rejects a loop whose back edge clang lays out as a fallthrough
 * ("back-edge from insn"), and unrolled there is no back edge at all. */

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


/* The id of the cgroup `cset` charges CPU time to, on the hierarchy the
 * agent chose. */
static __always_inline __u64 cset_cgroup_id(struct css_set *cset)
{
	if (culprit_cgroup_v1)
		return cset
			->subsys[bpf_core_enum_value(enum cgroup_subsys_id,
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
__noinline int attr_add_part(struct attr_parts *parts, __u32 group, __u32 kind,
			     __u64 id, __u64 ns)
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

/* Whether the cfs_rq at address `cfs_rq` is throttled now. */
static __always_inline bool cfs_rq_throttled(__u64 cfs_rq)
{
	int throttle_count = 0;

	if (!cfs_rq ||
	    !bpf_core_field_exists(((struct cfs_rq *)0)->throttle_count))
		return false;
	bpf_probe_read_kernel(&throttle_count, sizeof(throttle_count),
			      &((struct cfs_rq *)cfs_rq)->throttle_count);
	return throttle_count > 0;
}

/* a * b / c for a, b <= c, without overflowing 64 bits: past 2^32 ns
 * (4.3 s) all three lose their low bits, a ns-sized error in seconds. */
static __always_inline __u64 scale_ns(__u64 a, __u64 b, __u64 c)
{
#pragma clang loop unroll(full)
	for (int i = 0; i < 2; i++) {
		if ((a >> 32 || b >> 32) && c >> 16) {
			a >>= 16;
			b >>= 16;
			c >>= 16;
		}
	}
	return c ? a * b / c : 0;
}

/*
 * The slot of culprit (kind, id) on `cpu`, given one if it has none. Two
 * ways of eight sets, picked by a hash: no scan, so the verifier sees no
 * loop; of two culprits sharing a set, the one charged least recently
 * gives its slot up. Returns the slot index.
 */
__noinline int attr_slot_for(struct attr_cpu *cpu, __u32 kind, __u64 id,
			     __u64 now_ns)
{
	struct attr_culprit_slot *slot;
	__u32 at;

	if (!cpu)
		return 0;
	/* Fibonacci hashing: the top bits of id times 2^64/phi spread
	 * neighbouring ids (guest groups 1, 2, 3...; kernfs ids) over the
	 * sets. The kind goes in the top byte, so the idle task (id 0)
	 * and kernel threads (id 0) do not land where small ids do. */
	at = (__u32)(((id ^ ((__u64)kind << 56)) * 0x9E3779B97F4A7C15ULL) >>
		     61) *
	     2;
	BOUND_INDEX(at, ATTR_CPU_CULPRITS);
	slot = &cpu->culprits[at];
	if (slot->kind == kind && slot->id == id)
		return (int)at;
	if (at + 1 < ATTR_CPU_CULPRITS) {
		struct attr_culprit_slot *other = &cpu->culprits[at + 1];

		if (other->kind == kind && other->id == id)
			return (int)(at + 1);
		if (other->last_ns < slot->last_ns) {
			slot = other;
			at += 1;
		}
	}
	/* A slot charged during the vCPUs' current wait leaves their marks
	 * behind: its share of those waits goes to their last culprit. */
	if (slot->kind && cpu->count && slot->last_ns >= cpu->busy_since_ns)
		count_error(SCHED_ERR_CULPRIT_EVICTED);
	slot->kind = kind;
	slot->id = id;
	slot->ns = 0;
	slot->gen += 1;
	slot->last_ns = now_ns;
	return (int)at;
}

/* Notes where every slot of `cpu` stands as a wait begins. */
__noinline int attr_mark_cpu(struct attr_cpu *cpu, struct attr_marks *marks)
{
	if (!cpu || !marks)
		return 0;
#pragma clang loop unroll(full)
	for (int k = 0; k < ATTR_CPU_CULPRITS; k++) {
		marks->mark[k].ns = cpu->culprits[k].ns;
		marks->mark[k].gen = cpu->culprits[k].gen;
	}
	return 0;
}

/*
 * As a wait on `cpu` ends: each culprit's time since the marks goes into
 * the wait's parts (a slot that changed hands counts from when it did).
 * `throttled_ns` of it was the vCPU's own quota: that goes to THROTTLED,
 * and the culprits keep the rest in proportion.
 */
/* Slot k's time since the wait's mark; all of it when the slot changed
 * hands since (the new culprit took it during the wait). */
static __always_inline __u64 since_mark(struct attr_cpu *cpu,
					struct attr_marks *marks, int k)
{
	__u64 ns = cpu->culprits[k].ns;

	if (cpu->culprits[k].gen == marks->mark[k].gen &&
	    ns >= marks->mark[k].ns)
		ns -= marks->mark[k].ns;
	return ns;
}

__noinline int attr_collect(struct attr_cpu *cpu, struct attr_marks *marks,
			    struct attr_parts *parts, __u32 group,
			    __u64 throttled_ns)
{
	__u64 seen_ns = 0;

	if (!cpu || !marks || !parts)
		return 0;
#pragma clang loop unroll(full)
	for (int k = 0; k < ATTR_CPU_CULPRITS; k++)
		seen_ns += since_mark(cpu, marks, k);
	if (throttled_ns > seen_ns)
		throttled_ns = seen_ns;
#pragma clang loop unroll(full)
	for (int k = 0; k < ATTR_CPU_CULPRITS; k++) {
		struct attr_culprit_slot *slot = &cpu->culprits[k];
		__u64 ns = since_mark(cpu, marks, k);

		if (throttled_ns)
			ns = scale_ns(ns, seen_ns - throttled_ns, seen_ns);
		if (ns && slot->kind)
			attr_add_part(parts, group, slot->kind, slot->id, ns);
	}
	if (throttled_ns)
		attr_add_part(parts, group, ATTR_CULPRIT_THROTTLED, 0,
			      throttled_ns);
	return 0;
}

/* Lists a waiter its quota may throttle; returns its index, or -1 when
 * the list is full. The caller stores the cfs_rq: a kernel pointer is not
 * a scalar a global function may take. */
__noinline int attr_watch_add(struct attr_cpu *cpu, __u32 slot)
{
	__u32 at;

	if (!cpu)
		return -1;
	at = cpu->watched;
	if (at >= ATTR_MAX_WATCHED) {
		cpu->overflow += 1;
		count_error(SCHED_ERR_WAITERS_FULL);
		return -1;
	}
	BOUND_INDEX(at, ATTR_MAX_WATCHED);
	cpu->watches.watch[at].slot = slot;
	cpu->watches.watch[at].cfs_rq = 0;
	cpu->watches.watch[at].throttled_ns = 0;
	cpu->watched = at + 1;
	return (int)at;
}

/* Unlists the watched waiter `slot`; returns its throttled time. The last
 * entry fills the hole. */
__noinline __u64 attr_watch_take(struct attr_cpu *cpu, __u32 slot)
{
	__u64 throttled_ns = 0;
	__u32 last;
	int found = -1;

	if (!cpu || !cpu->watched)
		return 0;
#pragma clang loop unroll(full)
	for (int i = 0; i < ATTR_MAX_WATCHED; i++)
		if (found < 0 && i < cpu->watched &&
		    cpu->watches.watch[i].slot == slot)
			found = i;
	if (found < 0 || found >= ATTR_MAX_WATCHED)
		return 0;
	throttled_ns = cpu->watches.watch[found].throttled_ns;
	last = cpu->watched - 1;
	BOUND_INDEX(last, ATTR_MAX_WATCHED);
	cpu->watches.watch[found] = cpu->watches.watch[last];
	cpu->watched = last;
	return throttled_ns;
}

struct watch_ctx {
	struct attr_cpu *cpu;
	__u64 span_ns;
};

/* One watched waiter's check for a segment; a bpf_loop callback. */
static long charge_watch(__u32 index, void *data)
{
	struct watch_ctx *ctx = data;
	struct attr_watch *watch;

	BOUND_INDEX(index, ATTR_MAX_WATCHED);
	watch = &ctx->cpu->watches.watch[index];
	if (cfs_rq_throttled(watch->cfs_rq))
		watch->throttled_ns += ctx->span_ns;
	return 0;
}

/* Charges [seg_start, now] to the open segment's culprit and opens a new
 * segment: one slot, whatever the number of waiters. */
static __always_inline void close_segment(struct attr_cpu *cpu, __u64 now_ns)
{
	struct watch_ctx ctx = { .cpu = cpu };
	__u32 at = cpu->cur_slot, watched = cpu->watched;

	if (now_ns <= cpu->seg_start_ns) {
		cpu->seg_start_ns = now_ns;
		return;
	}
	ctx.span_ns = now_ns - cpu->seg_start_ns;
	cpu->seg_start_ns = now_ns;
	cpu->vcpu_wait_ns += ctx.span_ns * cpu->count;
	BOUND_INDEX(at, ATTR_CPU_CULPRITS);
	cpu->culprits[at].ns += ctx.span_ns;
	cpu->culprits[at].last_ns = now_ns;
	if (!watched)
		return;
	if (watched > ATTR_MAX_WATCHED)
		watched = ATTR_MAX_WATCHED;
	bpf_loop(watched, charge_watch, &ctx, 0);
}

static __always_inline void set_culprit(struct attr_cpu *cpu,
					struct culprit who, __u64 now_ns)
{
	cpu->cur_kind = who.kind;
	cpu->cur_id = who.id;
	cpu->cur_cset = 0;
	cpu->cur_slot = (__u32)attr_slot_for(cpu, who.kind, who.id, now_ns);
}

/*
 * The culprit for `task` switching in on `cpu` while vCPUs wait there; the
 * hot case of a switch storm among host tasks. Tasks of one cgroup share a
 * css_set, so the chain of four loads to its cgroup id (and the slot) is
 * skipped while the css_set stays the one read last. (A css_set freed and
 * its memory reused for another while the same CPU keeps waiters would
 * misname one culprit; its time is still counted.)
 */
static __always_inline void set_culprit_task(struct attr_cpu *cpu,
					     struct task_struct *task,
					     __u32 group, __u64 now_ns)
{
	struct css_set *cset;
	struct culprit who;

	if (group || task->pid == 0 || (task->flags & PF_KTHREAD)) {
		set_culprit(cpu, culprit_of(task, group), now_ns);
		return;
	}
	cset = task->cgroups;
	if (cpu->cur_cset == (__u64)cset &&
	    cpu->cur_kind == ATTR_CULPRIT_CGROUP)
		return;
	who.kind = ATTR_CULPRIT_CGROUP;
	who.id = cset_cgroup_id(cset);
	set_culprit(cpu, who, now_ns);
	cpu->cur_cset = (__u64)cset;
}

#endif
