/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One sample per tick, and every window as the difference of two samples.
 * The run loop reads the BPF side once per tick into a sample (cmd/sample.c
 * does the reading); each consumer of a window (the enforcer's interval,
 * the 10 s summary, the socket feed, dump's one window) holds the sample
 * its window began with and, when its span is up, takes the difference to
 * the tick's. Pure: no syscalls, no clock; samples are shared by reference
 * count on the one thread that takes them.
 */
#ifndef KVMWARDEN_WINDOW_H
#define KVMWARDEN_WINDOW_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/health.h"
#include "model/io_model.h"
#include "model/model.h"

/* The BPF programs whose kernel statistics a sample keeps: the scheduler,
 * KVM and interrupt objects', with room to spare. */
#define WINDOW_PROGRAMS_MAX 40

/* Everything the windows need, cumulative, at one instant. */
struct window_sample {
	uint64_t taken_ns; /* monotonic, right after the counters were read */
	struct guest_table table; /* a copy: later ticks do not change it */
	/* Block I/O: measured (a collector exists), and read this time (when
	 * the read failed, `io` is empty, as a window then reports it). */
	bool io_measured;
	bool io_read;
	struct io_snapshot io;
	uint64_t errors[SCHED_ERR_COUNT]; /* the scheduler programs' */
	/* The scheduler object's programs first (sched_program_count of
	 * them), then the KVM object's. */
	struct loader_program_stats programs[WINDOW_PROGRAMS_MAX];
	size_t program_count;
	size_t sched_program_count;
	int refs; /* holders: the loop and each window that starts here */
};

/* A sample with one reference and an empty table, or NULL (ENOMEM). */
struct window_sample *window_sample_new(void);
/* Another reference to `sample`, which is returned. */
struct window_sample *window_sample_hold(struct window_sample *sample);
/* Gives a reference back; the last one frees. NULL is ignored. */
void window_sample_drop(struct window_sample *sample);
/* Makes *held (NULL: none yet) `sample`: the usual step of a window that
 * closed and starts again at the tick's sample. */
void window_sample_keep(struct window_sample **held,
			struct window_sample *sample);

/* The scheduler programs' summed run time and runs, as the socket feed's
 * "host" reports them. */
void window_sample_sched_runs(const struct window_sample *sample,
			      uint64_t *run_ns, uint64_t *runs);

/* The I/O report of a window: naming the owners' cgroups and devices
 * reads the system, so the caller brings it (cmd/sample.c's uses the
 * block collector). 0 or -errno; on error, the window has no I/O. */
struct window_io_source {
	int (*report)(void *ctx, const struct guest_table *table,
		      const struct io_snapshot *before,
		      const struct io_snapshot *after, struct io_report *out);
	void *ctx;
};

struct window {
	/* The figures of [before, after]; report.errors are the window's
	 * (after - before, clamped at 0), report.io points at `io` when it
	 * was built, so a window is used where window_build() made it. */
	struct report report;
	struct io_report io;
	bool has_io;
	/* The scheduler programs' run time and runs in the window. */
	uint64_t bpf_run_ns;
	uint64_t bpf_runs;
};

/* The window from `before` to `after`. `io` (NULL: none) builds its I/O
 * when `after` measured I/O; a failure there leaves the window without
 * I/O, not failed. 0 or -ENOMEM (nothing to free then). */
int window_build(struct window *out, const struct window_sample *before,
		 const struct window_sample *after,
		 const struct window_io_source *io);
void window_free(struct window *window);

#endif
