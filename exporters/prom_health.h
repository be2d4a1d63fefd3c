/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's own figures as /metrics shows them. The caller gathers them
 * at publish or scrape time (serve/metrics.c, from the loaders and the
 * tracker) into struct prom_health, in the model's own types
 * (model/health.h), so this writer knows neither.
 */
#ifndef KVMWARDEN_PROM_HEALTH_H
#define KVMWARDEN_PROM_HEALTH_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "model/features.h"
#include "model/health.h"
#include "model/model.h"

/* The agent's own figures, gathered by the caller at scrape time. */
struct prom_health {
	const char *version; /* kvmwarden_build_info{version} */
	/* process_start_time_seconds; 0: read it from /proc */
	uint64_t start_time_unix_ns;
	const struct loader_program_stats *programs; /* must outlive this */
	size_t program_count;
	uint64_t errors[SCHED_ERR_COUNT]; /* BPF side, since load */
	struct tracker_stats tracker; /* discovery's, since the start */
	uint64_t slots_in_use;
	uint64_t slots_max;
	uint64_t last_discovery_ns; /* how long the last pass took */
	uint64_t previous_scrape_ns; /* how long the scrape before this took */
	uint64_t loop_lag_ns; /* how late the last loop iteration woke up */
	/* What loaded (model/features.h); NULL: kvmwarden_feature_available
	 * is not written. */
	const struct features *features;
};

/* The agent's families, then the process_* ones (from proc_root/self). */
void prom_health_write(FILE *out, const struct prom_health *health,
		       const char *proc_root);

#endif
