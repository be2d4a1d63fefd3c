// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hidden steal in the model (model/hidden.h, model/net.h) and in a window
 * report: counters add and subtract field by field, culprits are shown by
 * owner, device or IRQ, merged by what is shown and taken per window, and
 * per-CPU interrupt time and a guest's device counters come out as the
 * window's. Synthetic tables, no BPF.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "model/model.h"

#define MS 1000000ULL

static void counts_add_and_delta_by_field(void **state)
{
	struct irq_counts sum = { 0 }, add = { 0 }, later, delta;

	add.hard_ns[IRQ_HARD_DEVICE] = 7;
	add.hard_count[IRQ_HARD_LOCAL_TIMER] = 2;
	add.soft_ns[IRQ_SOFTIRQ_NET_RX] = 100;
	add.soft_count[IRQ_SOFTIRQ_NET_RX] = 4;
	add.soft_ns[9] = 5;
	hidden_counts_add(&sum, &add);
	hidden_counts_add(&sum, &add);
	assert_int_equal(sum.soft_ns[IRQ_SOFTIRQ_NET_RX], 200);
	assert_int_equal(sum.soft_ns[9], 10);
	assert_int_equal(hidden_irq_ns(&sum), 14);
	assert_int_equal(hidden_irq_count(&sum), 4);
	assert_int_equal(hidden_softirq_ns(&sum), 210);
	assert_int_equal(hidden_softirq_count(&sum), 8);

	later = sum;
	later.soft_ns[IRQ_SOFTIRQ_NET_RX] = 150; /* behind: clamped at 0 */
	later.hard_ns[IRQ_HARD_DEVICE] = 20;
	hidden_counts_delta(&delta, &later, &add);
	assert_int_equal(delta.soft_ns[IRQ_SOFTIRQ_NET_RX], 50);
	assert_int_equal(delta.hard_ns[IRQ_HARD_DEVICE], 13);
	hidden_counts_delta(&delta, &add, &later);
	assert_int_equal(delta.soft_ns[IRQ_SOFTIRQ_NET_RX], 0);
	assert_int_equal(delta.hard_ns[IRQ_HARD_DEVICE], 0);
}

static void names_follow_the_kernel(void **state)
{
	assert_string_equal(hidden_softirq_name(0), "HI");
	assert_string_equal(hidden_softirq_name(IRQ_SOFTIRQ_NET_RX), "NET_RX");
	assert_string_equal(hidden_softirq_name(9), "RCU");
	assert_null(hidden_softirq_name(IRQ_SOFTIRQ_VECTORS));
	assert_null(hidden_softirq_name(-1));
	assert_string_equal(hidden_hard_kind_name(IRQ_HARD_LOCAL_TIMER),
			    "LOCAL_TIMER");
	assert_null(hidden_hard_kind_name(IRQ_HARD_KINDS));
	assert_string_equal(hidden_irq_error_name(IRQ_ERR_CULPRITS_FULL),
			    "culprits_full");
	assert_string_equal(hidden_irq_error_name(IRQ_ERR_UNMATCHED_EXIT),
			    "unmatched_exit");
	assert_null(hidden_irq_error_name(IRQ_ERR_COUNT));
	assert_null(hidden_irq_error_name(-1));
	assert_string_equal(hidden_culprit_kind_name(HIDDEN_CULPRIT_GUEST),
			    "guest");
	assert_string_equal(net_counter_name(NET_TX_DROPPED), "tx_dropped");
}

static struct hidden_culprit_total entry(uint64_t seq, uint32_t kind,
					 uint32_t netns, uint32_t id,
					 const char *device, const char *owner,
					 uint64_t ns, uint64_t count)
{
	struct hidden_culprit_total out;

	memset(&out, 0, sizeof(out));
	out.thread_seq = seq;
	out.bpf_kind = kind;
	out.netns = netns;
	out.id = id;
	strcpy(out.device, device);
	strcpy(out.owner, owner);
	out.ns = ns;
	out.count = count;
	return out;
}

