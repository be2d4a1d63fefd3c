// SPDX-License-Identifier: GPL-2.0-only
/*
 * A thread's records against its BPF slot, across discovery passes and
 * window snapshots: the slot counts what the kernel's run_delay gains at
 * each switch-in (as bpf/sched.bpf.c does), a pass takes the counts into
 * the records (as collect.c does) and may split a thread that turned out
 * to be a vCPU (as discover.c's mark_vcpu does). Whatever pass the split
 * falls in (before the window, inside it, at its last pass, or while a
 * wait that began before the window is still open), the window's figures
 * of that thread, summed over its records, must be the slot's gain in the
 * window: never a wait twice, never one that ended before the window.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "model/model.h"
#include "collect/thread_record.h"

#define MS 1000000ULL
#define PID 500
#define VCPU_TID 501 /* always seen inside KVM_RUN */
#define SPLIT_TID 502 /* first seen outside it, as an ordinary thread */

struct world {
	struct guest_table live;
	struct guest_table before;
	struct guest_table after;
	struct report report;
	struct sched_thread_stats slots[4];
	uint64_t now_ns;
};

static int setup(void **state)
{
	static struct world w;
	struct guest *guest;
	struct thread *thread;

	memset(&w, 0, sizeof(w));
	guest_table_init(&w.live);
	guest = guest_table_add(&w.live, PID, 7);
	assert_non_null(guest);
	strcpy(guest->name, "pio");
	thread = guest_add_thread(guest, VCPU_TID);
	assert_non_null(thread);
	thread->kind = THREAD_VCPU;
	thread->vcpu_index = 0;
	thread->slot = 0;
	thread->attached = true;
	thread = guest_add_thread(guest, SPLIT_TID);
	assert_non_null(thread);
	thread->kind = THREAD_OTHER;
	thread->slot = 1;
	thread->attached = true;
	w.now_ns = 1000 * MS;
	*state = &w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;

	report_free(&w->report);
	guest_table_free(&w->live);
	guest_table_free(&w->before);
	guest_table_free(&w->after);
	return 0;
}

static struct guest *guest_of(struct world *w)
{
	return &w->live.guests[0];
}

/* A wait of `ns` ends at a switch-in: what account_switch_in adds. */
static void wait_ends(struct sched_thread_stats *slot, uint64_t ns)
{
	slot->steal_ns += ns;
	slot->waits += 1;
	slot->wait_hist[sched_wait_slot(ns)] += 1;
	if (ns > slot->wait_max_ns)
		slot->wait_max_ns = ns;
}

/* A switch-out after `ns` on a CPU: refresh_run's absolute figure. */
static void runs_for(struct sched_thread_stats *slot, uint64_t ns)
{
	slot->run_ns += ns;
}

/* collect_pass: every live, attached record takes its slot's counts. */
static void collect(struct world *w)
{
	struct guest *guest = guest_of(w);

	for (size_t i = 0; i < guest->thread_count; i++) {
		struct thread *thread = &guest->threads[i];

		if (!thread->exited && thread->attached && thread->slot >= 0)
			thread_record_take_stats(thread, &w->slots[thread->slot]);
	}
}

/* A discovery pass; `in_kvm_run` says whether it finds SPLIT_TID inside
 * KVM_RUN (mark_vcpu: counts taken, then the split). */
static void pass(struct world *w, bool in_kvm_run)
{
	struct guest *guest = guest_of(w);
	struct thread *thread = guest_find_thread(guest, SPLIT_TID);

	w->now_ns += 500 * MS;
	assert_non_null(thread);
	if (in_kvm_run && thread->kind != THREAD_VCPU) {
		thread_record_take_stats(thread, &w->slots[thread->slot]);
		assert_non_null(thread_record_became_vcpu(
			guest, (size_t)(thread - guest->threads), 2,
			w->now_ns));
	}
}

/* The dump's edges: a pass, a collect, a copy. */
static void snapshot(struct world *w, struct guest_table *into,
		     bool in_kvm_run)
{
	pass(w, in_kvm_run);
	collect(w);
	assert_int_equal(guest_table_copy(into, &w->live), 0);
}

