/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Hidden steal on /metrics: the interrupt time taken from guests' threads
 * while they were current, by vector and by culprit, and every host CPU's
 * interrupt time, from the guest table's cumulative counters (README.md).
 * Only writes text; prometheus.c decides which guests are exported.
 */
#ifndef KVMWARDEN_PROM_HIDDEN_H
#define KVMWARDEN_PROM_HIDDEN_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stdio.h>

#include "model/model.h"

struct prom_hidden_view {
	/* One per table guest: false when a newer entry has its labels. */
	const bool *exported;
	/* Set only with per-vCPU series on: whether `thread` is the one
	 * whose counters its vCPU index's series shows. */
	bool (*vcpu_shown)(const struct guest *guest,
			   const struct thread *thread);
};

/* Writes the hidden-steal families; none at all when table->cpu_irq is
 * NULL (the interrupt programs are not loaded): an absent series, never a
 * zero, as for the KVM telemetry. 0 or -ENOMEM. */
int prom_hidden_write(FILE *out, const struct guest_table *table,
		      const struct prom_hidden_view *view);

#endif
