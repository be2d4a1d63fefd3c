// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hidden steal in the `dump --json` contract (exporters/json_hidden.c): a
 * synthetic report written and parsed back has each thread's, each
 * guest's and each CPU's figures, every vector in the kernel's order, the
 * culprits merged and largest first, and nothing at all when the
 * interrupt programs did not measure the window.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "report_out.h"

static struct json_object *write_and_parse(const struct report *report)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	struct json_object *doc;

	assert_non_null(mem);
	assert_int_equal(json_write_report(mem, report), 0);
	fclose(mem);
	doc = json_tokener_parse(text);
	free(text);
	assert_non_null(doc);
	return doc;
}

static struct json_object *get(struct json_object *obj, const char *key)
{
	struct json_object *value = NULL;

	if (!json_object_object_get_ex(obj, key, &value))
		fail_msg("missing field %s", key);
	return value;
}

static bool has(struct json_object *obj, const char *key)
{
	return json_object_object_get_ex(obj, key, NULL);
}

static uint64_t get_u64(struct json_object *obj, const char *key)
{
	struct json_object *value = get(obj, key);

	assert_true(json_object_is_type(value, json_type_int));
	return json_object_get_uint64(value);
}

static const char *get_str(struct json_object *obj, const char *key)
{
	struct json_object *value = get(obj, key);

	assert_true(json_object_is_type(value, json_type_string));
	return json_object_get_string(value);
}

static struct json_object *at(struct json_object *list, size_t index)
{
	assert_true(json_object_is_type(list, json_type_array));
	assert_true(index < json_object_array_length(list));
	return json_object_array_get_idx(list, index);
}

/* A thread's interrupt figures: every field differs, so a swapped or
 * shifted one shows. */
static struct irq_counts counts_from(uint64_t base)
{
	struct irq_counts counts = { 0 };

	for (int k = 0; k < IRQ_HARD_KINDS; k++) {
		counts.hard_ns[k] = base + 100 * (uint64_t)k;
		counts.hard_count[k] = base / 10 + (uint64_t)k;
	}
	for (int v = 0; v < IRQ_SOFTIRQ_VECTORS; v++) {
		counts.soft_ns[v] = base * 2 + 1000 * (uint64_t)v;
		counts.soft_count[v] = base / 5 + (uint64_t)v;
	}
	return counts;
}

static uint64_t sum(const __u64 *values, int count)
{
	uint64_t total = 0;

	for (int i = 0; i < count; i++)
		total += values[i];
	return total;
}

/* web: vCPUs 0 and 1, one vhost thread; cpu_irq of two CPUs. */
struct fixture {
	struct report_hidden_culprit vcpu0_culprits[3];
	struct report_hidden_culprit vcpu1_culprits[2];
	struct report_thread vcpus[2];
	struct report_thread others[1];
	struct report_guest guest;
	struct irq_counts cpu_irq[2];
	uint64_t cpu_wait_ns[2];
	struct report report;
};

