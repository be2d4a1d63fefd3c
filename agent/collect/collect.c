// SPDX-License-Identifier: GPL-2.0-only
/*
 * Collection: copies the BPF side's cumulative counters into the model.
 * No policy and no deltas here; counters are never reset by reading.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/collect.h"
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

/* Cumulative culprit totals per guest, and vCPU waits per host CPU. */
static void collect_attribution(struct tracker *tracker, uint64_t now_ns)
{
	struct guest_table *table = &tracker->table;
	struct loader_attribution *entries;
	size_t count;
	int cpus;

	if (tracker->source->read_attribution(tracker->loader, &entries,
					      &count) == 0) {
		for (size_t i = 0; i < count; i++) {
			const struct attr_key *key = &entries[i].key;
			struct guest *victim;
			struct culprit_total *culprit;

			victim = guest_by_group(table, key->victim_group);
			if (!victim)
				continue;
			culprit = guest_culprit(victim, key->kind, key->id);
			if (!culprit)
				break;
			if (!culprit->name[0] ||
			    key->kind == ATTR_CULPRIT_GUEST)
				name_culprit(tracker, victim, culprit, now_ns);
			if (entries[i].steal_ns > culprit->steal_ns)
				culprit->steal_ns = entries[i].steal_ns;
		}
		free(entries);
	}
	if (!table->cpu_wait_ns) {
		table->cpu_wait_ns = calloc(1024, sizeof(uint64_t));
		if (!table->cpu_wait_ns)
			return;
	}
	cpus = tracker->source->read_cpu_waits(tracker->loader,
					       table->cpu_wait_ns, 1024);
	if (cpus > 0)
		table->cpu_count = cpus;
}

void tracker_collect(struct tracker *tracker)
{
	collect_attribution(tracker, monotonic_ns());
	for (size_t i = 0; i < tracker->table.guest_count; i++) {
		struct guest *guest = &tracker->table.guests[i];

		for (size_t t = 0; t < guest->thread_count; t++)
			if (!guest->threads[t].exited)
				tracker_collect_thread(tracker,
						       &guest->threads[t]);
	}
	tracker_collect_kvm(tracker);
}
