/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The scheduler object's error counters (enum sched_error in sched.h),
 * shared by sched.bpf.c and the attribution it includes, so that each
 * compiles from its own includes.
 */
#ifndef KVMWARDEN_BPF_SCHED_ERRORS_BPF_H
#define KVMWARDEN_BPF_SCHED_ERRORS_BPF_H

#include "common.bpf.h"
#include "sched.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SCHED_ERR_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} sched_errors SEC(".maps");

static __always_inline void count_error_by(__u32 which, __u64 amount)
{
	percpu_counter_add(&sched_errors, which, amount);
}

static __always_inline void count_error(__u32 which)
{
	count_error_by(which, 1);
}

#endif