/* The thread's window figures, summed over all its records. */
static struct thread_counters window_of(struct world *w, int tid,
					size_t *records)
{
	const struct report_guest *row;
	struct thread_counters sum = { 0 };

	report_free(&w->report); /* from an earlier thread's check */
	assert_int_equal(report_build(&w->report, &w->before, &w->after,
				      3000 * MS),
			 0);
	assert_int_equal(w->report.guest_count, 1);
	row = &w->report.guests[0];
	*records = 0;
	for (size_t i = 0; i < row->vcpu_count; i++)
		if (row->vcpus[i].tid == tid) {
			thread_counters_add(&sum, &row->vcpus[i].delta);
			(*records)++;
		}
	for (size_t i = 0; i < row->other_count; i++)
		if (row->others[i].tid == tid) {
			thread_counters_add(&sum, &row->others[i].delta);
			(*records)++;
		}
	return sum;
}

static void assert_window(struct world *w, int slot, int tid,
			  const struct sched_thread_stats *at_start,
			  size_t want_records)
{
	const struct sched_thread_stats *at_end = &w->slots[slot];
	struct thread_counters got;
	size_t records;

	got = window_of(w, tid, &records);
	assert_int_equal(records, want_records);
	assert_int_equal(got.steal_ns, at_end->steal_ns - at_start->steal_ns);
	assert_int_equal(got.run_ns, at_end->run_ns - at_start->run_ns);
	assert_int_equal(got.waits, at_end->waits - at_start->waits);
	for (int k = 0; k < SCHED_WAIT_SLOTS; k++)
		assert_int_equal(got.wait_hist[k], at_end->wait_hist[k] -
							   at_start->wait_hist[k]);
}

/* The figures of the nested test's pio vCPUs: ~1/3 of a CPU each, and a
 * long wait while the agent itself held their CPU before the window. */
static void busy_stretch(struct world *w, int rounds)
{
	for (int i = 0; i < rounds; i++) {
		for (int s = 0; s < 2; s++) {
			wait_ends(&w->slots[s], (7 + (uint64_t)i % 5) * MS);
			runs_for(&w->slots[s], 3 * MS);
		}
	}
}

static struct sched_thread_stats slots_now(struct world *w, int slot)
{
	return w->slots[slot];
}

/* Registered as "other" in the first pass, split in the pass right before
 * the start snapshot (the 6.1 run: old record 0 in the window). */
static void split_before_window(void **state)
{
	struct world *w = *state;
	struct sched_thread_stats start0, start1;

	busy_stretch(w, 20);
	pass(w, false);
	collect(w);
	busy_stretch(w, 10);
	snapshot(w, &w->before, true);
	start0 = slots_now(w, 0);
	start1 = slots_now(w, 1);
	/* The long wait began before the window and ends inside it. */
	wait_ends(&w->slots[1], 771 * MS);
	wait_ends(&w->slots[0], 778 * MS);
	busy_stretch(w, 100);
	pass(w, true);
	collect(w);
	busy_stretch(w, 100);
	snapshot(w, &w->after, true);
	assert_window(w, 0, VCPU_TID, &start0, 1);
	assert_window(w, 1, SPLIT_TID, &start1, 2);
}

/* Split at a pass inside the window, while a wait is open: the wait ends
 * after the split and belongs to the vCPU record, once. */
static void split_inside_window(void **state)
{
	struct world *w = *state;
	struct sched_thread_stats start1;

	busy_stretch(w, 20);
	snapshot(w, &w->before, false);
	start1 = slots_now(w, 1);
	busy_stretch(w, 50);
	pass(w, false);
	collect(w);
	busy_stretch(w, 50);
	pass(w, true); /* its wait is open here */
	collect(w);
	wait_ends(&w->slots[1], 600 * MS);
	busy_stretch(w, 100);
	snapshot(w, &w->after, false);
	assert_window(w, 1, SPLIT_TID, &start1, 2);
}

/* Split at the window's last pass (the 6.12 run: the vCPU record 0). */
static void split_at_last_pass(void **state)
{
	struct world *w = *state;
	struct sched_thread_stats start1;
	const struct thread *vcpu;

	busy_stretch(w, 20);
	snapshot(w, &w->before, false);
	start1 = slots_now(w, 1);
	wait_ends(&w->slots[1], 237 * MS);
	busy_stretch(w, 200);
	snapshot(w, &w->after, true);
	assert_window(w, 1, SPLIT_TID, &start1, 2);
	vcpu = guest_find_thread(guest_of(w), SPLIT_TID);
	assert_non_null(vcpu);
	assert_int_equal(vcpu->kind, THREAD_VCPU);
	assert_int_equal(vcpu->counters.steal_ns, 0);
}

/* Counts before the split, a window that starts after it and a slot that
 * gains nothing more: the window shows nothing at all. */
