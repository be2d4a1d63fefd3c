// SPDX-License-Identifier: GPL-2.0-only
/*
 * `kvmwarden run`'s loop (cmd/run_loop.h). Each tick sleeps, applies a
 * reload, runs a discovery pass and takes one sample (cmd/sample.h): the
 * tick's only read of the BPF counters. /metrics gets the sample whole;
 * the socket feed, the enforcer (every interval_ms) and the summary (every
 * summary_interval_s) each hold the sample their window began with and
 * take the difference (model/window.h) when their span is up, so a 10 s
 * summary does not slow a 250 ms controller down, and all of them read the
 * same counters.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actuate/audit.h"
#include "base/log.h"
#include "base/units.h"
#include "cmd/run_config.h"
#include "cmd/run_loop.h"
#include "cmd/run_summary.h"
#include "cmd/sample.h"
#include "serve/notify.h"
#include "serve/snapshot.h"

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reload_requested;

static void on_stop(int signo)
{
	stop_requested = 1;
}

static void on_reload(int signo)
{
	reload_requested = 1;
}

void run_loop_install_signals(void)
{
	struct sigaction stop = { .sa_handler = on_stop };
	struct sigaction reload = { .sa_handler = on_reload };

	sigaction(SIGINT, &stop, NULL);
	sigaction(SIGTERM, &stop, NULL);
	sigaction(SIGHUP, &reload, NULL);
	/* A peer that went away (libvirtd's socket, a socket client, a
	 * closed stderr) must not kill the agent before it undoes its
	 * changes: writes then fail with EPIPE, which every caller handles.
	 * libvirt asks its client programs to ignore it too. */
	signal(SIGPIPE, SIG_IGN);
}

static void sleep_ms(uint64_t ms)
{
	struct timespec span = { .tv_sec = (time_t)(ms / 1000),
				 .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&span, NULL);
}

/* Sleeps ms in steps of at most ping_ms, telling the service manager's
 * watchdog after each one (ping_ms 0: no watchdog, one step), so that a
 * discovery interval longer than WatchdogSec still keeps the agent alive.
 * A stop or reload request ends it early. */
static void sleep_pinging(uint64_t ms, uint64_t ping_ms)
{
	while (ping_ms && ms > ping_ms && !stop_requested &&
	       !reload_requested) {
		sleep_ms(ping_ms);
		notify_watchdog();
		ms -= ping_ms;
	}
	if (!stop_requested && !reload_requested)
		sleep_ms(ms);
}

/* The counters as text, rendered here where they change, so /metrics
 * reads a plain value and never the audit trail. */
void run_loop_publish_actions(struct metrics *metrics)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);

	if (!mem)
		return;
	audit_write_metrics(mem);
	if (fclose(mem) == 0)
		metrics_publish_actions(metrics, text);
	free(text);
}

/* Hands the tick's figures to the endpoint. Out of memory keeps the
 * previous copy: scrapes then repeat it, which is better than none. */
static void publish(const struct run_loop_agent *agent,
		    const struct window_sample *sample, uint64_t discovery_ns,
		    uint64_t lag_ns)
{
	struct tracker *tracker = agent->tracker;
	struct prom_health health = {
		.tracker = tracker->stats,
		.slots_in_use = slot_pool_in_use(&tracker->slots),
		.slots_max = tracker->slots.capacity,
		.last_discovery_ns = discovery_ns,
		.loop_lag_ns = lag_ns,
		.programs = sample->programs,
		.program_count = sample->program_count,
	};
	struct io_report io;
	int err;

	memcpy(health.errors, sample->errors, sizeof(health.errors));
	if (metrics_publish(agent->metrics, &sample->table, &health))
		log_warn("metrics not updated: out of memory\n");
	if (!agent->io_collector)
		return;
	/* Cumulative, since the block programs loaded. */
	err = sample->io_read ?
		      block_collector_report(agent->io_collector,
					     &sample->table, NULL, &sample->io,
					     &io) :
		      -EIO;
	if (!err) {
		err = metrics_publish_io(agent->metrics, &io);
		io_report_free(&io);
	}
	if (err)
		log_warn("I/O metrics not updated\n");
}

/* Every interval_ms: the window since the last one, for the socket. */
static void publish_window(const struct run_loop_agent *agent,
			   struct snapshot_feed *feed,
			   struct window_sample *sample)
{
	struct api_status status = {
		.mode = config_mode_name(agent->config->mode),
		.features_json = agent->features_text,
	};
	char *json;
	int err;

	if (!agent->api || sample->taken_ns - feed->start->taken_ns <
				   agent->config->interval_ms * NS_PER_MS)
		return;
	err = snapshot_feed_next(feed, sample, &json);
	if (err)
		log_warn("window not published: %s\n", strerror(-err));
	status.guests = run_summary_live_guests(&agent->tracker->table);
	status.seq = feed->seq;
	if (api_publish(agent->api, json, &status))
		log_warn("window not published: out of memory\n");
	free(json);
}

/* Enforcement's own window, one interval_ms long, apart from the summary
 * window so a 10 s summary does not slow a 250 ms controller down. The
 * first tick only starts it. */
static void enforce_tick(const struct run_loop_agent *agent,
			 struct window_sample **start,
			 struct window_sample *sample,
			 const struct window_io_source *io)
{
	struct window window;

	if (*start && sample->taken_ns - (*start)->taken_ns <
			      agent->config->interval_ms * NS_PER_MS)
		return;
	if (*start && window_build(&window, *start, sample, io) == 0) {
		enforcer_step(agent->enforcer, &window.report,
			      sample->taken_ns / NS_PER_MS);
		window_free(&window);
	}
	window_sample_keep(start, sample);
}

