// SPDX-License-Identifier: GPL-2.0-only
/*
 * Collection of hidden steal (collect_irq.h): per-CPU interrupt counts and
 * the culprit entries of each tracked thread, copied into the model. Who
 * owns a device is named here, from the guests' network devices that
 * collect/net_devices.c lists; what a window shows is the report's.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect/collect_irq.h"

void collect_irq_read(struct tracker *tracker, struct collect_irq_reading *out)
{
	memset(out, 0, sizeof(*out));
	if (!tracker->irq)
		return;
	out->cpu = calloc(COLLECT_IRQ_MAX_CPUS, sizeof(*out->cpu));
	if (out->cpu) {
		out->cpu_count = tracker->source->irq_read_cpu_counts(
			tracker->irq, out->cpu, COLLECT_IRQ_MAX_CPUS);
		if (out->cpu_count <= 0) {
			free(out->cpu);
			out->cpu = NULL;
		}
	}
	if (tracker->source->irq_read_culprits(tracker->irq, &out->culprits,
					       &out->culprit_count)) {
		free(out->culprits);
		out->culprits = NULL;
		out->culprit_count = 0;
	}
	out->errors_read =
		tracker->source->irq_read_errors(tracker->irq, out->errors) == 0;
}

void collect_irq_reading_free(struct collect_irq_reading *reading)
{
	free(reading->cpu);
	free(reading->culprits);
	memset(reading, 0, sizeof(*reading));
}

static void apply_cpus(struct guest_table *table,
		       const struct collect_irq_reading *reading)
{
	if (!reading->cpu)
		return;
	/* Counters only grow; a failed read keeps the last good values
	 * rather than showing a fall. */
	if (reading->errors_read)
		memcpy(table->irq_errors, reading->errors,
		       sizeof(table->irq_errors));
	if (!table->cpu_irq) {
		table->cpu_irq =
			calloc(COLLECT_IRQ_MAX_CPUS, sizeof(*table->cpu_irq));
		if (!table->cpu_irq)
			return;
	}
	memcpy(table->cpu_irq, reading->cpu,
	       (size_t)reading->cpu_count * sizeof(*table->cpu_irq));
	table->cpu_irq_count = reading->cpu_count;
}

/* The host's network namespace, "net:[4026531840]" as the agent's own
 * /proc/self/ns/net reads: its devices are where guests' taps live. */
static uint32_t host_netns(struct tracker *tracker)
{
	char path[512], link[64];
	unsigned long inode;
	ssize_t len;

	if (tracker->host_netns)
		return tracker->host_netns;
	snprintf(path, sizeof(path), "%s/self/ns/net", tracker->proc_root);
	len = readlink(path, link, sizeof(link) - 1);
	if (len <= 0)
		return 0;
	link[len] = '\0';
	if (sscanf(link, "net:[%lu]", &inode) == 1)
		tracker->host_netns = (uint32_t)inode;
	return tracker->host_netns;
}

/* The guest with a device named `device` among its network devices, one
 * still present first. */
static const struct guest *device_owner(const struct guest_table *table,
					const char *device)
{
	const struct guest *gone_owner = NULL;

	for (size_t g = 0; g < table->guest_count; g++) {
		const struct guest *guest = &table->guests[g];

		for (size_t n = 0; n < guest->net_count && n < GUEST_NET_MAX;
		     n++) {
			if (strcmp(guest->net[n].name, device))
				continue;
			if (!guest->net[n].gone)
				return guest;
			gone_owner = gone_owner ? gone_owner : guest;
		}
	}
	return gone_owner;
}

/* How an entry's culprit is named: the device's or action's name from
 * BPF, or the vector's ("local_timer"). */
static void vector_name(int kind, char *out, size_t size)
{
	const char *kind_name = hidden_hard_kind_name(kind);

	snprintf(out, size, "%s", kind_name ? kind_name : "vector");
	for (char *at = out; *at; at++)
		*at = (char)tolower((unsigned char)*at);
}

static bool same_culprit(const struct hidden_culprit_total *total,
			 uint64_t seq, const struct irq_culprit_key *key)
{
	return total->thread_seq == seq && total->bpf_kind == key->kind &&
	       total->netns == key->netns && total->id == key->id;
}

