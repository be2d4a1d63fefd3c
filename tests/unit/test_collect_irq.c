// SPDX-License-Identifier: GPL-2.0-only
/*
 * Collection of hidden steal with a fake BPF side (fake_collect_source.h):
 * per-slot interrupt counts become each thread's counters.hidden, per-CPU
 * counts table.cpu_irq, culprit entries the guest's hidden_culprits (named,
 * owned by the guest whose tap it is, dropped with their thread). The guest
 * is the fixture /proc's pid 1000 ("web"), found by discovery first.
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
#include "collect/thread_record.h"
#include "fake_collect_source.h"

#define T0 (100ULL * NS_PER_SEC)
#define HOST_NETNS 4026531840u
#define OTHER_NETNS 4026532999u
/* /proc/softirqs' rows (bpf/irq.h names only NET_RX). */
#define SOFTIRQ_TIMER 1
#define SOFTIRQ_BLOCK 4

/* The KVM parts' notes are not this test's business. */
static void drop_note(enum log_priority priority, const char *line, void *ctx)
{
}

static int setup(void **state)
{
	static struct tracker tracker;

	if (fake_tracker_init(&tracker))
		return -1;
	tracker.notify = drop_note;
	tracker.irq = FAKE_IRQ;
	tracker.host_netns = HOST_NETNS;
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

static struct guest *discovered(struct tracker *tracker)
{
	assert_int_equal(discover_pass(tracker, T0), 0);
	assert_int_equal(tracker->table.guest_count, 1);
	return &tracker->table.guests[0];
}

static const struct hidden_culprit_total *
total_of(const struct guest *guest, uint64_t seq, uint32_t kind, uint32_t id)
{
	for (size_t i = 0; i < guest->hidden_culprit_count; i++) {
		const struct hidden_culprit_total *total =
			&guest->hidden_culprits[i];

		if (total->thread_seq == seq && total->bpf_kind == kind &&
		    total->id == id)
			return total;
	}
	return NULL;
}

static void add_culprit(uint32_t slot, uint32_t kind, uint32_t netns,
			uint32_t id, const char *name, uint64_t ns,
			uint64_t count)
{
	struct irq_loader_culprit *entry =
		&fake.irq_culprits[fake.irq_culprit_count++];

	memset(entry, 0, sizeof(*entry));
	entry->key = (struct irq_culprit_key){
		.slot = slot, .kind = kind, .netns = netns, .id = id
	};
	entry->value.ns = ns;
	entry->value.count = count;
	/* BPF's names fill all 16 bytes with no NUL when that long. */
	memcpy(entry->value.name, name, strnlen(name, IRQ_NAME_LEN));
}

/* A slot handed out is zeroed first: a thread never starts with what the
 * slot's previous thread took. */
static void slot_zeroed_when_handed_out(void **state)
{
	struct tracker *tracker = *state;
	struct guest *guest;
	struct thread *vcpu;

	for (int slot = 0; slot < FAKE_MAX; slot++)
		fake.irq_slots[slot].soft_ns[IRQ_SOFTIRQ_NET_RX] = 777;
	guest = discovered(tracker);
	vcpu = thread_of(guest, 1001);
	assert_non_null(vcpu);
	assert_true(vcpu->slot >= 0);
	assert_int_equal(fake.irq_slots[vcpu->slot].soft_ns[IRQ_SOFTIRQ_NET_RX],
			 0);
	collect_pass(tracker);
	assert_int_equal(hidden_softirq_ns(&vcpu->counters.hidden), 0);
}

static void thread_and_cpu_counts(void **state)
{
	struct tracker *tracker = *state;
	struct guest *guest = discovered(tracker);
	struct thread *vcpu = thread_of(guest, 1001);
	struct thread *emulator = thread_of(guest, 1000);
	struct irq_counts *live;

	assert_non_null(vcpu);
	assert_non_null(emulator);
	live = &fake.irq_slots[vcpu->slot];
	live->soft_ns[IRQ_SOFTIRQ_NET_RX] = 40000;
	live->soft_count[IRQ_SOFTIRQ_NET_RX] = 12;
	live->hard_ns[IRQ_HARD_LOCAL_TIMER] = 3000;
	live->hard_count[IRQ_HARD_LOCAL_TIMER] = 4;
	fake.irq_slots[emulator->slot].soft_ns[SOFTIRQ_BLOCK] = 900;
	fake.irq_cpus[1].soft_count[IRQ_SOFTIRQ_NET_RX] = 250000;
	fake.irq_cpus[1].soft_ns[IRQ_SOFTIRQ_NET_RX] = 2000000000;
	fake.irq_cpus[0].hard_count[IRQ_HARD_DEVICE] = 5;
	fake.irq_cpu_count = 2;
	fake.irq_errors[IRQ_ERR_UNMATCHED_EXIT] = 3;
	collect_pass(tracker);

	assert_int_equal(vcpu->counters.hidden.soft_ns[IRQ_SOFTIRQ_NET_RX],
			 40000);
	assert_int_equal(vcpu->counters.hidden.soft_count[IRQ_SOFTIRQ_NET_RX],
			 12);
	assert_int_equal(hidden_irq_ns(&vcpu->counters.hidden), 3000);
	assert_int_equal(hidden_irq_count(&vcpu->counters.hidden), 4);
	assert_int_equal(emulator->counters.hidden.soft_ns[SOFTIRQ_BLOCK],
			 900);
	assert_int_equal(hidden_softirq_ns(&emulator->counters.hidden), 900);
	assert_int_equal(tracker->table.cpu_irq_count, 2);
	assert_non_null(tracker->table.cpu_irq);
	assert_int_equal(
		tracker->table.cpu_irq[1].soft_count[IRQ_SOFTIRQ_NET_RX],
		250000);
	assert_int_equal(tracker->table.cpu_irq[0].hard_count[IRQ_HARD_DEVICE],
			 5);
	assert_int_equal(tracker->table.irq_errors[IRQ_ERR_UNMATCHED_EXIT], 3);

	/* A failed read of the errors keeps the last values: a counter
	 * that fell would read as a reset. */
	fake.irq_errors_fail = true;
	collect_pass(tracker);
	assert_int_equal(tracker->table.irq_errors[IRQ_ERR_UNMATCHED_EXIT], 3);
	fake.irq_errors_fail = false;

	/* Cumulative: the figures follow the slot, never reset by reading. */
	live->soft_ns[IRQ_SOFTIRQ_NET_RX] = 50000;
	collect_pass(tracker);
	collect_pass(tracker);
	assert_int_equal(vcpu->counters.hidden.soft_ns[IRQ_SOFTIRQ_NET_RX],
			 50000);
}

/* A record that took its slot over from an earlier one of the same thread
 * counts the slot minus its base, like the scheduler's counters. */
static void thread_counts_minus_base(void **state)
{
	struct tracker *tracker = *state;
	struct guest *guest = discovered(tracker);
	struct thread *vcpu = thread_of(guest, 1001);

	vcpu->base.hidden.soft_ns[SOFTIRQ_TIMER] = 100;
	fake.irq_slots[vcpu->slot].soft_ns[SOFTIRQ_TIMER] = 350;
	collect_pass(tracker);
	assert_int_equal(vcpu->counters.hidden.soft_ns[SOFTIRQ_TIMER], 250);
}

/* Nothing loaded: nothing read, the table's per-CPU figures stay NULL. */
static void without_irq_loader(void **state)
{
	struct tracker *tracker = *state;
	struct guest *guest;
	struct thread *vcpu;

	tracker->irq = NULL;
	guest = discovered(tracker);
	vcpu = thread_of(guest, 1001);
	fake.irq_slots[vcpu->slot].soft_ns[IRQ_SOFTIRQ_NET_RX] = 5;
	fake.irq_cpu_count = 2;
	add_culprit((uint32_t)vcpu->slot, IRQ_CULPRIT_IRQ, 0, 30, "eth0", 5, 1);
	collect_pass(tracker);
	assert_null(tracker->table.cpu_irq);
	assert_int_equal(tracker->table.cpu_irq_count, 0);
	assert_int_equal(hidden_softirq_ns(&vcpu->counters.hidden), 0);
	assert_int_equal(guest->hidden_culprit_count, 0);
}

static void culprits_named_and_owned(void **state)
{
	struct tracker *tracker = *state;
	struct guest *guest = discovered(tracker);
	struct thread *vcpu = thread_of(guest, 1001);
	const struct hidden_culprit_total *total;
	uint32_t slot = (uint32_t)vcpu->slot;

	/* The guest's own tap, as collect/net_devices.c lists it. */
	snprintf(guest->net[0].name, sizeof(guest->net[0].name), "vnet7");
	guest->net_count = 1;
	add_culprit(slot, IRQ_CULPRIT_DEVICE, HOST_NETNS, 12, "vnet7", 8000,
		    40);
	/* The same name in another namespace is not the guest's device. */
	add_culprit(slot, IRQ_CULPRIT_DEVICE, OTHER_NETNS, 3, "vnet7", 600, 2);
	add_culprit(slot, IRQ_CULPRIT_DEVICE, HOST_NETNS, 0, "other", 70, 1);
	add_culprit(slot, IRQ_CULPRIT_IRQ, 0, 41, "virtio0-input.0", 500, 9);
	/* A vector's culprit is the thread's count of its kind. */
	fake.irq_slots[slot].hard_ns[IRQ_HARD_LOCAL_TIMER] = 300;
	fake.irq_slots[slot].hard_count[IRQ_HARD_LOCAL_TIMER] = 6;
	/* A slot nobody holds: nobody to charge. */
	add_culprit(FAKE_MAX - 1, IRQ_CULPRIT_IRQ, 0, 41, "virtio0-input.0",
		    1, 1);
	collect_pass(tracker);

	assert_int_equal(guest->hidden_culprit_count, 5);
	total = total_of(guest, vcpu->seq, IRQ_CULPRIT_DEVICE, 12);
	assert_non_null(total);
	assert_string_equal(total->device, "vnet7");
	assert_string_equal(total->owner, "web");
	assert_int_equal(total->netns, HOST_NETNS);
	assert_int_equal(total->ns, 8000);
	assert_int_equal(total->count, 40);
	total = total_of(guest, vcpu->seq, IRQ_CULPRIT_DEVICE, 3);
	assert_non_null(total);
	assert_string_equal(total->owner, "");
	assert_int_equal(total->netns, OTHER_NETNS);
	total = total_of(guest, vcpu->seq, IRQ_CULPRIT_DEVICE, 0);
	assert_non_null(total);
	assert_string_equal(total->device, "other");
	assert_string_equal(total->owner, "");
	/* A name of all 16 bytes, no NUL, is cut there, not overrun. */
	total = total_of(guest, vcpu->seq, IRQ_CULPRIT_IRQ, 41);
	assert_non_null(total);
	assert_string_equal(total->device, "virtio0-input.0");
	assert_int_equal(total->ns, 500);
	total = total_of(guest, vcpu->seq, IRQ_CULPRIT_VECTOR,
			 IRQ_HARD_LOCAL_TIMER);
	assert_non_null(total);
	assert_string_equal(total->device, "local_timer");
	assert_int_equal(total->ns, 300);
	assert_int_equal(total->count, 6);

	/* Cumulative, refreshed in place. */
	fake.irq_culprits[0].value.ns = 9000;
	collect_pass(tracker);
	assert_int_equal(guest->hidden_culprit_count, 5);
	total = total_of(guest, vcpu->seq, IRQ_CULPRIT_DEVICE, 12);
	assert_int_equal(total->ns, 9000);
}

static void long_irq_name_cut(void **state)
{
	struct tracker *tracker = *state;
	struct guest *guest = discovered(tracker);
	struct thread *vcpu = thread_of(guest, 1001);
	const struct hidden_culprit_total *total;

	add_culprit((uint32_t)vcpu->slot, IRQ_CULPRIT_IRQ, 0, 50,
		    "0123456789abcdefXYZ", 10, 1);
	collect_pass(tracker);
	total = total_of(guest, vcpu->seq, IRQ_CULPRIT_IRQ, 50);
	assert_non_null(total);
	assert_string_equal(total->device, "0123456789abcdef");
}

/* Totals whose thread the table no longer lists go with it. */
/* A pruned thread's culprit totals stay with its guest, folded into one
 * retired entry per culprit (thread_seq 0): a guest's sum never falls. */
static void pruned_threads_culprits_are_retired(void **state)
{
	struct tracker *tracker = *state;
	struct guest *guest = discovered(tracker);
	struct thread *vcpu = thread_of(guest, 1001);
	struct thread *other = thread_of(guest, 1000);
	const struct hidden_culprit_total *retired;
	uint64_t vcpu_seq = vcpu->seq;

	add_culprit((uint32_t)vcpu->slot, IRQ_CULPRIT_IRQ, 0, 41, "eth0", 5, 1);
	add_culprit((uint32_t)other->slot, IRQ_CULPRIT_IRQ, 0, 41, "eth0", 7,
		    2);
	collect_pass(tracker);
	assert_int_equal(guest->hidden_culprit_count, 2);
	/* As if both were pruned: the records are gone, their slots
	 * released, and the BPF side's entries forgotten with them. */
	vcpu->seq = 999998;
	vcpu->slot = -1;
	other->seq = 999999;
	other->slot = -1;
	fake.irq_culprit_count = 0;
	collect_pass(tracker);
	assert_int_equal(guest->hidden_culprit_count, 1);
	retired = total_of(guest, 0, IRQ_CULPRIT_IRQ, 41);
	assert_non_null(retired);
	assert_int_equal(retired->ns, 12);
	assert_int_equal(retired->count, 3);
	assert_null(total_of(guest, vcpu_seq, IRQ_CULPRIT_IRQ, 41));
	/* Kept as it is on later passes. */
	collect_pass(tracker);
	assert_int_equal(guest->hidden_culprit_count, 1);
	assert_int_equal(total_of(guest, 0, IRQ_CULPRIT_IRQ, 41)->ns, 12);
}

/* A thread that turns out to be a vCPU: the new record's culprit totals
 * start from where the old record's stood, so the two never count the
 * same time twice. */
static void reclassified_thread_counts_from_base(void **state)
{
	struct tracker *tracker = *state;
	struct guest *guest = discovered(tracker);
	struct thread *old = thread_of(guest, 1000), *vcpu;
	const struct hidden_culprit_total *total;
	uint32_t slot = (uint32_t)old->slot;
	uint64_t old_seq = old->seq;

	fake.slots[slot].run_ns = 1000;
	add_culprit(slot, IRQ_CULPRIT_IRQ, 0, 41, "eth0", 5000, 10);
	collect_pass(tracker);
	vcpu = thread_record_became_vcpu(guest, (size_t)(old - guest->threads),
					 3, T0);
	assert_non_null(vcpu);
	assert_int_not_equal(vcpu->seq, old_seq);
	fake.irq_culprits[0].value.ns = 5600;
	fake.irq_culprits[0].value.count = 13;
	collect_pass(tracker);
	total = total_of(guest, old_seq, IRQ_CULPRIT_IRQ, 41);
	assert_non_null(total);
	assert_int_equal(total->ns, 5000);
	total = total_of(guest, vcpu->seq, IRQ_CULPRIT_IRQ, 41);
	assert_non_null(total);
	assert_int_equal(total->ns, 600);
	assert_int_equal(total->count, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(slot_zeroed_when_handed_out,
						setup, teardown),
		cmocka_unit_test_setup_teardown(thread_and_cpu_counts, setup,
						teardown),
		cmocka_unit_test_setup_teardown(thread_counts_minus_base, setup,
						teardown),
		cmocka_unit_test_setup_teardown(without_irq_loader, setup,
						teardown),
		cmocka_unit_test_setup_teardown(culprits_named_and_owned, setup,
						teardown),
		cmocka_unit_test_setup_teardown(long_irq_name_cut, setup,
						teardown),
		cmocka_unit_test_setup_teardown(pruned_threads_culprits_are_retired,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			reclassified_thread_counts_from_base, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
