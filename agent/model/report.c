// SPDX-License-Identifier: GPL-2.0-only
/*
 * Window reports: the figures between two copies of the guest table. A
 * guest or thread is matched by the agent's own ids (guest id, thread seq),
 * never by pid or tid, so a recycled pid never inherits another's figures.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"

static const struct guest *find_guest_by_id(const struct guest_table *table,
					    uint64_t id)
{
	if (!table)
		return NULL;
	for (size_t i = 0; i < table->guest_count; i++)
		if (table->guests[i].id == id)
			return &table->guests[i];
	return NULL;
}

static const struct thread *find_same_thread(const struct guest *guest,
					     const struct thread *like)
{
	if (!guest)
		return NULL;
	for (size_t i = 0; i < guest->thread_count; i++) {
		const struct thread *thread = &guest->threads[i];

		if (thread->seq == like->seq)
			return thread;
	}
	return NULL;
}

static int compare_vcpus(const void *a, const void *b)
{
	const struct report_thread *x = a, *y = b;

	if (x->vcpu_index != y->vcpu_index)
		return x->vcpu_index < y->vcpu_index ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static int compare_tids(const void *a, const void *b)
{
	const struct report_thread *x = a, *y = b;

	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static int compare_guests(const void *a, const void *b)
{
	const struct report_guest *x = a, *y = b;
	int by_name = strcmp(x->name, y->name);

	if (by_name)
		return by_name;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* Counters of threads pruned between the two copies: what `retired` gained
 * minus what those threads had already counted before the window. */
static void add_pruned(struct report_guest *out, const struct guest *before,
		       const struct guest *after)
{
	for (int kind = 0; kind <= THREAD_OTHER; kind++) {
		struct thread_counters gained, already = { 0 }, pruned;
		struct thread_counters *total = kind == THREAD_VCPU ?
							&out->vcpu_total :
							&out->other_total;

		thread_counters_delta(&gained, &after->retired[kind],
				      before ? &before->retired[kind] :
					       &(struct thread_counters){ 0 });
		for (size_t i = 0; before && i < before->thread_count; i++) {
			const struct thread *old = &before->threads[i];

			if ((int)old->kind == kind &&
			    !find_same_thread(after, old))
				thread_counters_add(&already, &old->counters);
		}
		thread_counters_delta(&pruned, &gained, &already);
		thread_counters_add(total, &pruned);
	}
}

static int compare_culprits(const void *a, const void *b)
{
	const struct report_culprit *x = a, *y = b;

	if (x->steal_ns != y->steal_ns)
		return x->steal_ns > y->steal_ns ? -1 : 1;
	return strcmp(x->name, y->name);
}

static uint64_t culprit_before(const struct guest *before,
			       const struct culprit_total *now)
{
	for (size_t i = 0; before && i < before->culprit_count; i++)
		if (before->culprits[i].kind == now->kind &&
		    before->culprits[i].id == now->id)
			return before->culprits[i].steal_ns;
	return 0;
}

/* Culprits with steal in the window, largest first. */
static int build_culprits(struct report_guest *out, const struct guest *before,
			  const struct guest *after)
{
	if (!after->culprit_count)
		return 0;
	out->culprits = calloc(after->culprit_count, sizeof(*out->culprits));
	if (!out->culprits)
		return -ENOMEM;
	for (size_t i = 0; i < after->culprit_count; i++) {
		const struct culprit_total *now = &after->culprits[i];
		uint64_t then = culprit_before(before, now);
		struct report_culprit *row;

		if (now->steal_ns <= then)
			continue;
		row = &out->culprits[out->culprit_count++];
		row->kind = now->kind;
		memcpy(row->name, now->name, sizeof(row->name));
		row->steal_ns = now->steal_ns - then;
	}
	qsort(out->culprits, out->culprit_count, sizeof(*out->culprits),
	      compare_culprits);
	return 0;
}

