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

static void program_totals(struct loader *loader, uint64_t *run_ns,
			   uint64_t *runs)
{
	struct loader_program_stats programs[LOADER_PROGRAMS];
	int count =
		loader_read_program_stats(loader, programs, LOADER_PROGRAMS);

	*run_ns = 0;
	*runs = 0;
	for (int i = 0; i < count; i++) {
		*run_ns += programs[i].run_time_ns;
		*runs += programs[i].run_count;
	}
}

int snapshot_feed_init(struct snapshot_feed *feed, struct tracker *tracker,
		       struct block_collector *block)
{
	int err;

	memset(feed, 0, sizeof(*feed));
	feed->block = block;
	if (block && block_collector_snapshot(block, &feed->io_before))
		memset(&feed->io_before, 0, sizeof(feed->io_before));
	collect_pass(tracker);
	err = guest_table_copy(&feed->previous, &tracker->table);
	if (err)
		return err;
	feed->window_start_ns = monotonic_ns();
	program_totals(tracker->loader, &feed->bpf_run_ns_before,
		       &feed->bpf_runs_before);
	feed->online_cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
	return 0;
}

void snapshot_feed_free(struct snapshot_feed *feed)
{
	guest_table_free(&feed->previous);
	io_snapshot_free(&feed->io_before);
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
	if (report_write_json(stream, report) == 0 && fflush(stream) == 0)
		doc = json_tokener_parse(text);
	fclose(stream);
	free(text);
	return doc;
}

int snapshot_build(const struct guest_table *before,
		   const struct guest_table *after, uint64_t duration_ns,
		   const uint64_t errors[SCHED_ERR_COUNT],
		   const struct io_report *io, struct snapshot_host *host,
		   char **json)
{
	struct json_object *doc;
	struct report report;
	const char *text;
	int err;

	*json = NULL;
	err = report_build(&report, before, after, duration_ns);
	if (err)
		return err;
	memcpy(report.errors, errors, sizeof(report.errors));
	report.io = io;
	report.features = host->features;
	host->duration_ns = duration_ns;
	host->errors_total = 0;
	for (int i = 0; i < SCHED_ERR_COUNT; i++)
		host->errors_total += errors[i];

	err = -ENOMEM;
	doc = report_object(&report);
	if (doc) {
		snapshot_add_host(doc, host);
		text = json_object_to_json_string_ext(doc,
						      JSON_C_TO_STRING_PLAIN);
		*json = text ? strdup(text) : NULL;
		err = *json ? 0 : -ENOMEM;
		json_object_put(doc);
	}
	report_free(&report);
	return err;
}

int snapshot_feed_next(struct snapshot_feed *feed, struct tracker *tracker,
		       char **json)
{
	uint64_t errors[SCHED_ERR_COUNT] = { 0 };
	struct snapshot_host host = { 0 };
	struct io_snapshot io_now = { 0 };
	struct io_report io;
	struct guest_table current;
	uint64_t now_ns, run_ns, runs;
	bool have_io = false;
	int err;

	*json = NULL;
	collect_pass(tracker);
	if (feed->block && block_collector_snapshot(feed->block, &io_now))
		memset(&io_now, 0, sizeof(io_now));
	now_ns = monotonic_ns();
	err = guest_table_copy(&current, &tracker->table);
	if (err) {
		io_snapshot_free(&io_now);
		return err;
	}
	/* Without I/O figures the window still has steal. */
	if (feed->block)
		have_io = block_collector_report(feed->block, &current,
						 &feed->io_before, &io_now,
						 &io) == 0;
	loader_read_errors(tracker->loader, errors);
	program_totals(tracker->loader, &run_ns, &runs);
	host.seq = ++feed->seq;
	host.online_cpus = feed->online_cpus;
	host.bpf_stats_enabled = bpf_stats_enabled();
	host.bpf_run_ns = run_ns - feed->bpf_run_ns_before;
	host.bpf_runs = runs - feed->bpf_runs_before;
	host.features = feed->features;
	err = snapshot_build(&feed->previous, &current,
			     now_ns - feed->window_start_ns, errors,
			     have_io ? &io : NULL, &host, json);
	if (have_io)
		io_report_free(&io);
	io_snapshot_free(&feed->io_before);
	feed->io_before = io_now;
	/* The next window starts now whatever happened to this one: a view
	 * that missed a frame still gets correct rates from the next. */
	guest_table_free(&feed->previous);
	feed->previous = current;
	feed->window_start_ns = now_ns;
	feed->bpf_run_ns_before = run_ns;
	feed->bpf_runs_before = runs;
	return err;
}
