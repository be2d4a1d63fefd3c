// SPDX-License-Identifier: GPL-2.0-only
/*
 * Samples and the windows between them (window.h). The difference itself
 * is report_build()'s and io_report_build()'s: this file decides which
 * two samples, and carries what they alone do not (errors, BPF run time).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/window.h"

struct window_sample *window_sample_new(void)
{
	struct window_sample *sample = calloc(1, sizeof(*sample));

	if (!sample)
		return NULL;
	guest_table_init(&sample->table);
	sample->refs = 1;
	return sample;
}

struct window_sample *window_sample_hold(struct window_sample *sample)
{
	sample->refs++;
	return sample;
}

void window_sample_drop(struct window_sample *sample)
{
	if (!sample || --sample->refs > 0)
		return;
	guest_table_free(&sample->table);
	io_snapshot_free(&sample->io);
	free(sample);
}

void window_sample_keep(struct window_sample **held,
			struct window_sample *sample)
{
	struct window_sample *old = *held;

	*held = window_sample_hold(sample);
	window_sample_drop(old);
}

void window_sample_sched_runs(const struct window_sample *sample,
			      uint64_t *run_ns, uint64_t *runs)
{
	*run_ns = 0;
	*runs = 0;
	for (size_t i = 0; i < sample->sched_program_count; i++) {
		*run_ns += sample->programs[i].run_time_ns;
		*runs += sample->programs[i].run_count;
	}
}

int window_build(struct window *out, const struct window_sample *before,
		 const struct window_sample *after,
		 const struct window_io_source *io)
{
	uint64_t run_before, runs_before;
	int err;

	memset(out, 0, sizeof(*out));
	err = report_build(&out->report, &before->table, &after->table,
			   after->taken_ns - before->taken_ns);
	if (err)
		return err;
	/* Errors of the window, like every other figure: what was lost
	 * before it began is no part of its steal. */
	for (int i = 0; i < SCHED_ERR_COUNT; i++)
		out->report.errors[i] =
			after->errors[i] >= before->errors[i] ?
				after->errors[i] - before->errors[i] :
				0;
	/* Without I/O figures the window still has steal. */
	if (io && io->report && after->io_measured &&
	    io->report(io->ctx, &after->table, &before->io, &after->io,
		       &out->io) == 0) {
		out->has_io = true;
		out->report.io = &out->io;
	}
	window_sample_sched_runs(before, &run_before, &runs_before);
	window_sample_sched_runs(after, &out->bpf_run_ns, &out->bpf_runs);
	out->bpf_run_ns -= run_before;
	out->bpf_runs -= runs_before;
	return 0;
}

void window_free(struct window *window)
{
	if (window->has_io)
		io_report_free(&window->io);
	report_free(&window->report);
	memset(window, 0, sizeof(*window));
}
