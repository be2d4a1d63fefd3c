/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What every BPF object of kvmwarden shares: the kernel's types and
 * libbpf's helpers, the few kernel constants BTF does not carry (they are
 * #defines in the kernel), and a per-CPU counter add. Each object still
 * owns its maps; this header defines none.
 */
#ifndef KVMWARDEN_BPF_COMMON_BPF_H
#define KVMWARDEN_BPF_COMMON_BPF_H

#ifndef __bpf__
#error "BPF-only header"
#endif

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

/* include/linux/sched.h: not in BTF, stable for as long as BPF exists. */
#define PF_KTHREAD 0x00200000
#define TASK_RUNNING 0

/* Masks an index in a way clang cannot drop: it proves plain masks
 * redundant after a bounds check, then indexes with an unmasked copy the
 * verifier rejects. `size` must be a power of two. */
#define BOUND_INDEX(index, size) \
	asm volatile("%[x] &= %[m]" : [x] "+r"(index) : [m] "i"((size)-1))

/* Adds to entry `which` of a per-CPU array of counters (an object's error
 * counts): a plain add, since no other CPU writes this CPU's copy. */
static __always_inline void percpu_counter_add(void *counters, __u32 which,
					       __u64 amount)
{
	__u64 *count = bpf_map_lookup_elem(counters, &which);

	if (count)
		*count += amount;
}

#endif
