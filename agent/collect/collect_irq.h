/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Collection of hidden steal: the interrupt programs' per-CPU counts and
 * culprit entries into the guest table (the per-thread counts come with
 * each thread's, tracker_collect_thread). Cumulative, no deltas here.
 */
#ifndef KVMWARDEN_COLLECT_IRQ_H
#define KVMWARDEN_COLLECT_IRQ_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collect/tracker.h"

/* Host CPUs whose interrupt counts are kept. */
#define COLLECT_IRQ_MAX_CPUS 1024

/* What collection reads from the interrupt programs' maps in one call. */
struct collect_irq_reading {
	struct irq_counts *cpu; /* NULL: not read */
	int cpu_count;
	struct irq_loader_culprit *culprits; /* NULL: not read */
	size_t culprit_count;
	uint64_t errors[IRQ_ERR_COUNT]; /* cumulative, summed over CPUs */
	bool errors_read;
};

/* Reads the maps into `out` (collect_irq_reading_free frees it); reads
 * nothing when the tracker has no interrupt loader. */
void collect_irq_read(struct tracker *tracker, struct collect_irq_reading *out);
void collect_irq_reading_free(struct collect_irq_reading *reading);

/* The reading into the table: per-CPU counts into table.cpu_irq, the
 * error counters into table.irq_errors, culprit
 * entries into each victim thread's guest (hidden_culprits, by the
 * thread's seq, with the owner of a guest's device named), and the
 * entries of threads no longer in their guest dropped. */
void collect_irq_apply(struct tracker *tracker,
		       const struct collect_irq_reading *reading);

#endif