static void fixture_fill(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->vcpu0_culprits[0] =
		(struct report_hidden_culprit){ .kind = HIDDEN_CULPRIT_DEVICE,
						.name = "veth0",
						.netns = 4026531840U,
						.ns = 700,
						.count = 7 };
	f->vcpu0_culprits[1] =
		(struct report_hidden_culprit){ .kind = HIDDEN_CULPRIT_GUEST,
						.name = "noisy",
						.ns = 500,
						.count = 5 };
	f->vcpu0_culprits[2] = (struct report_hidden_culprit){
		.kind = HIDDEN_CULPRIT_IRQ, .name = "local_timer", .ns = 0
	};
	/* The same device in another namespace is another culprit; the
	 * same guest on another vCPU adds up at the guest's level. */
	f->vcpu1_culprits[0] =
		(struct report_hidden_culprit){ .kind = HIDDEN_CULPRIT_DEVICE,
						.name = "veth0",
						.netns = 4026532000U,
						.ns = 300,
						.count = 3 };
	f->vcpu1_culprits[1] =
		(struct report_hidden_culprit){ .kind = HIDDEN_CULPRIT_GUEST,
						.name = "noisy",
						.ns = 400,
						.count = 4 };
	f->vcpus[0] = (struct report_thread){
		.tid = 11,
		.kind = THREAD_VCPU,
		.vcpu_index = 0,
		.hidden_culprits = f->vcpu0_culprits,
		.hidden_culprit_count = 3,
	};
	f->vcpus[0].delta.hidden = counts_from(1000);
	f->vcpus[1] = (struct report_thread){
		.tid = 12,
		.kind = THREAD_VCPU,
		.vcpu_index = 1,
		.hidden_culprits = f->vcpu1_culprits,
		.hidden_culprit_count = 2,
	};
	f->vcpus[1].delta.hidden = counts_from(2000);
	f->others[0] = (struct report_thread){ .tid = 10,
					       .kind = THREAD_VHOST,
					       .vcpu_index = -1 };
	f->others[0].delta.hidden = counts_from(50);
	f->guest = (struct report_guest){ .name = "web",
					  .pid = 10,
					  .vmm = VMM_QEMU,
					  .vcpus = f->vcpus,
					  .vcpu_count = 2,
					  .others = f->others,
					  .other_count = 1 };
	f->guest.vcpu_total.hidden = counts_from(1000);
	hidden_counts_add(&f->guest.vcpu_total.hidden,
			  &f->vcpus[1].delta.hidden);
	f->cpu_irq[0] = counts_from(30000);
	f->cpu_irq[1] = counts_from(40000);
	f->cpu_wait_ns[0] = 5;
	f->cpu_wait_ns[1] = 6;
	f->report = (struct report){ .duration_ns = 1000000000,
				     .guests = &f->guest,
				     .guest_count = 1,
				     .cpu_wait_ns = f->cpu_wait_ns,
				     .cpu_count = 2,
				     .cpu_irq = f->cpu_irq,
				     .cpu_irq_count = 2 };
}

/* totals, every vector and kind in order with its own figures */
static void check_hidden(struct json_object *hidden,
			 const struct irq_counts *want)
{
	struct json_object *vectors = get(hidden, "by_vector");
	struct json_object *kinds = get(hidden, "irq_by_kind");

	assert_int_equal(get_u64(hidden, "irq_ns"),
			 sum(want->hard_ns, IRQ_HARD_KINDS));
	assert_int_equal(get_u64(hidden, "irq_count"),
			 sum(want->hard_count, IRQ_HARD_KINDS));
	assert_int_equal(get_u64(hidden, "softirq_ns"),
			 sum(want->soft_ns, IRQ_SOFTIRQ_VECTORS));
	assert_int_equal(get_u64(hidden, "softirq_count"),
			 sum(want->soft_count, IRQ_SOFTIRQ_VECTORS));
	assert_int_equal(json_object_array_length(vectors),
			 IRQ_SOFTIRQ_VECTORS);
	for (int v = 0; v < IRQ_SOFTIRQ_VECTORS; v++) {
		struct json_object *row = at(vectors, (size_t)v);

		assert_string_equal(get_str(row, "vector"),
				    hidden_softirq_name(v));
		assert_int_equal(get_u64(row, "ns"), want->soft_ns[v]);
		assert_int_equal(get_u64(row, "count"), want->soft_count[v]);
	}
	assert_int_equal(json_object_array_length(kinds), IRQ_HARD_KINDS);
	for (int k = 0; k < IRQ_HARD_KINDS; k++) {
		struct json_object *row = at(kinds, (size_t)k);

		assert_string_equal(get_str(row, "kind"),
				    hidden_hard_kind_name(k));
		assert_int_equal(get_u64(row, "ns"), want->hard_ns[k]);
		assert_int_equal(get_u64(row, "count"), want->hard_count[k]);
	}
}

