// SPDX-License-Identifier: GPL-2.0-only
/*
 * `kvmwarden dump --duration SECONDS [--json]`: measure one window and
 * print one report. The window is the difference of two samples, as the
 * agent's windows are (cmd/sample.h, model/window.h): it starts at the
 * first and ends at the second, right before the report is written;
 * stderr says when it starts, so a caller can line up its own readings
 * with it.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/units.h"
#include "cmd/commands.h"
#include "cmd/sample.h"
#include "collect/feature_check.h"
#include "collect/block_collector.h"
#include "collect/discover.h"
#include "model/features.h"
#include "model/window.h"
#include "report_out.h"

#define MAX_DURATION_S (7 * 24 * 3600.0)

static volatile sig_atomic_t stop_requested;

static void on_stop(int signo)
{
	stop_requested = 1;
}

static int parse_seconds(const char *text, double max_s, uint64_t *out_ns)
{
	char *end;
	double seconds;

	errno = 0;
	seconds = strtod(text, &end);
	if (errno || end == text || *end || !isfinite(seconds) ||
	    seconds <= 0 || seconds > max_s)
		return -EINVAL;
	*out_ns = (uint64_t)(seconds * (double)NS_PER_SEC);
	return *out_ns ? 0 : -EINVAL;
}

static void usage(FILE *out)
{
	fputs("usage: kvmwarden dump --duration SECONDS [--json] "
	      "[--discover-ms MS]\n",
	      out);
}

static void sleep_ns(uint64_t ns)
{
	struct timespec span = { .tv_sec = (time_t)(ns / NS_PER_SEC),
				 .tv_nsec = (long)(ns % NS_PER_SEC) };

	/* EINTR ends the nap early; the caller checks stop_requested. */
	nanosleep(&span, NULL);
}

int cmd_dump(int argc, char **argv)
{
	static const struct option options[] = {
		{ "duration", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "discover-ms", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	uint64_t duration_ns = 0, discover_ns = 500000000ULL;
	struct window_sample *before = NULL, *after = NULL;
	struct window_io_source io_source;
	struct block_collector *block;
	struct features features;
	struct io_snapshot io_names;
	struct io_report io;
	struct loader *loader = NULL;
	struct tracker tracker;
	struct window window;
	uint64_t start_ns, end_ns;
	bool json = false;
	int opt, err, code;

	optind = 1;
	opterr = 0; /* one line of our own instead of getopt's two */
	while ((opt = getopt_long(argc, argv, "d:ji:h", options, NULL)) != -1) {
		switch (opt) {
		case 'd':
			if (parse_seconds(optarg, MAX_DURATION_S,
					  &duration_ns)) {
				log_say("dump: --duration wants "
					"seconds in (0, %.0f], got '%s'\n",
					MAX_DURATION_S, optarg);
				return 2;
			}
			break;
		case 'j':
			json = true;
			break;
		case 'i':
			/* Passes cost an iterator walk; 10 ms is plenty. */
			if (parse_seconds(optarg, 60000, &discover_ns) ||
			    discover_ns < 10 * NS_PER_SEC) {
				log_say("dump: --discover-ms wants "
					"10 to 60000 ms, got '%s'\n",
					optarg);
				return 2;
			}
			discover_ns /= 1000; /* the number was milliseconds */
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			log_say("dump: unknown option or missing "
				"value: '%s' (see kvmwarden dump --help)\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		log_say("dump: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!duration_ns) {
		log_say("dump: --duration SECONDS is required\n");
		return 2;
	}

	/* Keep every thread and guest that existed in the window listed. */
	code = session_open(&loader, &tracker, "/proc", UINT64_MAX);
	if (code)
		return code;
	signal(SIGINT, on_stop);
	signal(SIGTERM, on_stop);
	/* I/O is optional: without it the report still has steal. */
	block = block_collector_open("/proc");
	feature_check_gather(&features, loader, block, tracker.kvm,
			     tracker.irq);
	session_log_features(&features);
	block_collector_sync(block, &tracker.table);
	if (block_collector_snapshot(block, &io_names))
		memset(&io_names, 0, sizeof(io_names));
	/* Names cgroups and devices now, so the report after the last
	 * sample only looks them up: a cgroup walk there would delay the
	 * output that callers line their own end readings up with. */
	if (block_collector_report(block, &tracker.table, NULL, &io_names,
				   &io) == 0)
		io_report_free(&io);
	io_snapshot_free(&io_names);

	/* The I/O set-up above can take a while (under ASan, tens of ms):
	 * a pass now brings spinning vCPUs' on-CPU time up to date, so the
	 * start sample is as fresh as the end one. */
	err = discover_pass(&tracker, monotonic_ns());
	if (err)
		log_warn("discovery pass failed: %s\n", strerror(-err));
	err = sample_take(&tracker, block, &before);
	if (err) {
		log_say("dump: %s\n", strerror(-err));
		block_collector_close(block);
		session_close(loader, &tracker);
		return 1;
	}
	start_ns = before->taken_ns;
	log_say("measuring for %.3f s\n", (double)duration_ns / NS_PER_SEC);
	fflush(stderr);

	for (;;) {
		uint64_t now_ns = monotonic_ns();
		uint64_t left_ns = start_ns + duration_ns > now_ns ?
					   start_ns + duration_ns - now_ns :
					   0;

		if (!left_ns || stop_requested)
			break;
		sleep_ns(left_ns < discover_ns ? left_ns : discover_ns);
		if (stop_requested)
			break;
		if (monotonic_ns() < start_ns + duration_ns) {
			err = discover_pass(&tracker, monotonic_ns());
			if (err)
				log_warn("discovery pass failed: %s\n",
					 strerror(-err));
			block_collector_sync(block, &tracker.table);
		}
	}
	/* A last pass notices exits and brings spinning vCPUs' on-CPU time up
	 * to date (it is otherwise refreshed at switch-out). */
	err = discover_pass(&tracker, monotonic_ns());
	if (err)
		log_warn("discovery pass failed: %s\n", strerror(-err));
	err = sample_take(&tracker, block, &after);
	end_ns = err ? monotonic_ns() : after->taken_ns;
	/* The window is closed: naming cgroups and devices and building the
	 * document take a while yet, so say so now (tests read ground truth
	 * at this line). */
	log_say("measured %.3f s\n", (double)(end_ns - start_ns) / NS_PER_SEC);
	fflush(stderr);

	code = 1;
	io_source = sample_io_source(block);
	if (err || window_build(&window, before, after, &io_source))
		goto cleanup;
	window.report.features = &features;
	err = json ? json_write_report(stdout, &window.report) :
		     table_write_report(stdout, &window.report);
	if (err)
		log_say("dump: cannot write: %s\n", strerror(-err));
	else
		code = 0;
	window_free(&window);
cleanup:
	window_sample_drop(after);
	window_sample_drop(before);
	block_collector_close(block);
	session_close(loader, &tracker);
	return code;
}