/* Every summary_interval_s (0: never), counted from `now_ns`, when the
 * tick's pass began: a line per guest over the window. */
static void summary_tick(const struct config *config,
			 struct window_sample **start,
			 struct window_sample *sample, uint64_t now_ns)
{
	struct window window;

	if (!config->summary_interval_s ||
	    now_ns - (*start)->taken_ns <
		    config->summary_interval_s * 1000 * NS_PER_MS)
		return;
	if (window_build(&window, *start, sample, NULL) == 0) {
		run_summary_log(&window.report);
		window_free(&window);
	}
	window_sample_keep(start, sample);
}

/* SIGHUP: the new file, when valid, replaces the configuration but for
 * what only a restart changes; else the old one stays. */
static void reload(struct run_loop_agent *agent)
{
	struct config *config = agent->config;
	struct enforcer *enforcer = agent->enforcer;
	struct config fresh;

	reload_requested = 0;
	if (run_config_load(agent->config_path, agent->config_given, &fresh) ||
	    run_config_refuse_budgets(&fresh.enforce, agent->features)) {
		log_warn("keeping the previous configuration\n");
		return;
	}
	if (strcmp(fresh.listen_address, config->listen_address) ||
	    strcmp(fresh.web_config, config->web_config))
		log_warn("listen_address and web_config change at the next "
			 "restart\n");
	metrics_set_per_vcpu(agent->metrics, fresh.per_vcpu_metrics);
	if (fresh.mode != enforcer->file_mode)
		log_warn("the mode changes at the next restart\n");
	enforcer->file_mode = fresh.mode;
	fresh.mode = config->mode;
	*config = fresh;
	enforcer_reload(enforcer, config);
	agent->tracker->retain_ns =
		(uint64_t)fresh.retain_exited_s * 1000 * NS_PER_MS;
	log_notice("configuration reloaded (mode %s)\n",
		   config_mode_name(config->mode));
}

int run_loop(struct run_loop_agent *agent)
{
	struct tracker *tracker = agent->tracker;
	struct config *config = agent->config;
	struct window_io_source io = sample_io_source(agent->io_collector);
	struct window_sample *sample, *summary_start, *enforce_start = NULL;
	struct snapshot_feed feed;
	uint64_t last_id = 0, pass_ns = monotonic_ns();
	/* A quarter of WatchdogSec: pings come at least twice per timeout
	 * even when a discovery pass takes as long as a sleep step. */
	uint64_t ping_ms = (notify_watchdog_usec() + 3999) / 4000;
	char status[64];
	size_t shown_live;
	int err;

	err = sample_take(tracker, agent->io_collector, &sample);
	if (err)
		return err;
	publish(agent, sample, 0, 0);
	/* The loop's reference becomes the summary window's start. */
	summary_start = sample;
	err = snapshot_feed_init(&feed, sample, io);
	if (err) {
		window_sample_drop(summary_start);
		return err;
	}
	feed.features = agent->features;
	run_summary_announce(&tracker->table, &last_id, 0);
	/* Ready: BPF is loaded, the guests running now are found (by
	 * session_open's first pass) and the endpoint serves. */
	shown_live = run_summary_live_guests(&tracker->table);
	snprintf(status, sizeof(status), "measuring %zu guest%s", shown_live,
		 shown_live == 1 ? "" : "s");
	notify_ready(status);

	while (!stop_requested) {
		uint64_t now_ns, asleep_ns, interval_ns, discovery_ns;

		interval_ns = config->discover_interval_ms * NS_PER_MS;
		asleep_ns = monotonic_ns();
		if (ping_ms)
			notify_watchdog();
		sleep_pinging(config->discover_interval_ms, ping_ms);
		if (stop_requested)
			break;
		/* How much later than asked the loop woke: a host too busy
		 * to run the agent on time. */
		asleep_ns = monotonic_ns() - asleep_ns;
		if (reload_requested)
			reload(agent);
		now_ns = monotonic_ns();
		err = discover_pass(tracker, now_ns);
		discovery_ns = monotonic_ns() - now_ns;
		if (err)
			log_warn("discovery pass failed: %s\n", strerror(-err));
		/* The tick's one read of the counters; without it (out of
		 * memory) every window waits for the next tick. */
		if (sample_take(tracker, agent->io_collector, &sample)) {
			sample = NULL;
			log_warn("metrics not updated: out of memory\n");
		} else {
			publish(agent, sample,
				discovery_ns,
				asleep_ns > interval_ns ? asleep_ns - interval_ns :
							  0);
			publish_window(agent, &feed, sample);
		}
		run_summary_announce(&tracker->table, &last_id, pass_ns);
		pass_ns = now_ns;
		if (sample) {
			enforce_tick(agent, &enforce_start, sample, &io);
			run_loop_publish_actions(agent->metrics);
		}
		if (run_summary_live_guests(&tracker->table) != shown_live) {
			shown_live = run_summary_live_guests(&tracker->table);
			notify_status("measuring %zu guest%s", shown_live,
				      shown_live == 1 ? "" : "s");
		}
		if (sample)
			summary_tick(config, &summary_start, sample, now_ns);
		window_sample_drop(sample);
	}
	window_sample_drop(summary_start);
	window_sample_drop(enforce_start);
	snapshot_feed_free(&feed);
	return 0;
}