static struct hidden_culprit_total *find_total(struct guest *guest,
					       uint64_t seq,
					       const struct irq_culprit_key *key)
{
	for (size_t i = 0; i < guest->hidden_culprit_count; i++)
		if (same_culprit(&guest->hidden_culprits[i], seq, key))
			return &guest->hidden_culprits[i];
	return NULL;
}

/* A new total of `thread`. One of a BPF entry (`inherit`) starts from
 * what the thread's earlier records (which handed it their slot) counted
 * under the same culprit, since the entry is the slot's. */
static struct hidden_culprit_total *
add_total(struct guest *guest, const struct thread *thread,
	  const struct irq_culprit_key *key, bool inherit)
{
	struct hidden_culprit_total *total;

	if (guest->hidden_culprit_count == guest->hidden_culprit_cap) {
		size_t cap = guest->hidden_culprit_cap ?
				     2 * guest->hidden_culprit_cap :
				     8;
		void *bigger = realloc(guest->hidden_culprits,
				       cap * sizeof(*guest->hidden_culprits));

		if (!bigger)
			return NULL;
		guest->hidden_culprits = bigger;
		guest->hidden_culprit_cap = cap;
	}
	total = &guest->hidden_culprits[guest->hidden_culprit_count];
	memset(total, 0, sizeof(*total));
	total->thread_seq = thread->seq;
	total->bpf_kind = key->kind;
	total->netns = key->netns;
	total->id = key->id;
	for (size_t t = 0; inherit && t < guest->thread_count; t++) {
		const struct thread *earlier = &guest->threads[t];
		const struct hidden_culprit_total *before;

		if (earlier->seq == thread->seq || earlier->tid != thread->tid ||
		    !earlier->became_vcpu)
			continue;
		before = find_total(guest, earlier->seq, key);
		if (!before)
			continue;
		total->base_ns += before->base_ns + before->ns;
		total->base_count += before->base_count + before->count;
	}
	guest->hidden_culprit_count++;
	return total;
}

static uint64_t minus_base(uint64_t value, uint64_t base)
{
	return value > base ? value - base : 0;
}

static void apply_entry(struct tracker *tracker, struct guest *guest,
			const struct thread *thread,
			const struct irq_loader_culprit *entry)
{
	struct hidden_culprit_total *total;
	const struct guest *owner;
	uint64_t ns, count;

	total = find_total(guest, thread->seq, &entry->key);
	if (!total)
		total = add_total(guest, thread, &entry->key, true);
	if (!total)
		return;
	snprintf(total->device, sizeof(total->device), "%.*s", IRQ_NAME_LEN,
		 entry->value.name);
	total->owner[0] = '\0';
	if (entry->key.kind == IRQ_CULPRIT_DEVICE && entry->key.id &&
	    entry->key.netns && entry->key.netns == host_netns(tracker)) {
		owner = device_owner(&tracker->table, total->device);
		if (owner)
			snprintf(total->owner, sizeof(total->owner), "%s",
				 owner->name);
	}
	/* Cumulative: never back, even if a read raced a reset. */
	ns = minus_base(entry->value.ns, total->base_ns);
	count = minus_base(entry->value.count, total->base_count);
	if (ns > total->ns)
		total->ns = ns;
	if (count > total->count)
		total->count = count;
}

/* A system vector's culprit entry is the thread's own count of that kind
 * (bpf/irq.h): made here, from counters.hidden, which is the thread's
 * already (its base taken off). */
static void apply_vectors(struct guest *guest)
{
	for (size_t t = 0; t < guest->thread_count; t++) {
		const struct thread *thread = &guest->threads[t];
		const struct irq_counts *hidden = &thread->counters.hidden;

		for (int kind = IRQ_HARD_DEVICE + 1; kind < IRQ_HARD_KINDS;
		     kind++) {
			struct irq_culprit_key key = {
				.kind = IRQ_CULPRIT_VECTOR,
				.id = (uint32_t)kind,
			};
			struct hidden_culprit_total *total;

			if (!hidden->hard_count[kind])
				continue;
			total = find_total(guest, thread->seq, &key);
			if (!total)
				total = add_total(guest, thread, &key, false);
			if (!total)
				return;
			vector_name(kind, total->device,
				    sizeof(total->device));
			total->ns = hidden->hard_ns[kind];
			total->count = hidden->hard_count[kind];
		}
	}
}