static void threads_and_guest_carry_hidden(void **state)
{
	struct fixture f;
	struct json_object *doc, *g, *v;

	fixture_fill(&f);
	doc = write_and_parse(&f.report);
	g = at(get(doc, "guests"), 0);
	check_hidden(get(g, "hidden"), &f.guest.vcpu_total.hidden);
	check_hidden(get(at(get(g, "vcpus"), 0), "hidden"),
		     &f.vcpus[0].delta.hidden);
	check_hidden(get(at(get(g, "vcpus"), 1), "hidden"),
		     &f.vcpus[1].delta.hidden);
	v = get(at(get(g, "other_threads"), 0), "hidden");
	check_hidden(v, &f.others[0].delta.hidden);
	assert_int_equal(json_object_array_length(get(v, "culprits")), 0);
	/* The kernel's order: NET_RX is the fourth vector. */
	assert_string_equal(get_str(at(get(v, "by_vector"), 3), "vector"),
			    "NET_RX");
	json_object_put(doc);
}

static void culprits_are_merged_largest_first(void **state)
{
	struct fixture f;
	struct json_object *doc, *g, *list, *c;

	fixture_fill(&f);
	doc = write_and_parse(&f.report);
	g = at(get(doc, "guests"), 0);

	/* vCPU 0: the device, then the guest; the one at 0 is left out. */
	list = get(get(at(get(g, "vcpus"), 0), "hidden"), "culprits");
	assert_int_equal(json_object_array_length(list), 2);
	c = at(list, 0);
	assert_string_equal(get_str(c, "kind"), "device");
	assert_string_equal(get_str(c, "name"), "veth0");
	assert_int_equal(get_u64(c, "ns"), 700);
	assert_int_equal(get_u64(c, "count"), 7);
	assert_int_equal(get_u64(c, "netns"), 4026531840U);
	c = at(list, 1);
	assert_string_equal(get_str(c, "kind"), "guest");
	assert_string_equal(get_str(c, "name"), "noisy");
	assert_false(has(c, "netns"));

	/* vCPU 1 alone: its guest culprit is the larger. */
	list = get(get(at(get(g, "vcpus"), 1), "hidden"), "culprits");
	assert_int_equal(json_object_array_length(list), 2);
	assert_string_equal(get_str(at(list, 0), "kind"), "guest");
	assert_int_equal(get_u64(at(list, 0), "ns"), 400);

	/* The guest: noisy 500 + 400, then veth0 of each namespace apart. */
	list = get(get(g, "hidden"), "culprits");
	assert_int_equal(json_object_array_length(list), 3);
	c = at(list, 0);
	assert_string_equal(get_str(c, "kind"), "guest");
	assert_string_equal(get_str(c, "name"), "noisy");
	assert_int_equal(get_u64(c, "ns"), 900);
	assert_int_equal(get_u64(c, "count"), 9);
	assert_int_equal(get_u64(at(list, 1), "ns"), 700);
	assert_int_equal(get_u64(at(list, 1), "netns"), 4026531840U);
	assert_int_equal(get_u64(at(list, 2), "ns"), 300);
	assert_int_equal(get_u64(at(list, 2), "netns"), 4026532000U);
	json_object_put(doc);
}

