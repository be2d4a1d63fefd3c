// SPDX-License-Identifier: GPL-2.0-only
/*
 * Collection: copies the BPF side's cumulative counters into the model.
 * No policy and no deltas here; counters are never reset by reading.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/collect.h"
#include "collect/collect_irq.h"
#include "collect/collect_kvm.h"
#include "collect/thread_record.h"

static struct guest *guest_by_group(struct guest_table *table, uint32_t group)
{
	for (size_t i = 0; i < table->guest_count; i++)
		if (guest_group(&table->guests[i]) == group)
			return &table->guests[i];
	return NULL;
}

static void name_culprit(struct tracker *tracker, struct guest *victim,
			 struct culprit_total *culprit, uint64_t now_ns)
{
	struct guest *other;

	switch (culprit->kind) {
	case ATTR_CULPRIT_GUEST:
		other = guest_by_group(&tracker->table, (uint32_t)culprit->id);
		if (other)
			snprintf(culprit->name, sizeof(culprit->name), "%s",
				 other->name);
		else if (!culprit->name[0])
			snprintf(culprit->name, sizeof(culprit->name),
				 "guest-%llu", (unsigned long long)culprit->id);
		break;
	case ATTR_CULPRIT_CGROUP:
		if (culprit->name[0] ||
		    cgroup_names_lookup(tracker->cgroup_names, culprit->id,
					now_ns, culprit->name,
					sizeof(culprit->name)) == 0)
			break;
		snprintf(culprit->name, sizeof(culprit->name), "cgroup-%llu",
			 (unsigned long long)culprit->id);
		break;
	case ATTR_CULPRIT_THROTTLED:
		/* Its own quota: named by the guest's own cgroup. */
		snprintf(culprit->name, sizeof(culprit->name), "%s",
			 victim->cgroup[0] ? victim->cgroup : "cpu quota");
		break;
	default:
		snprintf(culprit->name, sizeof(culprit->name), "%s",
			 culprit_kind_name(culprit->kind));
	}
}

/* Host CPUs whose vCPU waits are kept. */
#define COLLECT_MAX_CPUS 1024

/* What collection reads from the scheduler programs' maps in one call,
 * before the model is touched. */
struct sched_reading {
	struct loader_attribution *attribution; /* NULL: could not be read */
	size_t attribution_count;
	uint64_t cpu_wait_ns[COLLECT_MAX_CPUS];
	int cpu_count; /* <= 0: could not be read */
};

static void read_sched(struct tracker *tracker, struct sched_reading *out)
{
	if (tracker->source->read_attribution(tracker->loader,
					      &out->attribution,
					      &out->attribution_count))
		out->attribution = NULL;
	out->cpu_count = tracker->source->read_cpu_waits(
		tracker->loader, out->cpu_wait_ns, COLLECT_MAX_CPUS);
}

/* Cumulative culprit totals per guest. */
static void apply_attribution(struct tracker *tracker,
			      const struct sched_reading *reading,
			      uint64_t now_ns)
{
	struct guest_table *table = &tracker->table;
	const struct loader_attribution *entries = reading->attribution;

	for (size_t i = 0; entries && i < reading->attribution_count; i++) {
		const struct attr_key *key = &entries[i].key;
		struct guest *victim;
		struct culprit_total *culprit;

		victim = guest_by_group(table, key->victim_group);
		if (!victim)
			continue;
		culprit = guest_culprit(victim, key->kind, key->id);
		if (!culprit)
			break;
		if (!culprit->name[0] || key->kind == ATTR_CULPRIT_GUEST)
			name_culprit(tracker, victim, culprit, now_ns);
		if (entries[i].steal_ns > culprit->steal_ns)
			culprit->steal_ns = entries[i].steal_ns;
	}
}

/* vCPU waits per host CPU, cumulative. */
static void apply_cpu_waits(struct guest_table *table,
			    const struct sched_reading *reading)
{
	if (!table->cpu_wait_ns) {
		table->cpu_wait_ns = calloc(COLLECT_MAX_CPUS, sizeof(uint64_t));
		if (!table->cpu_wait_ns)
			return;
	}
	if (reading->cpu_count <= 0)
		return;
	memcpy(table->cpu_wait_ns, reading->cpu_wait_ns,
	       (size_t)reading->cpu_count * sizeof(uint64_t));
	table->cpu_count = reading->cpu_count;
}

/* Each live thread's counters from its slot (a read-only view of the
 * map, read in place). */
static void apply_threads(struct tracker *tracker)
{
	for (size_t i = 0; i < tracker->table.guest_count; i++) {
		struct guest *guest = &tracker->table.guests[i];

		for (size_t t = 0; t < guest->thread_count; t++)
			if (!guest->threads[t].exited)
				tracker_collect_thread(tracker,
						       &guest->threads[t]);
	}
}

void collect_pass(struct tracker *tracker)
{
	struct sched_reading sched = { 0 };
	struct collect_kvm_reading kvm;
	struct collect_irq_reading irq;
	uint64_t now_ns = monotonic_ns();

	/* Who the KVM programs count, before what they counted is read. */
	collect_kvm_sync_guests(tracker);
	/* The maps, read into plain structs... */
	read_sched(tracker, &sched);
	collect_kvm_read(tracker, &kvm);
	collect_irq_read(tracker, &irq);
	/* ...then the model, updated from them. */
	apply_attribution(tracker, &sched, now_ns);
	apply_cpu_waits(&tracker->table, &sched);
	apply_threads(tracker);
	collect_kvm_apply(tracker, &kvm);
	collect_irq_apply(tracker, &irq);
	free(sched.attribution);
	collect_kvm_reading_free(&kvm);
	collect_irq_reading_free(&irq);
}
