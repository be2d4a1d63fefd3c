/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What /metrics serves: a copy of the guest table and the agent's health,
 * published by the measurement loop after each tick's sample and rendered
 * by the HTTP thread. It owns the locking between the two; the text format
 * is exporters/prometheus.c's, the serving serve/http.c's. It reads plain
 * values only: the loop (cmd/) brings the figures, never the tracker.
 */
#ifndef KVMWARDEN_METRICS_H
#define KVMWARDEN_METRICS_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stdio.h>
#include <threads.h>

#include "model/io_model.h"
#include "model/model.h"
#include "prometheus.h"

struct features;
struct metrics_snapshot;

struct metrics {
	/* C11's mutex: <pthread.h> pulls in <sched.h>, which -Ibpf turns
	 * into bpf/sched.h. Guards every field below. */
	mtx_t lock;
	struct metrics_snapshot *current; /* NULL until the first publish */
	const char *version;
	bool per_vcpu;
	uint64_t previous_scrape_ns;
	char *io_text; /* the I/O families, rendered at publish; may be NULL */
	char *actions_text; /* the enforcement actions' family; may be NULL */
	const struct features *features; /* NULL: not reported */
};

/* Returns 0 or -ENOMEM. */
int metrics_init(struct metrics *metrics, const char *version, bool per_vcpu);
/* After http_stop(): no render may be running. */
void metrics_free(struct metrics *metrics);
void metrics_set_per_vcpu(struct metrics *metrics, bool per_vcpu);
/* The feature table every scrape reports from now on; it is read, never
 * copied, so it must outlive the endpoint. */
void metrics_set_features(struct metrics *metrics,
			  const struct features *features);

/* Copies `table` and `health` (its programs too) for the next scrapes.
 * The copy is made outside the lock, so the loop waits for a scrape only
 * as long as a pointer swap. Returns 0 or -ENOMEM (the old copy stays). */
int metrics_publish(struct metrics *metrics, const struct guest_table *table,
		    const struct prom_health *health);

/* Renders the I/O families of a cumulative report (since load) for the
 * next scrapes. Returns 0 or -ENOMEM (the old text stays). */
int metrics_publish_io(struct metrics *metrics, const struct io_report *io);

/* The enforcement actions' family as Prometheus text (the audit trail's
 * counters, written by the loop that acts), copied for the next scrapes,
 * which write it last. Returns 0 or -ENOMEM (the old text stays). */
int metrics_publish_actions(struct metrics *metrics, const char *text);

/* An http_render_fn; ctx is a struct metrics. Safe on any thread. */
int metrics_render(FILE *out, void *ctx);

#endif
