// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd/sample.h: the counters read once per tick. The loaders write the
 * programs' statistics straight into the sample (model/health.h's type).
 */
#include <errno.h>
#include <string.h>

#include "cmd/sample.h"

_Static_assert(LOADER_PROGRAMS + KVM_LOADER_PROGRAMS + IRQ_LOADER_PROGRAMS <=
		       WINDOW_PROGRAMS_MAX,
	       "a sample keeps every program's statistics");

static size_t read_programs(struct tracker *tracker,
			    struct window_sample *sample)
{
	size_t total;
	int count;

	/* Failures leave figures out rather than fail the sample. */
	count = loader_read_program_stats(tracker->loader, sample->programs,
					  LOADER_PROGRAMS);
	total = count > 0 ? (size_t)count : 0;
	sample->sched_program_count = total;
	if (tracker->kvm) {
		count = kvm_loader_read_program_stats(tracker->kvm,
						      sample->programs + total,
						      KVM_LOADER_PROGRAMS);
		total += count > 0 ? (size_t)count : 0;
	}
	if (tracker->irq) {
		count = irq_loader_read_program_stats(tracker->irq,
						      sample->programs + total,
						      IRQ_LOADER_PROGRAMS);
		total += count > 0 ? (size_t)count : 0;
	}
	return total;
}

int sample_take(struct tracker *tracker, struct block_collector *block,
		struct window_sample **out)
{
	struct window_sample *sample = window_sample_new();
	int err;

	*out = NULL;
	if (!sample)
		return -ENOMEM;
	if (block)
		block_collector_sync(block, &tracker->table);
	collect_pass(tracker);
	/* Right with the counters: lost steal keeps growing after them, and
	 * counted later it would not match the window. */
	loader_read_errors(tracker->loader, sample->errors);
	if (block) {
		sample->io_measured = true;
		sample->io_read =
			block_collector_snapshot(block, &sample->io) == 0;
		if (!sample->io_read)
			memset(&sample->io, 0, sizeof(sample->io));
	}
	sample->taken_ns = monotonic_ns();
	sample->program_count = read_programs(tracker, sample);
	err = guest_table_copy(&sample->table, &tracker->table);
	if (err) {
		window_sample_drop(sample);
		return err;
	}
	*out = sample;
	return 0;
}

static int report_io(void *ctx, const struct guest_table *table,
		     const struct io_snapshot *before,
		     const struct io_snapshot *after, struct io_report *out)
{
	return block_collector_report(ctx, table, before, after, out);
}

struct window_io_source sample_io_source(struct block_collector *block)
{
	struct window_io_source source = { .report = block ? report_io : NULL,
					   .ctx = block };

	return source;
}

int sample_feed_init(struct snapshot_feed *feed, struct tracker *tracker,
		     struct block_collector *block)
{
	struct window_sample *first;
	int err;

	err = sample_take(tracker, block, &first);
	if (err)
		return err;
	err = snapshot_feed_init(feed, first, sample_io_source(block));
	window_sample_drop(first);
	return err;
}

int sample_feed_next(struct snapshot_feed *feed, struct tracker *tracker,
		     struct block_collector *block, char **json)
{
	struct window_sample *sample;
	int err;

	*json = NULL;
	err = sample_take(tracker, block, &sample);
	if (err)
		return err;
	err = snapshot_feed_next(feed, sample, json);
	window_sample_drop(sample);
	return err;
}
