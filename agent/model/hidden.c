// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hidden steal's arithmetic and names (model/hidden.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/hidden.h"

#define FIELDS (sizeof(struct irq_counts) / sizeof(uint64_t))

/* struct irq_counts is nothing but u64 counters (bpf/irq.h pins it), so
 * field-wise arithmetic may walk it as an array. */
static uint64_t *as_array(struct irq_counts *counts)
{
	return (uint64_t *)counts;
}

static const uint64_t *as_const_array(const struct irq_counts *counts)
{
	return (const uint64_t *)counts;
}

void hidden_counts_add(struct irq_counts *sum, const struct irq_counts *add)
{
	uint64_t *to = as_array(sum);
	const uint64_t *from = as_const_array(add);

	for (size_t i = 0; i < FIELDS; i++)
		to[i] += from[i];
}

void hidden_counts_delta(struct irq_counts *out,
			 const struct irq_counts *after,
			 const struct irq_counts *before)
{
	uint64_t *to = as_array(out);
	const uint64_t *now = as_const_array(after);
	const uint64_t *then = as_const_array(before);

	for (size_t i = 0; i < FIELDS; i++)
		to[i] = now[i] > then[i] ? now[i] - then[i] : 0;
}

static uint64_t sum(const __u64 *values, int count)
{
	uint64_t total = 0;

	for (int i = 0; i < count; i++)
		total += values[i];
	return total;
}

uint64_t hidden_irq_ns(const struct irq_counts *counts)
{
	return sum(counts->hard_ns, IRQ_HARD_KINDS);
}

uint64_t hidden_irq_count(const struct irq_counts *counts)
{
	return sum(counts->hard_count, IRQ_HARD_KINDS);
}

uint64_t hidden_softirq_ns(const struct irq_counts *counts)
{
	return sum(counts->soft_ns, IRQ_SOFTIRQ_VECTORS);
}

uint64_t hidden_softirq_count(const struct irq_counts *counts)
{
	return sum(counts->soft_count, IRQ_SOFTIRQ_VECTORS);
}

const char *hidden_softirq_name(int vector)
{
	static const char *const names[IRQ_SOFTIRQ_VECTORS] = {
		"HI",	    "TIMER",   "NET_TX", "NET_RX",  "BLOCK",
		"IRQ_POLL", "TASKLET", "SCHED",	 "HRTIMER", "RCU",
	};

	return vector >= 0 && vector < IRQ_SOFTIRQ_VECTORS ? names[vector] :
							     NULL;
}

const char *hidden_hard_kind_name(int kind)
{
	static const char *const names[IRQ_HARD_KINDS] = {
		"DEVICE",	 "LOCAL_TIMER", "RESCHEDULE",
		"CALL_FUNCTION", "CALL_FUNCTION_SINGLE",
		"IRQ_WORK",	 "OTHER_VECTOR",
	};

	return kind >= 0 && kind < IRQ_HARD_KINDS ? names[kind] : NULL;
}

const char *hidden_irq_error_name(int which)
{
	static const char *const names[IRQ_ERR_COUNT] = {
		[IRQ_ERR_CULPRITS_FULL] = "culprits_full",
		[IRQ_ERR_UNMATCHED_EXIT] = "unmatched_exit",
	};

	return which >= 0 && which < IRQ_ERR_COUNT ? names[which] : NULL;
}

const char *hidden_culprit_kind_name(enum hidden_culprit_kind kind)
{
	switch (kind) {
	case HIDDEN_CULPRIT_GUEST:
		return "guest";
	case HIDDEN_CULPRIT_DEVICE:
		return "device";
	case HIDDEN_CULPRIT_IRQ:
		return "irq";
	}
	return "unknown";
}

