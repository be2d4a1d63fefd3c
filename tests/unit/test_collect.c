// SPDX-License-Identifier: GPL-2.0-only
/*
 * Collection with a fake BPF side (fake_collect_source.h): counters in the
 * fake slots, attribution and KVM maps come out as the guest table's
 * cumulative figures. The guest is found first by discovery on the fixture
 * /proc (pid 1000, tests/fixtures/proc).
 * Run from the repo root, or set KVMWARDEN_FIXTURES to the fixtures dir.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "collect/collect.h"
#include "collect/discover.h"
#include "fake_collect_source.h"

#define T0 (100ULL * NS_PER_SEC)

/* The tracker's notes, kept here rather than logged. */
static struct {
	enum log_priority priority[8];
	char line[8][256];
	int count;
} notes;

static void keep_note(enum log_priority priority, const char *line, void *ctx)
{
	if (notes.count == 8)
		return;
	notes.priority[notes.count] = priority;
	snprintf(notes.line[notes.count++], sizeof(notes.line[0]), "%s", line);
}

static int setup(void **state)
{
	static struct tracker tracker;

	if (fake_tracker_init(&tracker))
		return -1;
	tracker.notify = keep_note;
	memset(&notes, 0, sizeof(notes));
	fake.in_kvm_run[0] = (struct sched_vcpu_record){
		.tgid = 1000,
		.tid = 1001,
		.vcpu_index = 0,
		.flags = SCHED_REC_IN_KVM_RUN,
	};
	fake.in_kvm_run_count = 1;
	*state = &tracker;
	return 0;
}

static int teardown(void **state)
{
	tracker_free(*state);
	return 0;
}

static struct thread *thread_of(struct guest *guest, int tid)
{
	for (size_t i = 0; i < guest->thread_count; i++)
		if (guest->threads[i].tid == tid && !guest->threads[i].exited)
			return &guest->threads[i];
	return NULL;
}

static void counters_of_every_thread(void **state)
{
	struct tracker *tracker = *state;
	struct guest *guest;
	struct thread *vcpu, *emulator;
	struct sched_thread_stats *live;

	assert_int_equal(discover_pass(tracker, T0), 0);
	guest = &tracker->table.guests[0];
	vcpu = thread_of(guest, 1001);
	emulator = thread_of(guest, 1000);
	assert_non_null(vcpu);
	assert_non_null(emulator);

	live = &fake.slots[vcpu->slot];
	live->steal_ns = 7000;
	live->run_ns = 90000;
	live->waits = 3;
	live->wait_max_ns = 4000;
	live->wait_hist[12] = 3;
	fake.slots[emulator->slot].run_ns = 500;
	collect_pass(tracker);
	assert_int_equal(vcpu->counters.steal_ns, 7000);
	assert_int_equal(vcpu->counters.run_ns, 90000);
	assert_int_equal(vcpu->counters.waits, 3);
	assert_int_equal(vcpu->counters.wait_max_ns, 4000);
	assert_int_equal(vcpu->counters.wait_hist[12], 3);
	assert_int_equal(emulator->counters.run_ns, 500);
	assert_int_equal(emulator->counters.steal_ns, 0);

	/* Cumulative: the figures follow the slot, never reset by reading. */
	live->steal_ns = 9000;
	live->waits = 5;
	collect_pass(tracker);
	collect_pass(tracker);
	assert_int_equal(vcpu->counters.steal_ns, 9000);
	assert_int_equal(vcpu->counters.waits, 5);
}

