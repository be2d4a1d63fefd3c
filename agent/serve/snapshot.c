// SPDX-License-Identifier: GPL-2.0-only
/*
 * Builds the window document. It reuses the `dump --json` writer through a
 * memory stream and parses the text back, rather than sharing json-c
 * objects with exporters/json.c: that file is the dump contract and stays
 * the one place that names its fields; the extra parse costs well under a
 * millisecond a window for a few dozen guests.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "report_out.h"
#include "serve/snapshot.h"

static void put_u64(struct json_object *obj, const char *key, uint64_t value)
{
	json_object_object_add(obj, key, json_object_new_uint64(value));
}

void snapshot_add_host(struct json_object *doc,
		       const struct snapshot_host *host)
{
	struct json_object *obj = json_object_new_object();
	double capacity_ns = (double)host->duration_ns *
			     (host->online_cpus > 0 ? host->online_cpus : 1);

	json_object_object_add(doc, "seq", json_object_new_uint64(host->seq));
	json_object_object_add(obj, "online_cpus",
			       json_object_new_int(host->online_cpus));
	json_object_object_add(
		obj, "bpf_stats_enabled",
		json_object_new_boolean(host->bpf_stats_enabled));
	put_u64(obj, "bpf_run_ns", host->bpf_run_ns);
	put_u64(obj, "bpf_runs", host->bpf_runs);
	/* Share of all CPUs' time: what the operator compares with 100 %. */
	json_object_object_add(
		obj, "bpf_cpu_pct",
		json_object_new_double(
			capacity_ns > 0 ?
				100.0 * (double)host->bpf_run_ns / capacity_ns :
				0.0));
	put_u64(obj, "errors_total", host->errors_total);
	json_object_object_add(doc, "host", obj);
}

/* kernel.bpf_stats_enabled: run times stay 0 without it, which a view
 * must show as "unknown", not as "free". */
static bool bpf_stats_enabled(void)
{
	FILE *file = fopen("/proc/sys/kernel/bpf_stats_enabled", "r");
	int value = 0;

	if (!file)
		return false;
	if (fscanf(file, "%d", &value) != 1)
		value = 0;
	fclose(file);
	return value == 1;
}

int snapshot_feed_init(struct snapshot_feed *feed, struct window_sample *first,
		       struct window_io_source io)
{
	memset(feed, 0, sizeof(*feed));
	feed->start = window_sample_hold(first);
	feed->io = io;
	feed->online_cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
	return 0;
}

void snapshot_feed_free(struct snapshot_feed *feed)
{
	window_sample_drop(feed->start);
	feed->start = NULL;
}

/* The dump writer's text, parsed back into an object we can extend. */
static struct json_object *report_object(const struct report *report)
{
	struct json_object *doc = NULL;
	char *text = NULL;
	size_t len = 0;
	FILE *stream = open_memstream(&text, &len);

	if (!stream)
		return NULL;
	if (json_write_report(stream, report) == 0 && fflush(stream) == 0)
		doc = json_tokener_parse(text);
	fclose(stream);
	free(text);
	return doc;
}

/* The document of `report`, which gets `errors`, `io` and the host's
 * features here; host's duration and errors_total are filled from them. */
static int write_document(struct report *report,
			  const uint64_t errors[SCHED_ERR_COUNT],
			  const struct io_report *io,
			  struct snapshot_host *host, char **json)
{
	struct json_object *doc;
	const char *text;
	int err;

	memcpy(report->errors, errors, sizeof(report->errors));
	report->io = io;
	report->features = host->features;
	host->duration_ns = report->duration_ns;
	host->errors_total = 0;
	for (int i = 0; i < SCHED_ERR_COUNT; i++)
		host->errors_total += errors[i];

	err = -ENOMEM;
	doc = report_object(report);
	if (doc) {
		snapshot_add_host(doc, host);
		text = json_object_to_json_string_ext(doc,
						      JSON_C_TO_STRING_PLAIN);
		*json = text ? strdup(text) : NULL;
		err = *json ? 0 : -ENOMEM;
		json_object_put(doc);
	}
	return err;
}

int snapshot_build(const struct guest_table *before,
		   const struct guest_table *after, uint64_t duration_ns,
		   const uint64_t errors[SCHED_ERR_COUNT],
		   const struct io_report *io, struct snapshot_host *host,
		   char **json)
{
	struct report report;
	int err;

	*json = NULL;
	err = report_build(&report, before, after, duration_ns);
	if (err)
		return err;
	err = write_document(&report, errors, io, host, json);
	report_free(&report);
	return err;
}

int snapshot_feed_next(struct snapshot_feed *feed, struct window_sample *now,
		       char **json)
{
	struct snapshot_host host = { 0 };
	struct window window;
	int err;

	*json = NULL;
	host.seq = ++feed->seq;
	err = window_build(&window, feed->start, now, &feed->io);
	if (!err) {
		host.online_cpus = feed->online_cpus;
		host.bpf_stats_enabled = bpf_stats_enabled();
		host.bpf_run_ns = window.bpf_run_ns;
		host.bpf_runs = window.bpf_runs;
		host.features = feed->features;
		/* The document's errors are cumulative, as they always were. */
		err = write_document(&window.report, now->errors,
				     window.has_io ? &window.io : NULL, &host,
				     json);
		window_free(&window);
	}
	/* The next window starts now whatever happened to this one: a view
	 * that missed a frame still gets correct rates from the next. */
	window_sample_keep(&feed->start, now);
	return err;
}
