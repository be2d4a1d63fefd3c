// SPDX-License-Identifier: GPL-2.0-only
/*
 * `kvmwarden top`: options, then the source of windows, then the view
 * (top/). top asks the running agent for its window over the local
 * socket; with no agent it loads the BPF programs itself and builds the
 * same window in-process, as dump does. That measuring (the loader, the
 * tracker, the I/O collector) is a command's work, so it lives here and
 * the view only reads window documents.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/units.h"
#include "cmd/commands.h"
#include "cmd/sample.h"
#include "cmd/top.h"
#include "collect/feature_check.h"
#include "collect/discover.h"
#include "model/features.h"
#include "serve/snapshot.h"
#include "top/top.h"
#include "top/top_options.h"
#include "top/top_source.h"

/* Exited guests stay in the in-process table this long, as in the agent. */
#define LOCAL_RETAIN_NS 60000000000ULL

/* The in-process measurement, kept open between windows. */
struct top_local {
	struct loader *loader;
	struct tracker tracker;
	struct block_collector *block; /* I/O; NULL when out of memory */
	struct snapshot_feed feed;
	struct features features; /* what loaded here */
};

/* Returns 0 or an exit code after one line on stderr. */
static int local_open(struct top_local *local)
{
	int err, code;

	memset(local, 0, sizeof(*local));
	code = session_open(&local->loader, &local->tracker, "/proc",
			    LOCAL_RETAIN_NS);
	if (code)
		return code;
	/* I/O is optional, as in dump: without it the columns show "-". */
	local->block = block_collector_open("/proc");
	/* Each sample syncs the block collector's watched guests itself. */
	err = sample_feed_init(&local->feed, &local->tracker, local->block);
	if (err) {
		log_say("top: %s\n", strerror(-err));
		block_collector_close(local->block);
		session_close(local->loader, &local->tracker);
		return 1;
	}
	/* Not logged: the screen shows them, stderr would tear it. */
	feature_check_gather(&local->features, local->loader, local->block,
			     local->tracker.kvm, local->tracker.irq);
	local->feed.features = &local->features;
	return 0;
}

/* top_measure_fn: the window since the last call, as JSON text. */
static int local_measure(void *measurer, char **text)
{
	struct top_local *local = measurer;
	int err;

	err = discover_pass(&local->tracker, monotonic_ns());
	if (!err)
		err = sample_feed_next(&local->feed, &local->tracker,
				       local->block, text);
	return err;
}

static void local_close(struct top_local *local)
{
	snapshot_feed_free(&local->feed);
	block_collector_close(local->block);
	session_close(local->loader, &local->tracker);
}

/* The agent when it answers (unless `local_only`), else in-process
 * (unless `agent_only`). Returns 0 or an exit code after one line on
 * stderr. */
static int source_open(struct top_source *src, struct top_local *local,
		       const char *socket_path, bool local_only,
		       bool agent_only, bool quiet)
{
	int err = -ENOENT, code;

	top_source_init(src, socket_path);
	if (!local_only) {
		err = top_source_connect(src);
		if (!err)
			return 0;
	}
	if (agent_only) {
		log_say("top: no agent answers on %s: %s\n", socket_path,
			strerror(-err));
		return 1;
	}
	if (!quiet)
		log_say("top: no agent on %s; measuring "
			"in-process\n",
			socket_path);
	code = local_open(local);
	if (code)
		return code;
	top_source_measure_with(src, local_measure, local);
	return 0;
}

int cmd_top(int argc, char **argv)
{
	struct top_options opts;
	struct top_source src;
	struct top_local local;
	int code;

	code = top_options_parse(argc, argv, &opts);
	if (code)
		return code < 0 ? 0 : code;
	if (!isatty(STDOUT_FILENO))
		opts.batch = true;
	code = source_open(&src, &local, opts.socket_path, opts.local,
			   opts.agent_only, false);
	if (code)
		return code;
	code = top_run(&src, &opts);
	if (!src.agent)
		local_close(&local);
	return code;
}
