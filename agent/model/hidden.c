// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hidden steal's arithmetic and names (model/hidden.h).
 */
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
