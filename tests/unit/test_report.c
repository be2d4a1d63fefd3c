// SPDX-License-Identifier: GPL-2.0-only
/*
 * Window reports from synthetic guest tables: deltas, guest sums over
 * vCPUs, guests and threads that appear or vanish mid-window, recycled
 * pids, and pruning between the two copies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "model/model.h"

#define MS 1000000ULL

struct tables {
	struct guest_table live;
	struct guest_table before;
	struct guest_table after;
	struct report report;
};

static int setup(void **state)
{
	static struct tables t;

	memset(&t, 0, sizeof(t));
	guest_table_init(&t.live);
	*state = &t;
	return 0;
}

static int teardown(void **state)
{
	struct tables *t = *state;

	report_free(&t->report);
	guest_table_free(&t->live);
	guest_table_free(&t->before);
	guest_table_free(&t->after);
	return 0;
}

static struct thread *add(struct guest *guest, int tid, enum thread_kind kind,
			  int vcpu_index)
{
	struct thread *thread = guest_add_thread(guest, tid);

	assert_non_null(thread);
	thread->kind = kind;
	thread->vcpu_index = vcpu_index;
	return thread;
}

static void counts(struct thread *thread, uint64_t steal_ns, uint64_t run_ns,
		   uint64_t waits)
{
	thread->counters.steal_ns = steal_ns;
	thread->counters.run_ns = run_ns;
	thread->counters.waits = waits;
	thread->counters
		.wait_hist[sched_wait_slot(steal_ns / (waits ? waits : 1))] =
		waits;
}

static struct guest *add_guest(struct guest_table *table, int pid,
			       const char *name)
{
	struct guest *guest = guest_table_add(table, pid, 1000 + pid);

	assert_non_null(guest);
	strcpy(guest->name, name);
	return guest;
}

static const struct report_guest *find(const struct report *report,
				       const char *name)
{
	for (size_t i = 0; i < report->guest_count; i++)
		if (!strcmp(report->guests[i].name, name))
			return &report->guests[i];
	fail_msg("guest %s not in report", name);
	return NULL;
}

static void deltas_and_vcpu_sums(void **state)
{
	struct tables *t = *state;
	struct guest *web = add_guest(&t->live, 100, "web");
	const struct report_guest *row;

	counts(add(web, 101, THREAD_VCPU, 1), 10 * MS, 100 * MS, 5);
	counts(add(web, 102, THREAD_VCPU, 0), 20 * MS, 200 * MS, 10);
	counts(add(web, 100, THREAD_EMULATOR, -1), 1 * MS, 5 * MS, 2);
	assert_int_equal(guest_table_copy(&t->before, &t->live), 0);

	web = guest_table_find(&t->live, 100, 1100);
	counts(guest_find_thread(web, 101), 25 * MS, 150 * MS, 8);
	counts(guest_find_thread(web, 102), 20 * MS, 900 * MS, 10);
	counts(guest_find_thread(web, 100), 4 * MS, 6 * MS, 3);
	assert_int_equal(guest_table_copy(&t->after, &t->live), 0);

	assert_int_equal(
		report_build(&t->report, &t->before, &t->after, 1000 * MS), 0);
	assert_int_equal(t->report.duration_ns, 1000 * MS);
	row = find(&t->report, "web");
	assert_int_equal(row->vcpu_count, 2);
	/* Sorted by vCPU index, not by tid or insertion order. */
	assert_int_equal(row->vcpus[0].vcpu_index, 0);
	assert_int_equal(row->vcpus[0].tid, 102);
	assert_int_equal(row->vcpus[0].delta.steal_ns, 0);
	assert_int_equal(row->vcpus[0].delta.run_ns, 700 * MS);
	assert_int_equal(row->vcpus[1].delta.steal_ns, 15 * MS);
	assert_int_equal(row->vcpus[1].delta.waits, 3);
	assert_int_equal(row->vcpu_total.steal_ns, 15 * MS);
	assert_int_equal(row->vcpu_total.run_ns, 750 * MS);
	/* Other threads are reported apart, never summed into the guest. */
	assert_int_equal(row->other_count, 1);
	assert_int_equal(row->others[0].kind, THREAD_EMULATOR);
	assert_int_equal(row->other_total.steal_ns, 3 * MS);
}