static void culprits_and_cpu_waits(void **state)
{
	struct tracker *tracker = *state;
	struct guest *guest;
	const struct culprit_total *kernel = NULL;

	assert_int_equal(discover_pass(tracker, T0), 0);
	guest = &tracker->table.guests[0];
	fake.attribution[0] = (struct loader_attribution){
		.key = { .victim_group = guest_group(guest),
			 .kind = ATTR_CULPRIT_KERNEL },
		.steal_ns = 1500,
	};
	/* A victim the table does not hold (pruned): skipped. */
	fake.attribution[1] = (struct loader_attribution){
		.key = { .victim_group = 999, .kind = ATTR_CULPRIT_IDLE },
		.steal_ns = 77,
	};
	fake.attribution_count = 2;
	fake.cpu_waits[0] = 10;
	fake.cpu_waits[1] = 20;
	fake.cpu_count = 2;
	collect_pass(tracker);
	for (size_t i = 0; i < guest->culprit_count; i++)
		if (guest->culprits[i].kind == ATTR_CULPRIT_KERNEL)
			kernel = &guest->culprits[i];
	assert_int_equal(guest->culprit_count, 1);
	assert_non_null(kernel);
	assert_int_equal(kernel->steal_ns, 1500);
	assert_string_equal(kernel->name,
			    culprit_kind_name(ATTR_CULPRIT_KERNEL));
	assert_int_equal(tracker->table.cpu_count, 2);
	assert_int_equal(tracker->table.cpu_wait_ns[1], 20);

	/* A share never goes back, whatever the map says. */
	fake.attribution[0].steal_ns = 1000;
	collect_pass(tracker);
	assert_int_equal(kernel->steal_ns, 1500);
	fake.attribution[0].steal_ns = 2500;
	collect_pass(tracker);
	assert_int_equal(kernel->steal_ns, 2500);
}

static void kvm_counters_by_guest(void **state)
{
	struct tracker *tracker = *state;
	struct guest *guest;
	const struct kvm_reason_total *hlt = NULL;

	tracker->kvm = FAKE_KVM;
	for (int part = 0; part < KVM_PART_COUNT; part++)
		fake.kvm_status.attached[part] = true;
	assert_int_equal(discover_pass(tracker, T0), 0);
	/* Discovery told the KVM side to count the guest. */
	assert_int_equal(fake.kvm_guest_count, 1);
	assert_int_equal(fake.kvm_guests[0], 1000);

	guest = &tracker->table.guests[0];
	fake.kvm_counts[0] = (struct kvm_loader_count){
		.key = { .group = guest_group(guest),
			 .kind = KVM_COUNT_EXIT_VMX,
			 .reason = 12 },
		.value = 42,
	};
	fake.kvm_count_count = 1;
	fake.kvm_stats[KVM_STAT_EXIT] = 42;
	fake.kvm_stats[KVM_STAT_COUNTS_FULL] = 2;
	collect_pass(tracker);
	for (uint32_t i = 0; i < guest->kvm.reason_count; i++)
		if (guest->kvm.reasons[i].kind == KVM_COUNT_EXIT_VMX &&
		    guest->kvm.reasons[i].reason == 12)
			hlt = &guest->kvm.reasons[i];
	assert_non_null(hlt);
	assert_int_equal(hlt->count, 42);
	assert_int_equal(tracker->table.kvm.events_fired, 42);
	assert_int_equal(tracker->table.kvm.events_lost, 2);
	assert_int_equal(tracker->table.kvm.parts[KVM_PART_EXITS].state,
			 KVM_STATE_AVAILABLE);

	fake.kvm_counts[0].value = 50;
	collect_pass(tracker);
	assert_int_equal(hlt->count, 50);
}

static void a_part_unavailable_is_noted_once(void **state)
{
	struct tracker *tracker = *state;

	/* No KVM loader: every part is unavailable, said once each, to the
	 * caller's notify rather than printed. */
	collect_pass(tracker);
	collect_pass(tracker);
	assert_int_equal(notes.count, KVM_PART_COUNT);
	assert_int_equal(notes.priority[0], LOG_PRIO_WARNING);
	assert_string_equal(notes.line[0],
			    "KVM exits unavailable: KVM telemetry not loaded");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(counters_of_every_thread, setup,
						teardown),
		cmocka_unit_test_setup_teardown(culprits_and_cpu_waits, setup,
						teardown),
		cmocka_unit_test_setup_teardown(kvm_counters_by_guest, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			a_part_unavailable_is_noted_once, setup, teardown),
	};

	return cmocka_run_group_tests_name("collect", tests, NULL, NULL);
}