static void culprits_are_shown_by_owner_device_or_irq(void **state)
{
	struct hidden_culprit_total tap =
		entry(1, IRQ_CULPRIT_DEVICE, 1, 5, "tap0", "db", 0, 0);
	struct hidden_culprit_total veth =
		entry(1, IRQ_CULPRIT_DEVICE, 1, 6, "veth0", "", 0, 0);
	struct hidden_culprit_total overflow =
		entry(1, IRQ_CULPRIT_DEVICE, 0, 0, "", "", 0, 0);
	struct hidden_culprit_total timer = entry(
		1, IRQ_CULPRIT_VECTOR, 0, IRQ_HARD_LOCAL_TIMER, "", "", 0, 0);
	struct hidden_culprit_total nic =
		entry(1, IRQ_CULPRIT_IRQ, 0, 24, "virtio0-input.0", "", 0, 0);
	struct hidden_culprit_total unnamed =
		entry(1, IRQ_CULPRIT_IRQ, 0, 9, "", "", 0, 0);
	enum hidden_culprit_kind kind;
	char name[PROCFS_NAME_LEN];

	hidden_culprit_show(&tap, &kind, name, sizeof(name));
	assert_int_equal(kind, HIDDEN_CULPRIT_GUEST);
	assert_string_equal(name, "db");
	hidden_culprit_show(&veth, &kind, name, sizeof(name));
	assert_int_equal(kind, HIDDEN_CULPRIT_DEVICE);
	assert_string_equal(name, "veth0");
	hidden_culprit_show(&overflow, &kind, name, sizeof(name));
	assert_string_equal(name, "other");
	hidden_culprit_show(&timer, &kind, name, sizeof(name));
	assert_int_equal(kind, HIDDEN_CULPRIT_IRQ);
	assert_string_equal(name, "local_timer");
	hidden_culprit_show(&nic, &kind, name, sizeof(name));
	assert_string_equal(name, "virtio0-input.0");
	hidden_culprit_show(&unnamed, &kind, name, sizeof(name));
	assert_string_equal(name, "irq-9");
}

static void culprits_are_per_thread_per_window_and_merged(void **state)
{
	/* Thread 1 before: tap0 of guest db 10 ms, veth0 2 ms. After: db's
	 * two taps 15 + 4 ms, veth0 still 2 ms (nothing in the window), a
	 * veth0 of the same ifindex in another namespace 3 ms. Thread 2's
	 * entries are not thread 1's. */
	struct hidden_culprit_total before[] = {
		entry(1, IRQ_CULPRIT_DEVICE, 1, 5, "tap0", "db", 10 * MS, 100),
		entry(1, IRQ_CULPRIT_DEVICE, 1, 6, "veth0", "", 2 * MS, 20),
	};
	struct hidden_culprit_total after[] = {
		entry(1, IRQ_CULPRIT_DEVICE, 1, 5, "tap0", "db", 15 * MS, 150),
		entry(1, IRQ_CULPRIT_DEVICE, 1, 7, "tap1", "db", 4 * MS, 40),
		entry(1, IRQ_CULPRIT_DEVICE, 1, 6, "veth0", "", 2 * MS, 20),
		entry(1, IRQ_CULPRIT_DEVICE, 2, 6, "veth0", "", 3 * MS, 30),
		entry(2, IRQ_CULPRIT_DEVICE, 1, 6, "veth0", "", 50 * MS, 500),
	};
	struct report_hidden_culprit *rows;
	size_t count;

	assert_int_equal(hidden_culprits_build(&rows, &count, before, 2, after,
					       5, 1),
			 0);
	assert_int_equal(count, 2);
	assert_int_equal(rows[0].kind, HIDDEN_CULPRIT_GUEST);
	assert_string_equal(rows[0].name, "db");
	assert_int_equal(rows[0].ns, 9 * MS); /* 5 + 4 */
	assert_int_equal(rows[0].count, 90);
	assert_int_equal(rows[0].netns, 0);
	/* The guest's device: the tap that took the most in the window
	 * (tap0 5 ms, tap1 4 ms), what steering moves. */
	assert_string_equal(rows[0].device, "tap0");
	assert_int_equal(rows[1].kind, HIDDEN_CULPRIT_DEVICE);
	assert_string_equal(rows[1].name, "veth0");
	assert_string_equal(rows[1].device, "veth0");
	assert_int_equal(rows[1].netns, 2);
	assert_int_equal(rows[1].ns, 3 * MS);
	free(rows);

	/* No before: from zero. A thread with no entries: none. */
	assert_int_equal(hidden_culprits_build(&rows, &count, NULL, 0, after,
					       5, 2),
			 0);
	assert_int_equal(count, 1);
	assert_int_equal(rows[0].ns, 50 * MS);
	free(rows);
	assert_int_equal(hidden_culprits_build(&rows, &count, before, 2, after,
					       5, 3),
			 0);
	assert_int_equal(count, 0);
	assert_null(rows);
}

static struct guest *add_guest(struct guest_table *table, int pid,
			       const char *name)
{
	struct guest *guest = guest_table_add(table, pid, 1);
	struct thread *vcpu;

	assert_non_null(guest);
	strcpy(guest->name, name);
	vcpu = guest_add_thread(guest, pid + 1);
	assert_non_null(vcpu);
	vcpu->kind = THREAD_VCPU;
	vcpu->vcpu_index = 0;
	return guest;
}