static void newcomers_count_from_zero(void **state)
{
	struct tables *t = *state;
	struct guest *old, *young;

	old = add_guest(&t->live, 200, "old");
	counts(add(old, 201, THREAD_VCPU, 0), 5 * MS, 50 * MS, 1);
	assert_int_equal(guest_table_copy(&t->before, &t->live), 0);

	old = guest_table_find(&t->live, 200, 1200);
	counts(add(old, 202, THREAD_VCPU, 1), 7 * MS, 70 * MS, 2);
	young = add_guest(&t->live, 300, "young");
	counts(add(young, 301, THREAD_VCPU, 0), 9 * MS, 90 * MS, 3);
	assert_int_equal(guest_table_copy(&t->after, &t->live), 0);

	assert_int_equal(report_build(&t->report, &t->before, &t->after, MS),
			 0);
	assert_int_equal(find(&t->report, "old")->vcpu_total.steal_ns, 7 * MS);
	assert_int_equal(find(&t->report, "young")->vcpu_total.steal_ns,
			 9 * MS);
	assert_int_equal(find(&t->report, "young")->vcpu_total.run_ns, 90 * MS);
}

static void recycled_pid_never_inherits(void **state)
{
	struct tables *t = *state;
	struct guest *first, *second;

	first = add_guest(&t->live, 400, "first");
	counts(add(first, 400, THREAD_VCPU, 0), 500 * MS, 500 * MS, 50);
	assert_int_equal(guest_table_copy(&t->before, &t->live), 0);

	first = guest_table_find(&t->live, 400, 1400);
	first->exited = true;
	first->threads[0].exited = true;
	/* Same pid, same tid, new process: must start from zero. */
	second = guest_table_add(&t->live, 400, 9999);
	strcpy(second->name, "second");
	counts(add(second, 400, THREAD_VCPU, 0), 3 * MS, 30 * MS, 1);
	assert_int_equal(guest_table_copy(&t->after, &t->live), 0);

	assert_int_equal(report_build(&t->report, &t->before, &t->after, MS),
			 0);
	assert_int_equal(t->report.guest_count, 2);
	assert_int_equal(find(&t->report, "second")->vcpu_total.steal_ns,
			 3 * MS);
	assert_int_equal(find(&t->report, "first")->vcpu_total.steal_ns, 0);
	assert_true(find(&t->report, "first")->exited);
}

static void pruned_threads_keep_totals_exact(void **state)
{
	struct tables *t = *state;
	struct guest *guest = add_guest(&t->live, 500, "pruned");
	struct thread *worker;

	counts(add(guest, 501, THREAD_VCPU, 0), 10 * MS, 10 * MS, 1);
	worker = add(guest, 502, THREAD_OTHER, -1);
	counts(worker, 40 * MS, 40 * MS, 4);
	assert_int_equal(guest_table_copy(&t->before, &t->live), 0);

	guest = guest_table_find(&t->live, 500, 1500);
	worker = guest_find_thread(guest, 502);
	counts(worker, 46 * MS, 41 * MS, 5); /* 6 ms more, then it exits */
	worker->exited = true;
	worker->exited_at_ns = 0;
	guest_table_prune(&t->live, 10, 5, NULL, NULL);
	assert_int_equal(guest->thread_count, 1);
	assert_int_equal(guest_table_copy(&t->after, &t->live), 0);

	assert_int_equal(report_build(&t->report, &t->before, &t->after, MS),
			 0);
	assert_int_equal(find(&t->report, "pruned")->other_total.steal_ns,
			 6 * MS);
	assert_int_equal(find(&t->report, "pruned")->other_count, 0);
}

static void record_slot(int slot, void *ctx)
{
	*(int *)ctx = slot;
}

static void prune_returns_slots_and_drops_dead_guests(void **state)
{
	struct tables *t = *state;
	struct guest *guest = add_guest(&t->live, 600, "gone");
	struct thread *vcpu = add(guest, 601, THREAD_VCPU, 0);
	int released = -1;

	vcpu->slot = 42;
	vcpu->exited = true;
	vcpu->exited_at_ns = 100;
	guest->exited = true;
	guest->exited_at_ns = 100;
	guest_table_prune(&t->live, 150, 100, NULL, NULL);
	assert_int_equal(t->live.guest_count, 1); /* retained for 100 ns */

	guest_table_prune(&t->live, 200, 100, record_slot, &released);
	assert_int_equal(released, 42);
	assert_int_equal(t->live.guest_count, 0);
}

