// SPDX-License-Identifier: GPL-2.0-only
/*
 * A tracked thread's record against its BPF slot (thread_record.h). The
 * slot's counts only grow; a record's counters are the slot's minus the
 * base it took the slot over at, so the records of one thread always add
 * up to the slot's counts, whatever window they are read in.
 */
#include <string.h>

#include "collect/thread_record.h"

void thread_record_take_stats(struct thread *thread,
			      const struct sched_thread_stats *live)
{
	struct thread_counters *out = &thread->counters;
	struct thread_counters now = { 0 };

	/* Each field is one aligned 64-bit load, so no value is torn; fields
	 * may be a switch apart, which no figure here depends on. */
	now.steal_ns = live->steal_ns;
	now.run_ns = live->run_ns;
	now.waits = live->waits;
	memcpy(now.wait_hist, live->wait_hist, sizeof(now.wait_hist));
	thread_counters_delta(&now, &now, &thread->base);
	out->steal_ns = now.steal_ns;
	out->waits = now.waits;
	out->wait_max_ns = live->wait_max_ns;
	memcpy(out->wait_hist, now.wait_hist, sizeof(out->wait_hist));
	if (now.run_ns > out->run_ns)
		out->run_ns = now.run_ns;
}

void thread_record_take_hidden(struct thread *thread,
			       const struct irq_counts *live)
{
	struct irq_counts now;

	/* Copied field by field like the scheduler's counts: each an aligned
	 * 64-bit load, so none is torn. */
	memcpy(&now, live, sizeof(now));
	hidden_counts_delta(&thread->counters.hidden, &now,
			    &thread->base.hidden);
}

struct thread *thread_record_became_vcpu(struct guest *guest, size_t index,
					 int vcpu_index, uint64_t now_ns)
{
	struct thread *old = &guest->threads[index], *vcpu;
	const struct thread_counters *counted = &old->counters;

	if (!counted->steal_ns && !counted->run_ns && !counted->waits) {
		old->kind = THREAD_VCPU;
		old->vcpu_index = vcpu_index;
		return old;
	}
	/* Added before the old record lets go of the slot, so a failure
	 * leaves the slot counted rather than orphaned. */
	vcpu = guest_add_thread(guest, old->tid);
	if (!vcpu)
		return NULL;
	old = &guest->threads[index]; /* the add may have moved the array */
	vcpu->kind = THREAD_VCPU;
	vcpu->vcpu_index = vcpu_index;
	vcpu->tgid = old->tgid;
	vcpu->slot = old->slot;
	vcpu->attached = old->attached;
	vcpu->start_time_ns = old->start_time_ns;
	vcpu->base = old->base;
	thread_counters_add(&vcpu->base, &old->counters);
	old->exited = true; /* as its old kind; the slot moves on */
	old->became_vcpu = true;
	old->exited_at_ns = now_ns;
	old->slot = -1;
	return vcpu;
}
