// SPDX-License-Identifier: GPL-2.0-only
/*
 * Windows as the difference of two samples (model/window.h): the span is
 * the samples' distance, errors and BPF run time are the window's, I/O is
 * asked of the caller's source only when measured, and a sample lives as
 * long as a window holds it. Synthetic samples, no BPF.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "model/window.h"

#define MS 1000000ULL

static struct window_sample *sample_at(uint64_t taken_ns, uint64_t steal_ns)
{
	struct window_sample *sample = window_sample_new();
	struct guest *guest;
	struct thread *thread;

	assert_non_null(sample);
	sample->taken_ns = taken_ns;
	guest = guest_table_add(&sample->table, 100, 1100);
	assert_non_null(guest);
	strcpy(guest->name, "web");
	thread = guest_add_thread(guest, 101);
	assert_non_null(thread);
	thread->kind = THREAD_VCPU;
	thread->vcpu_index = 0;
	thread->counters.steal_ns = steal_ns;
	return sample;
}

struct io_calls {
	int calls;
	int result;
	const struct io_snapshot *before;
	const struct io_snapshot *after;
};

static int fake_io_report(void *ctx, const struct guest_table *table,
			  const struct io_snapshot *before,
			  const struct io_snapshot *after, struct io_report *out)
{
	struct io_calls *calls = ctx;

	calls->calls++;
	calls->before = before;
	calls->after = after;
	memset(out, 0, sizeof(*out));
	out->available = calls->result == 0;
	return calls->result;
}

static void window_is_the_difference_of_two_samples(void **state)
{
	struct window_sample *before = sample_at(1000 * MS, 5 * MS);
	struct window_sample *after = sample_at(1250 * MS, 30 * MS);
	struct window window;

	before->errors[0] = 3;
	after->errors[0] = 7;
	before->errors[1] = 9; /* a counter that went back: 0, not a wrap */
	after->errors[1] = 2;
	before->programs[0].run_time_ns = 100;
	before->programs[0].run_count = 10;
	before->programs[1].run_time_ns = 1000; /* a KVM program */
	before->program_count = 2;
	before->sched_program_count = 1;
	after->programs[0].run_time_ns = 160;
	after->programs[0].run_count = 16;
	after->programs[1].run_time_ns = 9000;
	after->program_count = 2;
	after->sched_program_count = 1;

	assert_int_equal(window_build(&window, before, after, NULL), 0);
	assert_int_equal(window.report.duration_ns, 250 * MS);
	assert_int_equal(window.report.guest_count, 1);
	assert_int_equal(window.report.guests[0].vcpu_total.steal_ns, 25 * MS);
	assert_int_equal(window.report.errors[0], 4);
	assert_int_equal(window.report.errors[1], 0);
	assert_int_equal(window.bpf_run_ns, 60);
	assert_int_equal(window.bpf_runs, 6);
	assert_false(window.has_io);
	assert_null(window.report.io);
	window_free(&window);
	window_sample_drop(before);
	window_sample_drop(after);
}

static void io_comes_from_the_source_when_measured(void **state)
{
	struct window_sample *before = sample_at(0, 0);
	struct window_sample *after = sample_at(10 * MS, 1 * MS);
	struct io_calls calls = { 0 };
	struct window_io_source io = { .report = fake_io_report,
				       .ctx = &calls };
	struct window window;

	/* Not measured (no collector): the source is not asked. */
	assert_int_equal(window_build(&window, before, after, &io), 0);
	assert_int_equal(calls.calls, 0);
	assert_false(window.has_io);
	window_free(&window);

	before->io_measured = after->io_measured = true;
	assert_int_equal(window_build(&window, before, after, &io), 0);
	assert_int_equal(calls.calls, 1);
	assert_ptr_equal(calls.before, &before->io);
	assert_ptr_equal(calls.after, &after->io);
	assert_true(window.has_io);
	assert_ptr_equal(window.report.io, &window.io);
	window_free(&window);

	/* A failed I/O report leaves the window, without I/O. */
	calls.result = -ENOMEM;
	assert_int_equal(window_build(&window, before, after, &io), 0);
	assert_false(window.has_io);
	assert_null(window.report.io);
	assert_int_equal(window.report.guest_count, 1);
	window_free(&window);
	window_sample_drop(before);
	window_sample_drop(after);
}

static void held_samples_outlive_the_tick(void **state)
{
	struct window_sample *tick = sample_at(0, 0);
	struct window_sample *start = NULL, *next;

	window_sample_keep(&start, tick);
	assert_ptr_equal(start, tick);
	assert_int_equal(tick->refs, 2);
	window_sample_drop(tick); /* the loop's reference, at the tick's end */
	assert_int_equal(start->refs, 1);
	assert_int_equal(start->table.guest_count, 1);

	next = sample_at(5 * MS, 1 * MS);
	window_sample_keep(&start, next); /* frees the first */
	assert_ptr_equal(start, next);
	assert_int_equal(next->refs, 2);
	window_sample_drop(next);
	window_sample_drop(start);
	window_sample_drop(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(window_is_the_difference_of_two_samples),
		cmocka_unit_test(io_comes_from_the_source_when_measured),
		cmocka_unit_test(held_samples_outlive_the_tick),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
