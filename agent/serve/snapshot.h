/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The live window every interactive view reads: the `dump --json` document
 * over the last interval, plus host totals (the agent's BPF run time,
 * error counters) and a sequence number. The agent builds one per
 * interval and serves it on its socket (api.c); `top` without an agent
 * builds the same one in-process, so both paths show the same figures.
 */
#ifndef KVMWARDEN_SNAPSHOT_H
#define KVMWARDEN_SNAPSHOT_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stdint.h>

#include "collect/block_collector.h"
#include "collect/discover.h"

struct snapshot_feed {
	struct guest_table previous; /* the table when the window began */
	uint64_t window_start_ns;
	uint64_t bpf_run_ns_before; /* summed over the agent's programs */
	uint64_t bpf_runs_before;
	uint64_t seq; /* windows built so far; 1 is the first */
	int online_cpus;
	struct block_collector *block; /* I/O, or NULL: not the feed's */
	struct io_snapshot io_before;
	/* What loaded (feature_table.h), NULL: not reported; the caller's, set
	 * after init and kept as long as the feed. */
	const struct features *features;
};

/* Starts the first window at the tracker's current state. `block` (may be
 * NULL) adds each guest's "io" to the windows; the caller keeps it synced
 * with the guest table and closes it after the feed. 0 or -errno. */
int snapshot_feed_init(struct snapshot_feed *feed, struct tracker *tracker,
		       struct block_collector *block);
void snapshot_feed_free(struct snapshot_feed *feed);

/* Collects, closes the window at now and opens the next one. *json is one
 * line of JSON without a newline, malloc'd; the caller frees it. On error
 * the window keeps running and *json is NULL. */
int snapshot_feed_next(struct snapshot_feed *feed, struct tracker *tracker,
		       char **json);

/* Adds the "host" and "seq" members to a dump document; pure, for tests.
 * bpf_run_ns and bpf_runs are deltas over duration_ns. */
struct snapshot_host {
	uint64_t seq;
	uint64_t duration_ns;
	int online_cpus;
	bool bpf_stats_enabled;
	uint64_t bpf_run_ns;
	uint64_t bpf_runs;
	uint64_t errors_total; /* cumulative, every error counter */
	const struct features *features; /* the document's "features" */
};
struct json_object;
void snapshot_add_host(struct json_object *doc,
		       const struct snapshot_host *host);

/* The window document for [before, after], pure: `io` (NULL: none) is the
 * window's I/O as dump reports it, `host` brings seq, CPUs
 * and BPF figures; its duration and errors_total are filled here from
 * duration_ns and `errors` (cumulative, as the dump document has them).
 * *json as for snapshot_feed_next. 0 or -ENOMEM. */
int snapshot_build(const struct guest_table *before,
		   const struct guest_table *after, uint64_t duration_ns,
		   const uint64_t errors[SCHED_ERR_COUNT],
		   const struct io_report *io, struct snapshot_host *host,
		   char **json);

#endif