static void copy_is_deep(void **state)
{
	struct tables *t = *state;
	struct guest *guest = add_guest(&t->live, 700, "deep");

	counts(add(guest, 701, THREAD_VCPU, 0), MS, MS, 1);
	assert_int_equal(guest_table_copy(&t->before, &t->live), 0);
	guest_table_find(&t->live, 700, 1700)->threads[0].counters.steal_ns =
		99;
	assert_int_equal(t->before.guests[0].threads[0].counters.steal_ns, MS);
}

static void culprits_are_window_deltas_largest_first(void **state)
{
	struct tables *t = *state;
	struct guest *guest = add_guest(&t->live, 800, "victim");
	const struct report_guest *row;

	counts(add(guest, 801, THREAD_VCPU, 0), 30 * MS, MS, 3);
	guest_culprit(guest, ATTR_CULPRIT_GUEST, 7)->steal_ns = 10 * MS;
	guest_culprit(guest, ATTR_CULPRIT_IDLE, 0)->steal_ns = 5 * MS;
	guest_culprit(guest, ATTR_CULPRIT_KERNEL, 0)->steal_ns = 2 * MS;
	assert_int_equal(guest_table_copy(&t->before, &t->live), 0);

	guest = guest_table_find(&t->live, 800, 1800);
	guest_culprit(guest, ATTR_CULPRIT_GUEST, 7)->steal_ns = 12 * MS;
	guest_culprit(guest, ATTR_CULPRIT_IDLE, 0)->steal_ns = 5 * MS;
	guest_culprit(guest, ATTR_CULPRIT_KERNEL, 0)->steal_ns = 2 * MS;
	strcpy(guest_culprit(guest, ATTR_CULPRIT_CGROUP, 99)->name, "/backup");
	guest_culprit(guest, ATTR_CULPRIT_CGROUP, 99)->steal_ns = 9 * MS;
	assert_int_equal(guest_table_copy(&t->after, &t->live), 0);

	assert_int_equal(report_build(&t->report, &t->before, &t->after, MS),
			 0);
	row = find(&t->report, "victim");
	/* Unchanged culprits are left out; a newcomer counts from zero. */
	assert_int_equal(row->culprit_count, 2);
	assert_int_equal(row->culprits[0].kind, ATTR_CULPRIT_CGROUP);
	assert_string_equal(row->culprits[0].name, "/backup");
	assert_int_equal(row->culprits[0].steal_ns, 9 * MS);
	assert_int_equal(row->culprits[1].kind, ATTR_CULPRIT_GUEST);
	assert_int_equal(row->culprits[1].steal_ns, 2 * MS);
	assert_string_equal(culprit_kind_name(ATTR_CULPRIT_THROTTLED),
			    "throttled");
}

static void cpu_waits_are_window_deltas(void **state)
{
	struct tables *t = *state;
	static uint64_t then[2] = { 5, 100 }, now[2] = { 5, 350 };

	t->live.cpu_wait_ns = then;
	t->live.cpu_count = 2;
	assert_int_equal(guest_table_copy(&t->before, &t->live), 0);
	t->live.cpu_wait_ns = now;
	assert_int_equal(guest_table_copy(&t->after, &t->live), 0);
	t->live.cpu_wait_ns = NULL; /* static: not the table's to free */
	t->live.cpu_count = 0;
	assert_int_equal(report_build(&t->report, &t->before, &t->after, MS),
			 0);
	assert_int_equal(t->report.cpu_count, 2);
	assert_int_equal(t->report.cpu_wait_ns[0], 0);
	assert_int_equal(t->report.cpu_wait_ns[1], 250);
}

static void delta_never_goes_negative(void **state)
{
	struct thread_counters before = { .steal_ns = 10, .waits = 5 };
	struct thread_counters after = { .steal_ns = 4, .waits = 7 };
	struct thread_counters out;

	thread_counters_delta(&out, &after, &before);
	assert_int_equal(out.steal_ns, 0);
	assert_int_equal(out.waits, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(deltas_and_vcpu_sums, setup,
						teardown),
		cmocka_unit_test_setup_teardown(newcomers_count_from_zero,
						setup, teardown),
		cmocka_unit_test_setup_teardown(recycled_pid_never_inherits,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			pruned_threads_keep_totals_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(
			prune_returns_slots_and_drops_dead_guests, setup,
			teardown),
		cmocka_unit_test_setup_teardown(copy_is_deep, setup, teardown),
		cmocka_unit_test_setup_teardown(
			culprits_are_window_deltas_largest_first, setup,
			teardown),
		cmocka_unit_test_setup_teardown(cpu_waits_are_window_deltas,
						setup, teardown),
		cmocka_unit_test(delta_never_goes_negative),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
