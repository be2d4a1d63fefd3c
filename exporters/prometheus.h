/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The Prometheus text exposition format (0.0.4) of the guest table's
 * cumulative counters and of the agent's own health. It only writes text:
 * serving it over HTTP is serve/http.c's job, taking the snapshot run.c's.
 * The agent's own families are prom_health.c's, the primitives
 * prom_write.c's.
 */
#ifndef KVMWARDEN_PROMETHEUS_H
#define KVMWARDEN_PROMETHEUS_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "model/io_model.h"
#include "model/model.h"
#include "prom_health.h"
#include "prom_write.h"

struct prom_options {
	bool per_vcpu; /* per-vCPU series, off by default to bound cardinality */
	const char
		*proc_root; /* where process_* figures come from; NULL: /proc */
};

/*
 * Writes every metric family with # HELP and # TYPE. Guests are exported
 * while they are in the table, exited ones too, so their counters never
 * jump back before they are pruned. Returns 0, -EIO when `out` failed, or
 * -ENOMEM; `out` may then hold part of the text.
 */
int prometheus_write(FILE *out, const struct guest_table *table,
		     const struct prom_health *health,
		     const struct prom_options *opts);

/* The I/O families (prometheus_io.c) of a cumulative report: written
 * after prometheus_write()'s, never instead of them. */
void prometheus_io_write(FILE *out, const struct io_report *io);

#endif
