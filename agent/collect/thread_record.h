/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One tracked thread's record against its BPF slot: the counters it takes
 * from the slot, and the split that hands the slot to a new vCPU record
 * when a thread first seen as an ordinary one turns out to be a vCPU.
 * Pure: discover.c and collect.c do the I/O, unit tests drive this.
 */
#ifndef KVMWARDEN_THREAD_RECORD_H
#define KVMWARDEN_THREAD_RECORD_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "sched.h"

/* Sets thread->counters to the slot's counts minus thread->base. run_ns
 * never goes back: BPF refreshes it from two places and a race can write
 * an older value last. */
void thread_record_take_stats(struct thread *thread,
			      const struct sched_thread_stats *live);
/* Sets thread->counters.hidden to the interrupt slot's counts minus
 * thread->base.hidden. */
void thread_record_take_hidden(struct thread *thread,
			       const struct irq_counts *live);

/*
 * guest->threads[index], a non-vCPU record whose counters are current, is
 * a vCPU after all. Without counts yet it changes kind in place. Else it
 * ends as its old kind (so no per-kind total ever goes back) and a new
 * vCPU record takes over its slot from the counts it had reached. Returns
 * the vCPU record (pointers into guest->threads are then stale), or NULL
 * with errno set when there was no room: the old record then still holds
 * the slot and goes on counting as its old kind.
 */
struct thread *thread_record_became_vcpu(struct guest *guest, size_t index,
					 int vcpu_index, uint64_t now_ns);

#endif