static int build_guest(struct report_guest *out, const struct guest *before,
		       const struct guest *after)
{
	size_t vcpus = 0, others = 0;
	uint64_t kvm_run_ns = 0, pruned_from;

	memset(out, 0, sizeof(*out));
	memcpy(out->name, after->name, sizeof(out->name));
	memcpy(out->uuid, after->uuid, sizeof(out->uuid));
	memcpy(out->cgroup, after->cgroup, sizeof(out->cgroup));
	out->vmm = after->vmm;
	out->tcg = after->tcg;
	out->pid = after->pid;
	out->claim = after->claim;
	out->exited = after->exited;
	for (size_t i = 0; i < after->thread_count; i++) {
		if (after->threads[i].kind == THREAD_VCPU)
			vcpus++;
		else
			others++;
	}
	out->vcpus = calloc(vcpus ? vcpus : 1, sizeof(*out->vcpus));
	out->others = calloc(others ? others : 1, sizeof(*out->others));
	if (!out->vcpus || !out->others)
		return -ENOMEM;

	for (size_t i = 0; i < after->thread_count; i++) {
		const struct thread *now = &after->threads[i];
		const struct thread *then = find_same_thread(before, now);
		bool is_vcpu = now->kind == THREAD_VCPU;
		struct report_thread *row =
			is_vcpu ? &out->vcpus[out->vcpu_count++] :
				  &out->others[out->other_count++];
		static const struct thread_counters zero;

		row->tid = now->tid;
		row->kind = now->kind;
		row->vcpu_index = now->vcpu_index;
		row->exited = now->exited;
		thread_counters_delta(&row->delta, &now->counters,
				      then ? &then->counters : &zero);
		thread_counters_add(is_vcpu ? &out->vcpu_total :
					      &out->other_total,
				    &row->delta);
		if (hidden_culprits_build(
			    &row->hidden_culprits, &row->hidden_culprit_count,
			    before ? before->hidden_culprits : NULL,
			    before ? before->hidden_culprit_count : 0,
			    after->hidden_culprits,
			    after->hidden_culprit_count, now->seq))
			return -ENOMEM;
		/* A vCPU entered KVM_RUN up to a discovery pass before its
		 * record was split off: that part of its guest mode sits in
		 * the record it left. */
		if (is_vcpu || now->became_vcpu)
			kvm_run_ns += row->delta.run_ns;
	}
	pruned_from = out->vcpu_total.run_ns;
	add_pruned(out, before, after);
	kvm_run_ns += out->vcpu_total.run_ns - pruned_from;
	model_kvm_report(&out->kvm, before ? &before->kvm : NULL, &after->kvm,
			 kvm_run_ns);
	if (build_culprits(out, before, after))
		return -ENOMEM;
	out->net_count = net_report_build(out->net,
					  before ? before->net : NULL,
					  before ? before->net_count : 0,
					  after->net, after->net_count);
	qsort(out->vcpus, out->vcpu_count, sizeof(*out->vcpus), compare_vcpus);
	qsort(out->others, out->other_count, sizeof(*out->others),
	      compare_tids);
	return 0;
}

static uint64_t minus(uint64_t after, uint64_t before)
{
	return after > before ? after - before : 0;
}

/* Interrupt time per CPU in the window; none when `after` has none. */
static int build_cpu_irq(struct report *out, const struct guest_table *before,
			 const struct guest_table *after)
{
	static const struct irq_counts zero;

	if (!after->cpu_irq || after->cpu_irq_count <= 0)
		return 0;
	out->cpu_irq = calloc(after->cpu_irq_count, sizeof(*out->cpu_irq));
	if (!out->cpu_irq) {
		report_free(out);
		return -ENOMEM;
	}
	out->cpu_irq_count = after->cpu_irq_count;
	for (int cpu = 0; cpu < after->cpu_irq_count; cpu++)
		hidden_counts_delta(&out->cpu_irq[cpu], &after->cpu_irq[cpu],
				    before && before->cpu_irq &&
						    cpu < before->cpu_irq_count ?
					    &before->cpu_irq[cpu] :
					    &zero);
	for (int i = 0; i < IRQ_ERR_COUNT; i++)
		out->irq_errors[i] = minus(after->irq_errors[i],
					   before ? before->irq_errors[i] : 0);
	return 0;
}

int report_build(struct report *out, const struct guest_table *before,
		 const struct guest_table *after, uint64_t duration_ns)
{
	int err;

	memset(out, 0, sizeof(*out));
	out->duration_ns = duration_ns;
	out->kvm = after->kvm;
	/* The loss counters are cumulative in the table; a report is about
	 * its window, like every other figure in it. */
	if (before) {
		out->kvm.events_lost =
			minus(after->kvm.events_lost, before->kvm.events_lost);
		out->kvm.events_fired = minus(after->kvm.events_fired,
					      before->kvm.events_fired);
		out->kvm.ns_lost =
			minus(after->kvm.ns_lost, before->kvm.ns_lost);
	}
	if (after->cpu_count > 0) {
		out->cpu_wait_ns = calloc(after->cpu_count, sizeof(uint64_t));
		if (!out->cpu_wait_ns)
			return -ENOMEM;
		out->cpu_count = after->cpu_count;
		for (int cpu = 0; cpu < after->cpu_count; cpu++) {
			uint64_t then = before && cpu < before->cpu_count ?
						before->cpu_wait_ns[cpu] :
						0;
			uint64_t now = after->cpu_wait_ns[cpu];

			out->cpu_wait_ns[cpu] = now > then ? now - then : 0;
		}
	}
	err = build_cpu_irq(out, before, after);
	if (err)
		return err;
	if (!after->guest_count)
		return 0;
	out->guests = calloc(after->guest_count, sizeof(*out->guests));
	if (!out->guests)
		return -ENOMEM;
	for (size_t i = 0; i < after->guest_count; i++) {
		const struct guest *now = &after->guests[i];

		err = build_guest(&out->guests[out->guest_count++],
				  find_guest_by_id(before, now->id), now);
		if (err) {
			report_free(out);
			return err;
		}
	}
	qsort(out->guests, out->guest_count, sizeof(*out->guests),
	      compare_guests);
	return 0;
}

void report_free(struct report *report)
{
	if (!report)
		return;
	for (size_t i = 0; i < report->guest_count; i++) {
		struct report_guest *guest = &report->guests[i];

		for (size_t t = 0; t < guest->vcpu_count; t++)
			free(guest->vcpus[t].hidden_culprits);
		for (size_t t = 0; t < guest->other_count; t++)
			free(guest->others[t].hidden_culprits);
		free(guest->vcpus);
		free(guest->others);
		free(guest->culprits);
	}
	free(report->guests);
	free(report->cpu_wait_ns);
	free(report->cpu_irq);
	memset(report, 0, sizeof(*report));
}