/* Which guest and thread hold each slot now. */
struct slot_owner {
	int32_t guest;
	int32_t thread;
};

static struct slot_owner *index_slots(const struct guest_table *table)
{
	struct slot_owner *owners = malloc(SCHED_MAX_THREADS * sizeof(*owners));

	if (!owners)
		return NULL;
	for (size_t i = 0; i < SCHED_MAX_THREADS; i++)
		owners[i].guest = -1;
	for (size_t g = 0; g < table->guest_count; g++) {
		const struct guest *guest = &table->guests[g];

		for (size_t t = 0; t < guest->thread_count; t++) {
			int slot = guest->threads[t].slot;

			if (slot < 0 || slot >= SCHED_MAX_THREADS)
				continue;
			owners[slot].guest = (int32_t)g;
			owners[slot].thread = (int32_t)t;
		}
	}
	return owners;
}

/* The guest's retired entry for `like`'s culprit: thread_seq 0, which no
 * thread has (model.c numbers from 1). NULL when it is not there yet. */
static struct hidden_culprit_total *
retired_total(struct guest *guest, const struct hidden_culprit_total *like,
	      size_t below)
{
	for (size_t i = 0; i < below; i++) {
		struct hidden_culprit_total *total = &guest->hidden_culprits[i];

		if (total->thread_seq == 0 && total->bpf_kind == like->bpf_kind &&
		    total->netns == like->netns && total->id == like->id)
			return total;
	}
	return NULL;
}

/* Totals of threads the table no longer lists are folded into the guest's
 * retired entries (thread_seq 0), one per culprit, so a guest's sums over
 * its entries (what /metrics exports) never fall when a thread is pruned;
 * no window shows them, since no thread has seq 0. */
static void drop_pruned(struct guest *guest)
{
	size_t kept = 0;

	for (size_t i = 0; i < guest->hidden_culprit_count; i++) {
		struct hidden_culprit_total entry = guest->hidden_culprits[i];
		struct hidden_culprit_total *retired;
		bool listed = entry.thread_seq == 0;

		for (size_t t = 0; t < guest->thread_count && !listed; t++)
			listed = guest->threads[t].seq == entry.thread_seq;
		if (listed) {
			guest->hidden_culprits[kept++] = entry;
			continue;
		}
		retired = retired_total(guest, &entry, kept);
		if (retired) {
			retired->ns += entry.ns;
			retired->count += entry.count;
			continue;
		}
		entry.thread_seq = 0;
		entry.base_ns = 0;
		entry.base_count = 0;
		guest->hidden_culprits[kept++] = entry;
	}
	guest->hidden_culprit_count = kept;
}

void collect_irq_apply(struct tracker *tracker,
		       const struct collect_irq_reading *reading)
{
	struct guest_table *table = &tracker->table;
	struct slot_owner *owners = NULL;

	if (!tracker->irq)
		return;
	apply_cpus(table, reading);
	for (size_t g = 0; g < table->guest_count; g++) {
		drop_pruned(&table->guests[g]);
		apply_vectors(&table->guests[g]);
	}
	if (!reading->culprits || !reading->culprit_count)
		return;
	owners = index_slots(table);
	if (!owners)
		return;
	for (size_t i = 0; i < reading->culprit_count; i++) {
		const struct irq_loader_culprit *entry = &reading->culprits[i];
		const struct slot_owner *owner;
		struct guest *guest;

		if (entry->key.slot >= SCHED_MAX_THREADS ||
		    entry->key.kind == IRQ_CULPRIT_VECTOR)
			continue;
		owner = &owners[entry->key.slot];
		if (owner->guest < 0)
			continue; /* released meanwhile: forgotten soon */
		guest = &table->guests[owner->guest];
		apply_entry(tracker, guest, &guest->threads[owner->thread],
			    entry);
	}
	free(owners);
}
