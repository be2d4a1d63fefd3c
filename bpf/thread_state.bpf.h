/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A tracked thread's task storage, which says which threads are tracked
 * and under which slot. The scheduler object (sched.bpf.c) creates and
 * writes it; the interrupt object (irq.bpf.c) only looks it up. Both
 * declare this identical map, and the agent hands the scheduler's map to
 * the interrupt object (bpf_map__reuse_fd) before it loads, so there is
 * one storage per task.
 */
#ifndef KVMWARDEN_BPF_THREAD_STATE_BPF_H
#define KVMWARDEN_BPF_THREAD_STATE_BPF_H

#ifndef __bpf__
#error "BPF-only header"
#endif

#include "common.bpf.h"
#include "attrib.h"

/* Per-thread state; lives and dies with the task, so a recycled tid starts
 * untracked. Figures are taken from the kernel's own per-task accounting
 * (sched_info, sum_exec_runtime), so they agree with /proc's schedstat to
 * the nanosecond: only the increments since registration are counted. */
struct thread_state {
	__u64 seen_delay_ns; /* run_delay (+ pending wait) already counted */
	__u64 base_exec_ns; /* sum_exec_runtime when registered */
	__u32 slot;
	__u32 kind;
	__u32 group;
	__u32 _pad;
	/* CPU + 1 whose culprit table the current wait is marked on, 0
	 * when none; `watched` when that CPU also checks it for throttling. */
	__u32 wait_cpu;
	__u32 watched;
	struct attr_marks marks;
	/* Culprits of the current wait carried across a migration. */
	struct attr_parts carried;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct thread_state);
} thread_state SEC(".maps");

#endif
