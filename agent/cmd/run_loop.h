/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `run`'s measurement loop: one discovery pass and one sample per tick,
 * and from that sample every window its consumers need.
 */
#ifndef KVMWARDEN_CMD_RUN_LOOP_H
#define KVMWARDEN_CMD_RUN_LOOP_H

#include <stdbool.h>

#include "actuate/enforce.h"
#include "collect/block_collector.h"
#include "collect/discover.h"
#include "config/config.h"
#include "model/features.h"
#include "serve/api.h"
#include "serve/metrics.h"

/* What the loop works with; the caller's, kept for the loop's length. */
struct run_loop_agent {
	struct tracker *tracker;
	struct config *config; /* replaced on a valid reload */
	const char *config_path;
	bool config_given;
	struct metrics *metrics;
	struct enforcer *enforcer;
	struct api_server *api; /* NULL: no socket */
	struct block_collector *io_collector; /* NULL: no I/O */
	const struct features *features;
	const char *features_text; /* features as the socket's status has it */
};

/* SIGINT and SIGTERM stop the loop, SIGHUP reloads the configuration;
 * SIGPIPE is ignored. */
void run_loop_install_signals(void);

/* Runs until a stop is asked for. 0, or -errno when it could not start. */
int run_loop(struct run_loop_agent *agent);

/* Hands the enforcement actions' counters (the audit trail's) to
 * /metrics; the loop does it after each enforcement tick. */
void run_loop_publish_actions(struct metrics *metrics);

#endif