static void cpus_carry_both_contexts(void **state)
{
	struct fixture f;
	struct json_object *doc, *cpu, *soft, *hard;

	fixture_fill(&f);
	doc = write_and_parse(&f.report);
	assert_int_equal(json_object_array_length(get(doc, "cpus")), 2);
	cpu = at(get(doc, "cpus"), 1);
	assert_int_equal(get_u64(cpu, "cpu"), 1);
	assert_int_equal(get_u64(cpu, "vcpu_wait_ns"), 6);
	soft = get(cpu, "softirq");
	assert_int_equal(get_u64(soft, "ns"),
			 sum(f.cpu_irq[1].soft_ns, IRQ_SOFTIRQ_VECTORS));
	assert_int_equal(get_u64(soft, "count"),
			 sum(f.cpu_irq[1].soft_count, IRQ_SOFTIRQ_VECTORS));
	assert_int_equal(json_object_array_length(get(soft, "by_vector")),
			 IRQ_SOFTIRQ_VECTORS);
	assert_string_equal(get_str(at(get(soft, "by_vector"), 3), "vector"),
			    "NET_RX");
	assert_int_equal(get_u64(at(get(soft, "by_vector"), 3), "count"),
			 f.cpu_irq[1].soft_count[IRQ_SOFTIRQ_NET_RX]);
	hard = get(cpu, "irq");
	assert_int_equal(get_u64(hard, "ns"),
			 sum(f.cpu_irq[1].hard_ns, IRQ_HARD_KINDS));
	assert_int_equal(get_u64(hard, "count"),
			 sum(f.cpu_irq[1].hard_count, IRQ_HARD_KINDS));
	assert_int_equal(json_object_array_length(get(hard, "by_vector")),
			 IRQ_HARD_KINDS);
	assert_string_equal(get_str(at(get(hard, "by_vector"), 1), "vector"),
			    "LOCAL_TIMER");
	assert_int_equal(get_u64(at(get(hard, "by_vector"), 1), "ns"),
			 f.cpu_irq[1].hard_ns[IRQ_HARD_LOCAL_TIMER]);
	json_object_put(doc);
}

/* Interrupt figures on CPUs the wait figures do not cover still show. */
static void cpus_beyond_the_wait_figures_are_added(void **state)
{
	struct fixture f;
	struct json_object *doc, *cpu;

	fixture_fill(&f);
	f.report.cpu_count = 1;
	doc = write_and_parse(&f.report);
	assert_int_equal(json_object_array_length(get(doc, "cpus")), 2);
	cpu = at(get(doc, "cpus"), 1);
	assert_int_equal(get_u64(cpu, "cpu"), 1);
	assert_int_equal(get_u64(get(cpu, "softirq"), "ns"),
			 sum(f.cpu_irq[1].soft_ns, IRQ_SOFTIRQ_VECTORS));
	json_object_put(doc);
}

/* Both counters, always, with the window's figures. */
static void errors_are_the_windows(void **state)
{
	struct fixture f;
	struct json_object *doc, *errors;

	fixture_fill(&f);
	f.report.irq_errors[IRQ_ERR_CULPRITS_FULL] = 9;
	doc = write_and_parse(&f.report);
	errors = get(doc, "irq_errors");
	assert_int_equal(get_u64(errors, "culprits_full"), 9);
	assert_int_equal(get_u64(errors, "unmatched_exit"), 0);
	assert_int_equal(json_object_object_length(errors), IRQ_ERR_COUNT);
	json_object_put(doc);
}

/* Not measured (the interrupt programs are not loaded): no "hidden" and
 * no per-CPU contexts, rather than zeros that read as "none happened". */
static void unmeasured_window_has_no_hidden(void **state)
{
	struct fixture f;
	struct json_object *doc, *g, *cpu;

	fixture_fill(&f);
	f.report.cpu_irq = NULL;
	f.report.cpu_irq_count = 0;
	doc = write_and_parse(&f.report);
	g = at(get(doc, "guests"), 0);
	assert_false(has(g, "hidden"));
	assert_false(has(at(get(g, "vcpus"), 0), "hidden"));
	assert_false(has(at(get(g, "other_threads"), 0), "hidden"));
	cpu = at(get(doc, "cpus"), 0);
	assert_int_equal(get_u64(cpu, "vcpu_wait_ns"), 5);
	assert_false(has(cpu, "softirq"));
	assert_false(has(cpu, "irq"));
	assert_false(has(doc, "irq_errors"));
	json_object_put(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(threads_and_guest_carry_hidden),
		cmocka_unit_test(culprits_are_merged_largest_first),
		cmocka_unit_test(cpus_carry_both_contexts),
		cmocka_unit_test(cpus_beyond_the_wait_figures_are_added),
		cmocka_unit_test(errors_are_the_windows),
		cmocka_unit_test(unmeasured_window_has_no_hidden),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