static void nothing_after_split_is_nothing(void **state)
{
	struct world *w = *state;
	struct sched_thread_stats start1;

	busy_stretch(w, 20);
	pass(w, true);
	collect(w);
	snapshot(w, &w->before, true);
	start1 = slots_now(w, 1);
	snapshot(w, &w->after, true);
	assert_window(w, 1, SPLIT_TID, &start1, 2);
	assert_int_equal(w->slots[1].steal_ns - start1.steal_ns, 0);
}

/* Seen inside KVM_RUN before it counted anything: one record, in place. */
static void no_counts_changes_kind_in_place(void **state)
{
	struct world *w = *state;
	struct guest *guest = guest_of(w);
	struct thread *thread = guest_find_thread(guest, SPLIT_TID);
	uint64_t seq = thread->seq;
	struct thread *vcpu;

	collect(w);
	vcpu = thread_record_became_vcpu(guest, (size_t)(thread - guest->threads),
					3, w->now_ns);
	assert_ptr_equal(vcpu, thread);
	assert_int_equal(guest->thread_count, 2);
	assert_int_equal(vcpu->seq, seq);
	assert_int_equal(vcpu->kind, THREAD_VCPU);
	assert_int_equal(vcpu->vcpu_index, 3);
	assert_false(vcpu->exited);
}

/* The split grows the thread array: the old record is found again by
 * index, not by a pointer the growth made stale. */
static void split_survives_array_growth(void **state)
{
	struct world *w = *state;
	struct guest *guest = guest_of(w);
	struct thread *thread, *vcpu;
	size_t index;

	while (guest->thread_count < guest->thread_cap) {
		thread = guest_add_thread(guest, 600 + (int)guest->thread_count);
		assert_non_null(thread);
	}
	busy_stretch(w, 5);
	collect(w);
	thread = guest_find_thread(guest, SPLIT_TID);
	index = (size_t)(thread - guest->threads);
	vcpu = thread_record_became_vcpu(guest, index, 2, w->now_ns);
	assert_non_null(vcpu);
	assert_true(guest->threads[index].exited);
	assert_true(guest->threads[index].became_vcpu);
	assert_int_equal(guest->threads[index].slot, -1);
	assert_int_equal(guest->threads[index].counters.steal_ns,
			 w->slots[1].steal_ns);
	assert_int_equal(vcpu->slot, 1);
	assert_true(vcpu->attached);
	assert_int_equal(vcpu->base.steal_ns, w->slots[1].steal_ns);
	assert_int_equal(vcpu->base.run_ns, w->slots[1].run_ns);
	assert_int_equal(vcpu->counters.steal_ns, 0);
}

/* Counters are the slot's minus the base, clamped; run never goes back. */
static void take_stats_rebases(void **state)
{
	struct thread thread;
	struct sched_thread_stats live;

	(void)state;
	memset(&thread, 0, sizeof(thread));
	memset(&live, 0, sizeof(live));
	thread.base.steal_ns = 100 * MS;
	thread.base.run_ns = 50 * MS;
	thread.base.waits = 4;
	thread.base.wait_hist[3] = 4;
	live.steal_ns = 130 * MS;
	live.run_ns = 80 * MS;
	live.waits = 6;
	live.wait_hist[3] = 5;
	live.wait_hist[20] = 1;
	live.wait_max_ns = 9 * MS;
	thread_record_take_stats(&thread, &live);
	assert_int_equal(thread.counters.steal_ns, 30 * MS);
	assert_int_equal(thread.counters.run_ns, 30 * MS);
	assert_int_equal(thread.counters.waits, 2);
	assert_int_equal(thread.counters.wait_hist[3], 1);
	assert_int_equal(thread.counters.wait_hist[20], 1);
	assert_int_equal(thread.counters.wait_max_ns, 9 * MS);
	/* An older run figure written last by BPF: keep the larger. */
	live.run_ns = 70 * MS;
	thread_record_take_stats(&thread, &live);
	assert_int_equal(thread.counters.run_ns, 30 * MS);
	/* Below the base (cannot happen with one slot): 0, not a wrap. */
	live.steal_ns = 10 * MS;
	thread_record_take_stats(&thread, &live);
	assert_int_equal(thread.counters.steal_ns, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(split_before_window, setup,
						teardown),
		cmocka_unit_test_setup_teardown(split_inside_window, setup,
						teardown),
		cmocka_unit_test_setup_teardown(split_at_last_pass, setup,
						teardown),
		cmocka_unit_test_setup_teardown(nothing_after_split_is_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(no_counts_changes_kind_in_place,
						setup, teardown),
		cmocka_unit_test_setup_teardown(split_survives_array_growth,
						setup, teardown),
		cmocka_unit_test(take_stats_rebases),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
