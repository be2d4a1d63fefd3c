/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Loading and attaching the interrupt programs (bpf/irq.bpf.c, hidden
 * steal), and reading their maps. Optional: without them steal is measured
 * as before and the feature says why it is off. The only file that sees
 * irq.skel.h.
 */
#ifndef KVMWARDEN_IRQ_LOADER_H
#define KVMWARDEN_IRQ_LOADER_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "irq.h"
#include "load/loader.h"

struct irq_loader;

/*
 * Opens, loads and attaches what this kernel allows, sharing the
 * scheduler's task storage (which says which threads are tracked), so
 * `sched` must be open. Returns 0 with *out set even when nothing attached
 * (irq_loader_available() then says why), or -ENOMEM.
 */
int irq_loader_open(struct irq_loader **out, struct loader *sched);
void irq_loader_close(struct irq_loader *loader);

/* Hidden steal is available when the softirq and device IRQ programs
 * attached; `why` says what failed otherwise. */
bool irq_loader_available(const struct irq_loader *loader);
const char *irq_loader_why(const struct irq_loader *loader);
/* Optional parts: the system vectors that attached ("" when none) and
 * whether device culprits are noted (netif_receive_skb), with why not. */
const char *irq_loader_vectors(const struct irq_loader *loader);
bool irq_loader_devices_available(const struct irq_loader *loader);
const char *irq_loader_devices_why(const struct irq_loader *loader);

struct prog_check;
/* Loads each interrupt program alone, configured as irq_loader_open()
 * would on this kernel (`kvmwarden check-kernel`). Returns the rows
 * filled or a negative errno. */
int irq_loader_check(struct prog_check *rows, size_t max);

/* The live counts of a slot (read-only view of the mapped array), NULL
 * when not loaded or out of range. */
const struct irq_counts *irq_loader_thread_counts(struct irq_loader *loader,
						  uint32_t slot);
/* Zeroes a slot before it is handed to a new thread. */
void irq_loader_reset_slot(struct irq_loader *loader, uint32_t slot);

/* Each CPU's counts in every context, cumulative, into per_cpu[0..]:
 * returns how many CPUs were filled or a negative errno. */
int irq_loader_read_cpu_counts(struct irq_loader *loader,
			       struct irq_counts *per_cpu, int max_cpus);

struct irq_loader_culprit {
	struct irq_culprit_key key;
	struct irq_culprit_value value;
};

/* Every culprit entry; *entries is malloc'd, caller frees. */
int irq_loader_read_culprits(struct irq_loader *loader,
			     struct irq_loader_culprit **entries,
			     size_t *count);
/* Drops every culprit entry of `slot` (its thread was released). */
int irq_loader_forget_slot(struct irq_loader *loader, uint32_t slot);

/* Error counters (enum irq_error) summed over CPUs. */
int irq_loader_read_errors(struct irq_loader *loader,
			   uint64_t totals[IRQ_ERR_COUNT]);

/* irq_handler and softirq entry and exit, netif_receive_skb, and nine
 * system vectors' entry and exit. */
#define IRQ_LOADER_PROGRAMS 23

/* The attached programs' kernel statistics (see loader.h). */
int irq_loader_read_program_stats(struct irq_loader *loader,
				  struct loader_program_stats *out,
				  size_t max);

#endif
