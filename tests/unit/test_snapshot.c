// SPDX-License-Identifier: GPL-2.0-only
/*
 * The window document the socket serves and top reads: the dump fields
 * over the window, plus seq and host totals, and the same figures once
 * top has turned the document into rows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "serve/snapshot.h"
#include "top/top_model.h"

#define MS 1000000ULL

static struct guest *add_guest(struct guest_table *table, int pid,
			       const char *name, int vcpus)
{
	struct guest *guest = guest_table_add(table, pid, 1000 + pid);

	assert_non_null(guest);
	snprintf(guest->name, sizeof(guest->name), "%s", name);
	for (int i = 0; i < vcpus; i++) {
		struct thread *thread = guest_add_thread(guest, pid + 1 + i);

		assert_non_null(thread);
		thread->kind = THREAD_VCPU;
		thread->vcpu_index = i;
	}
	return guest;
}

static struct json_object *get(struct json_object *obj, const char *key)
{
	struct json_object *value = NULL;

	assert_true(json_object_object_get_ex(obj, key, &value));
	return value;
}

static void window_has_dump_fields_and_host(void **state)
{
	struct guest_table live, before, after;
	uint64_t errors[SCHED_ERR_COUNT] = { 0 };
	struct snapshot_host host = {
		.seq = 7,
		.online_cpus = 2,
		.bpf_stats_enabled = true,
		.bpf_run_ns = 10 * MS,
		.bpf_runs = 1000,
	};
	struct json_object *doc, *guests, *guest, *h;
	struct top_model model;
	struct guest *web;
	char *json = NULL;

	guest_table_init(&live);
	web = add_guest(&live, 100, "web", 2);
	web->threads[0].counters.steal_ns = 50 * MS;
	assert_int_equal(guest_table_copy(&before, &live), 0);
	/* In the window: 300 ms + 100 ms of steal over 2 vCPUs x 1 s. */
	web = &live.guests[0];
	web->threads[0].counters.steal_ns += 300 * MS;
	web->threads[1].counters.steal_ns += 100 * MS;
	web->threads[0].counters.run_ns += 700 * MS;
	assert_int_equal(guest_table_copy(&after, &live), 0);
	errors[0] = 2;
	errors[SCHED_ERR_COUNT - 1] = 3;

	assert_int_equal(snapshot_build(&before, &after, 1000 * MS, errors,
					NULL, &host, &json),
			 0);
	assert_non_null(json);
	assert_null(strchr(json, '\n')); /* one line on the socket */
	doc = json_tokener_parse(json);
	assert_non_null(doc);
	assert_int_equal(json_object_get_uint64(get(doc, "seq")), 7);
	assert_int_equal(json_object_get_uint64(get(doc, "duration_ns")),
			 1000 * MS);
	guests = get(doc, "guests");
	assert_int_equal(json_object_array_length(guests), 1);
	guest = json_object_array_get_idx(guests, 0);
	assert_int_equal(json_object_get_uint64(get(guest, "steal_ns")),
			 400 * MS);
	h = get(doc, "host");
	assert_int_equal(json_object_get_uint64(get(h, "errors_total")), 5);
	/* 10 ms over 1 s of 2 CPUs. */
	assert_true(json_object_get_double(get(h, "bpf_cpu_pct")) > 0.499 &&
		    json_object_get_double(get(h, "bpf_cpu_pct")) < 0.501);
	assert_true(json_object_get_boolean(get(h, "bpf_stats_enabled")));
	get(doc, "errors");
	get(doc, "cpus");

	/* What top makes of it: 20 % per vCPU; vCPU 0 stole 30 %, ran 70 %. */
	top_model_init(&model);
	assert_int_equal(top_model_ingest(&model, doc, 1), 0);
	assert_int_equal(model.guest_count, 1);
	assert_true(model.guests[0].steal_pct > 19.99 &&
		    model.guests[0].steal_pct < 20.01);
	assert_true(model.guests[0].vcpus[0].steal_pct > 29.99 &&
		    model.guests[0].vcpus[0].steal_pct < 30.01);
	assert_true(model.guests[0].vcpus[0].oncpu_pct > 69.99 &&
		    model.guests[0].vcpus[0].oncpu_pct < 70.01);
	assert_int_equal(model.guests[0].vcpus[0].tid, 101);
	assert_true(model.host.bpf_known);
	assert_int_equal(model.host.errors_total, 5);
	assert_int_equal(model.host.seq, 7);
	top_model_free(&model);

	json_object_put(doc);
	free(json);
	guest_table_free(&before);
	guest_table_free(&after);
	guest_table_free(&live);
}

static void zero_length_window_is_not_a_division_by_zero(void **state)
{
	struct guest_table empty;
	uint64_t errors[SCHED_ERR_COUNT] = { 0 };
	struct snapshot_host host = { .online_cpus = 0 };
	struct json_object *doc;
	char *json = NULL;

	guest_table_init(&empty);
	assert_int_equal(
		snapshot_build(&empty, &empty, 0, errors, NULL, &host, &json), 0);
	doc = json_tokener_parse(json);
	assert_non_null(doc);
	assert_true(json_object_get_double(
			    get(get(doc, "host"), "bpf_cpu_pct")) == 0.0);
	json_object_put(doc);
	free(json);
	guest_table_free(&empty);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(window_has_dump_fields_and_host),
		cmocka_unit_test(zero_length_window_is_not_a_division_by_zero),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