void hidden_culprit_show(const struct hidden_culprit_total *entry,
			 enum hidden_culprit_kind *kind, char *name,
			 size_t name_size)
{
	const char *vector;

	switch (entry->bpf_kind) {
	case IRQ_CULPRIT_DEVICE:
		if (entry->owner[0]) {
			*kind = HIDDEN_CULPRIT_GUEST;
			snprintf(name, name_size, "%s", entry->owner);
		} else {
			*kind = HIDDEN_CULPRIT_DEVICE;
			/* ifindex 0: packets past the BPF side's table */
			snprintf(name, name_size, "%s",
				 entry->id && entry->device[0] ? entry->device :
								 "other");
		}
		return;
	case IRQ_CULPRIT_VECTOR:
		*kind = HIDDEN_CULPRIT_IRQ;
		vector = hidden_hard_kind_name((int)entry->id);
		snprintf(name, name_size, "%s", vector ? vector : "vector");
		/* lower case: a vector reads like an action name */
		for (char *c = name; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		return;
	default:
		*kind = HIDDEN_CULPRIT_IRQ;
		if (entry->device[0])
			snprintf(name, name_size, "%s", entry->device);
		else
			snprintf(name, name_size, "irq-%u", entry->id);
	}
}

static uint64_t ns_before(const struct hidden_culprit_total *before,
			  size_t before_count,
			  const struct hidden_culprit_total *now,
			  uint64_t *count_before)
{
	for (size_t i = 0; i < before_count; i++) {
		const struct hidden_culprit_total *then = &before[i];

		if (then->thread_seq == now->thread_seq &&
		    then->bpf_kind == now->bpf_kind &&
		    then->netns == now->netns && then->id == now->id) {
			*count_before = then->count;
			return then->ns;
		}
	}
	*count_before = 0;
	return 0;
}

static int compare_culprits(const void *a, const void *b)
{
	const struct report_hidden_culprit *x = a, *y = b;

	if (x->ns != y->ns)
		return x->ns > y->ns ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* The row of (kind, name, netns) in rows[0..*used), added when missing. */
static struct report_hidden_culprit *
row_for(struct report_hidden_culprit *rows, size_t *used,
	enum hidden_culprit_kind kind, const char *name, uint32_t netns)
{
	struct report_hidden_culprit *row;

	for (size_t i = 0; i < *used; i++)
		if (rows[i].kind == kind && rows[i].netns == netns &&
		    strcmp(rows[i].name, name) == 0)
			return &rows[i];
	row = &rows[(*used)++];
	memset(row, 0, sizeof(*row));
	row->kind = kind;
	row->netns = netns;
	snprintf(row->name, sizeof(row->name), "%s", name);
	return row;
}

/* The device a row stands for (model/hidden.h): a device's own name, or
 * for a guest the tap that took the most of the row's time in the window
 * (steering moves one device; a guest's taps stay one culprit). */
static void row_device(struct report_hidden_culprit *row,
		       const struct hidden_culprit_total *before,
		       size_t before_count,
		       const struct hidden_culprit_total *after,
		       size_t after_count, uint64_t thread_seq)
{
	uint64_t largest_ns = 0;

	row->device[0] = '\0';
	for (size_t i = 0; i < after_count; i++) {
		const struct hidden_culprit_total *now = &after[i];
		enum hidden_culprit_kind kind;
		char name[PROCFS_NAME_LEN];
		uint64_t then_count, then_ns;

		if (now->thread_seq != thread_seq ||
		    now->bpf_kind != IRQ_CULPRIT_DEVICE || !now->id ||
		    !now->device[0])
			continue;
		hidden_culprit_show(now, &kind, name, sizeof(name));
		if (kind != row->kind || strcmp(name, row->name) ||
		    (kind == HIDDEN_CULPRIT_DEVICE && now->netns != row->netns))
			continue;
		then_ns = ns_before(before, before_count, now, &then_count);
		if (now->ns > then_ns && now->ns - then_ns > largest_ns) {
			largest_ns = now->ns - then_ns;
			snprintf(row->device, sizeof(row->device), "%s",
				 now->device);
		}
	}
}

int hidden_culprits_build(struct report_hidden_culprit **out, size_t *count,
			  const struct hidden_culprit_total *before,
			  size_t before_count,
			  const struct hidden_culprit_total *after,
			  size_t after_count, uint64_t thread_seq)
{
	struct report_hidden_culprit *rows = NULL;
	size_t used = 0, mine = 0;

	*out = NULL;
	*count = 0;
	for (size_t i = 0; i < after_count; i++)
		mine += after[i].thread_seq == thread_seq;
	if (!mine)
		return 0;
	rows = calloc(mine, sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	for (size_t i = 0; i < after_count; i++) {
		const struct hidden_culprit_total *now = &after[i];
		struct report_hidden_culprit *row;
		enum hidden_culprit_kind kind;
		char name[PROCFS_NAME_LEN];
		uint64_t then_count, then_ns;

		if (now->thread_seq != thread_seq)
			continue;
		then_ns = ns_before(before, before_count, now, &then_count);
		if (now->ns <= then_ns)
			continue;
		hidden_culprit_show(now, &kind, name, sizeof(name));
		/* A guest is one culprit whichever of its taps carried the
		 * packets; a device is told apart by its namespace. */
		row = row_for(rows, &used, kind, name,
			      kind == HIDDEN_CULPRIT_DEVICE ? now->netns : 0);
		row->ns += now->ns - then_ns;
		row->count += now->count > then_count ? now->count - then_count :
							0;
	}
	if (!used) {
		free(rows);
		return 0;
	}
	for (size_t r = 0; r < used; r++)
		row_device(&rows[r], before, before_count, after, after_count,
			   thread_seq);
	qsort(rows, used, sizeof(*rows), compare_culprits);
	*out = rows;
	*count = used;
	return 0;
}
