/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The Prometheus text exposition format (0.0.4) of the guest table's
 * cumulative counters and of the agent's own health. It only writes text:
 * serving it over HTTP is agent/http.c's job, taking the snapshot run.c's.
 */
#ifndef KVMWARDEN_PROMETHEUS_H
#define KVMWARDEN_PROMETHEUS_H

#ifdef __bpf__
#error "userspace-only header"
/* The I/O families (prometheus_io.c) of a cumulative report: written
 * after prom_write_metrics()'s, never instead of them. */
void prom_write_io(FILE *out, const struct io_report *io);

#endif

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "collect/discover.h"
#include "model/feature_table.h"
#include "model/io_model.h"
#include "load/loader.h"
#include "model/model.h"

/* The agent's own figures, gathered by the caller at scrape time. */
struct prom_health {
	const char *version; /* kvmwarden_build_info{version} */
	/* process_start_time_seconds; 0: read it from /proc */
	uint64_t start_time_unix_ns;
	const struct loader_program_stats *programs;
	size_t program_count;
	uint64_t errors[SCHED_ERR_COUNT]; /* BPF side, since load */
	struct tracker_stats tracker;
	uint64_t slots_in_use;
	uint64_t slots_max;
	uint64_t last_discovery_ns; /* how long the last pass took */
	uint64_t previous_scrape_ns; /* how long the scrape before this took */
	uint64_t loop_lag_ns; /* how late the last loop iteration woke up */
	/* What loaded (feature_table.h); NULL: kvmwarden_feature_available is
	 * not written. */
	const struct features *features;
};

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
int prom_write_metrics(FILE *out, const struct guest_table *table,
		       const struct prom_health *health,
		       const struct prom_options *opts);

/* Writes `value` with backslash, double quote and newline escaped, as a
 * label value must be. */
void prom_write_label_value(FILE *out, const char *value);
/* Writes ns as seconds, exactly and without trailing zeros: 1500000000 is
 * "1.5", 3 is "0.000000003". */
void prom_write_seconds(FILE *out, uint64_t ns);

/* The I/O families (prometheus_io.c) of a cumulative report: written
 * after prom_write_metrics()'s, never instead of them. */
void prom_write_io(FILE *out, const struct io_report *io);

#endif