static void add_culprit(struct guest *guest, struct hidden_culprit_total e)
{
	struct hidden_culprit_total *grown =
		realloc(guest->hidden_culprits,
			(guest->hidden_culprit_count + 1) * sizeof(e));

	assert_non_null(grown);
	guest->hidden_culprits = grown;
	grown[guest->hidden_culprit_count++] = e;
	guest->hidden_culprit_cap = guest->hidden_culprit_count;
}

static void report_has_the_window_figures(void **state)
{
	struct guest_table before, after;
	struct guest *guest;
	struct report report;
	const struct report_thread *vcpu;
	uint64_t seq;

	guest_table_init(&before);
	guest = add_guest(&before, 100, "web");
	seq = guest->threads[0].seq;
	guest->threads[0].counters.hidden.soft_ns[IRQ_SOFTIRQ_NET_RX] = 4 * MS;
	add_culprit(guest, entry(seq, IRQ_CULPRIT_DEVICE, 1, 6, "veth0", "",
				 4 * MS, 40));
	strcpy(guest->net[0].name, "tap0");
	guest->net[0].ifindex = 5;
	guest->net[0].counters[NET_RX_PACKETS] = 10;
	guest->net_count = 1;
	before.cpu_irq = calloc(2, sizeof(*before.cpu_irq));
	assert_non_null(before.cpu_irq);
	before.cpu_irq_count = 2;
	before.cpu_irq[1].soft_count[IRQ_SOFTIRQ_NET_RX] = 1000;
	before.irq_errors[IRQ_ERR_UNMATCHED_EXIT] = 3;

	assert_int_equal(guest_table_copy(&after, &before), 0);
	guest = &after.guests[0];
	guest->threads[0].counters.hidden.soft_ns[IRQ_SOFTIRQ_NET_RX] =
		10 * MS;
	guest->hidden_culprits[0].ns = 10 * MS;
	guest->net[0].counters[NET_RX_PACKETS] = 17;
	strcpy(guest->net[1].name, "tap9"); /* new: from zero */
	guest->net[1].ifindex = 9;
	guest->net[1].counters[NET_TX_BYTES] = 300;
	guest->net_count = 2;
	after.cpu_irq[1].soft_count[IRQ_SOFTIRQ_NET_RX] = 1250;
	after.irq_errors[IRQ_ERR_UNMATCHED_EXIT] = 5;
	after.irq_errors[IRQ_ERR_CULPRITS_FULL] = 7;

	assert_int_equal(report_build(&report, &before, &after, 1000 * MS), 0);
	assert_int_equal(report.guest_count, 1);
	vcpu = &report.guests[0].vcpus[0];
	assert_int_equal(vcpu->delta.hidden.soft_ns[IRQ_SOFTIRQ_NET_RX],
			 6 * MS);
	assert_int_equal(
		report.guests[0].vcpu_total.hidden.soft_ns[IRQ_SOFTIRQ_NET_RX],
		6 * MS);
	assert_int_equal(vcpu->hidden_culprit_count, 1);
	assert_string_equal(vcpu->hidden_culprits[0].name, "veth0");
	assert_int_equal(vcpu->hidden_culprits[0].ns, 6 * MS);
	assert_int_equal(report.cpu_irq_count, 2);
	assert_int_equal(report.cpu_irq[1].soft_count[IRQ_SOFTIRQ_NET_RX], 250);
	assert_int_equal(report.cpu_irq[0].soft_count[IRQ_SOFTIRQ_NET_RX], 0);
	/* The errors are the window's too: the copy carries them. */
	assert_int_equal(report.irq_errors[IRQ_ERR_UNMATCHED_EXIT], 2);
	assert_int_equal(report.irq_errors[IRQ_ERR_CULPRITS_FULL], 7);
	assert_int_equal(report.guests[0].net_count, 2);
	assert_string_equal(report.guests[0].net[0].name, "tap0");
	assert_int_equal(report.guests[0].net[0].counters[NET_RX_PACKETS], 7);
	assert_int_equal(report.guests[0].net[1].counters[NET_TX_BYTES], 300);
	report_free(&report);

	/* The interrupt programs not loaded: no per-CPU figures. */
	free(after.cpu_irq);
	after.cpu_irq = NULL;
	after.cpu_irq_count = 0;
	assert_int_equal(report_build(&report, &before, &after, 1000 * MS), 0);
	assert_null(report.cpu_irq);
	report_free(&report);
	guest_table_free(&before);
	guest_table_free(&after);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(counts_add_and_delta_by_field),
		cmocka_unit_test(names_follow_the_kernel),
		cmocka_unit_test(culprits_are_shown_by_owner_device_or_irq),
		cmocka_unit_test(culprits_are_per_thread_per_window_and_merged),
		cmocka_unit_test(report_has_the_window_figures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
