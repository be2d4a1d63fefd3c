// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hidden steal in the `dump --json` document (json_hidden.h). Every list
 * of vectors or kinds is complete, in the kernel's order, zeros included,
 * so a reader never has to tell a missing key from a zero. Culprits are
 * merged by (kind, name, netns) and listed largest first.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "model/hidden.h"
#include "json_hidden.h"

static void put_u64(struct json_object *obj, const char *key, uint64_t value)
{
	json_object_object_add(obj, key, json_object_new_uint64(value));
}

static void put_string(struct json_object *obj, const char *key,
		       const char *value)
{
	json_object_object_add(obj, key, json_object_new_string(value));
}

/* [{"<key>": NAME, "ns": N, "count": N}, ...] over `rows` entries. */
static struct json_object *rows_json(const char *key,
				     const char *(*name_of)(int),
				     const __u64 *ns, const __u64 *count,
				     int rows)
{
	struct json_object *list = json_object_new_array();

	for (int i = 0; i < rows; i++) {
		struct json_object *row = json_object_new_object();

		put_string(row, key, name_of(i));
		put_u64(row, "ns", ns[i]);
		put_u64(row, "count", count[i]);
		json_object_array_add(list, row);
	}
	return list;
}

static struct json_object *by_vector_json(const struct irq_counts *counts)
{
	return rows_json("vector", hidden_softirq_name, counts->soft_ns,
			 counts->soft_count, IRQ_SOFTIRQ_VECTORS);
}

static struct json_object *by_kind_json(const char *key,
					const struct irq_counts *counts)
{
	return rows_json(key, hidden_hard_kind_name, counts->hard_ns,
			 counts->hard_count, IRQ_HARD_KINDS);
}

static bool same_culprit(const struct report_hidden_culprit *a,
			 const struct report_hidden_culprit *b)
{
	return a->kind == b->kind && a->netns == b->netns &&
	       !strcmp(a->name, b->name);
}

static int compare_culprits(const void *left, const void *right)
{
	const struct report_hidden_culprit *a = left, *b = right;

	if (a->ns != b->ns)
		return a->ns > b->ns ? -1 : 1;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	return strcmp(a->name, b->name);
}

/* Merges `count` entries into `merged` (which holds `used`); returns the
 * new number held. */
static size_t merge_culprits(struct report_hidden_culprit *merged, size_t used,
			     const struct report_hidden_culprit *culprits,
			     size_t count)
{
	for (size_t i = 0; i < count; i++) {
		size_t at = 0;

		while (at < used && !same_culprit(&merged[at], &culprits[i]))
			at++;
		if (at == used) {
			merged[used++] = culprits[i];
			continue;
		}
		merged[at].ns += culprits[i].ns;
		merged[at].count += culprits[i].count;
	}
	return used;
}

/* The culprits list of `threads` (one thread, or a guest's vCPUs). */
static struct json_object *culprits_json(const struct report_thread *threads,
					 size_t thread_count)
{
	struct json_object *list = json_object_new_array();
	struct report_hidden_culprit *merged;
	size_t total = 0, used = 0;

	for (size_t t = 0; t < thread_count; t++)
		total += threads[t].hidden_culprit_count;
	if (!total)
		return list;
	merged = calloc(total, sizeof(*merged));
	if (!merged)
		return list; /* json-c's own failures are as quiet */
	for (size_t t = 0; t < thread_count; t++)
		used = merge_culprits(merged, used, threads[t].hidden_culprits,
				      threads[t].hidden_culprit_count);
	qsort(merged, used, sizeof(*merged), compare_culprits);
	for (size_t i = 0; i < used; i++) {
		struct json_object *obj;

		/* A culprit that took nothing says nothing. */
		if (!merged[i].ns && !merged[i].count)
			continue;
		obj = json_object_new_object();
		put_string(obj, "kind",
			   hidden_culprit_kind_name(merged[i].kind));
		put_string(obj, "name", merged[i].name);
		put_u64(obj, "ns", merged[i].ns);
		put_u64(obj, "count", merged[i].count);
		/* Interface indexes and names repeat across namespaces. */
		if (merged[i].kind == HIDDEN_CULPRIT_DEVICE)
			put_u64(obj, "netns", merged[i].netns);
		json_object_array_add(list, obj);
	}
	free(merged);
	return list;
}

static struct json_object *hidden_json(const struct irq_counts *counts,
				       const struct report_thread *threads,
				       size_t thread_count)
{
	struct json_object *obj = json_object_new_object();

	put_u64(obj, "irq_ns", hidden_irq_ns(counts));
	put_u64(obj, "irq_count", hidden_irq_count(counts));
	put_u64(obj, "softirq_ns", hidden_softirq_ns(counts));
	put_u64(obj, "softirq_count", hidden_softirq_count(counts));
	json_object_object_add(obj, "by_vector", by_vector_json(counts));
	json_object_object_add(obj, "irq_by_kind",
			       by_kind_json("kind", counts));
	json_object_object_add(obj, "culprits",
			       culprits_json(threads, thread_count));
	return obj;
}

static void add_threads(struct json_object *list,
			const struct report_thread *threads, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		struct json_object *obj = json_object_array_get_idx(list, i);

		if (obj)
			json_object_object_add(
				obj, "hidden",
				hidden_json(&threads[i].delta.hidden,
					    &threads[i], 1));
	}
}

/* {"ns": N, "count": N, "by_vector": [...]}: one context of one CPU. */
static struct json_object *cpu_context_json(const struct irq_counts *counts,
					    bool softirq)
{
	struct json_object *obj = json_object_new_object();

	if (softirq) {
		put_u64(obj, "ns", hidden_softirq_ns(counts));
		put_u64(obj, "count", hidden_softirq_count(counts));
		json_object_object_add(obj, "by_vector",
				       by_vector_json(counts));
	} else {
		put_u64(obj, "ns", hidden_irq_ns(counts));
		put_u64(obj, "count", hidden_irq_count(counts));
		/* The hard kinds' names, under the same key as softirq's,
		 * so both contexts read alike. */
		json_object_object_add(obj, "by_vector",
				       by_kind_json("vector", counts));
	}
	return obj;
}

static void add_cpus(struct json_object *cpus, const struct report *report)
{
	for (int cpu = 0; cpu < report->cpu_irq_count; cpu++) {
		struct json_object *obj = json_object_array_get_idx(cpus, cpu);

		/* cpus[] follows cpu_wait_ns; a CPU only the interrupt
		 * figures know of still gets its entry. */
		if (!obj) {
			obj = json_object_new_object();
			json_object_object_add(obj, "cpu",
					       json_object_new_int(cpu));
			json_object_array_add(cpus, obj);
		}
		json_object_object_add(obj, "softirq",
				       cpu_context_json(&report->cpu_irq[cpu],
							true));
		json_object_object_add(obj, "irq",
				       cpu_context_json(&report->cpu_irq[cpu],
							false));
	}
}

void json_hidden_add_errors(struct json_object *doc,
			    const struct report *report)
{
	struct json_object *errors;

	if (!report->cpu_irq)
		return;
	errors = json_object_new_object();
	for (int i = 0; i < IRQ_ERR_COUNT; i++)
		put_u64(errors, hidden_irq_error_name(i), report->irq_errors[i]);
	json_object_object_add(doc, "irq_errors", errors);
}

void json_hidden_add(struct json_object *guests, struct json_object *cpus,
		     const struct report *report)
{
	if (!report->cpu_irq)
		return;
	for (size_t i = 0; i < report->guest_count; i++) {
		const struct report_guest *guest = &report->guests[i];
		struct json_object *obj = json_object_array_get_idx(guests, i);
		struct json_object *vcpus = NULL, *others = NULL;

		if (!obj)
			continue;
		/* The vCPUs' own totals, like steal_ns beside it; the
		 * culprits are those of the vCPUs listed. */
		json_object_object_add(obj, "hidden",
				       hidden_json(&guest->vcpu_total.hidden,
						   guest->vcpus,
						   guest->vcpu_count));
		if (json_object_object_get_ex(obj, "vcpus", &vcpus))
			add_threads(vcpus, guest->vcpus, guest->vcpu_count);
		if (json_object_object_get_ex(obj, "other_threads", &others))
			add_threads(others, guest->others, guest->other_count);
	}
	add_cpus(cpus, report);
}
