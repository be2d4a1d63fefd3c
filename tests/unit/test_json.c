// SPDX-License-Identifier: GPL-2.0-only
/*
 * The `dump --json` contract: a report written and parsed back with json-c
 * has every documented field with the right value and type.
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

static uint64_t get_u64(struct json_object *obj, const char *key)
{
	struct json_object *value = get(obj, key);

	assert_true(json_object_is_type(value, json_type_int));
	return json_object_get_uint64(value);
}

static void fills_the_contract(void **state)
{
	struct report_thread vcpus[2] = {
		{ .tid = 11,
		  .kind = THREAD_VCPU,
		  .vcpu_index = 0,
		  .delta = { .steal_ns = 3000000000ULL,
			     .run_ns = 2,
			     .waits = 3 } },
		{ .tid = 12,
		  .kind = THREAD_VCPU,
		  .vcpu_index = 1,
		  .delta = { .steal_ns = 4, .run_ns = 5, .waits = 6 } },
	};
	struct report_thread others[1] = {
		{ .tid = 10,
		  .kind = THREAD_EMULATOR,
		  .vcpu_index = -1,
		  .delta = { .steal_ns = 7, .run_ns = 8, .waits = 9 } },
	};
	struct report_guest guest = {
		.name = "web \"1\"",
		.uuid = "u-1",
		.pid = 10,
		.vmm = VMM_QEMU,
		.vcpus = vcpus,
		.vcpu_count = 2,
		.others = others,
		.other_count = 1,
		.vcpu_total = { .steal_ns = 3000000004ULL,
				.run_ns = 7,
				.waits = 9 },
		.other_total = { .steal_ns = 7, .run_ns = 8 },
	};
	struct report report = { .duration_ns = 5000000000ULL,
				 .guests = &guest,
				 .guest_count = 1 };
	struct json_object *doc = write_and_parse(&report), *g, *v, *o;

	assert_int_equal(get_u64(doc, "duration_ns"), 5000000000ULL);
	assert_int_equal(json_object_array_length(get(doc, "guests")), 1);
	g = json_object_array_get_idx(get(doc, "guests"), 0);
	assert_string_equal(json_object_get_string(get(g, "name")),
			    "web \"1\"");
	assert_string_equal(json_object_get_string(get(g, "uuid")), "u-1");
	assert_string_equal(json_object_get_string(get(g, "vmm")), "qemu");
	assert_int_equal(get_u64(g, "pid"), 10);
	assert_int_equal(get_u64(g, "steal_ns"), 3000000004ULL);
	assert_int_equal(get_u64(g, "run_ns"), 7);
	assert_int_equal(get_u64(g, "waits"), 9);
	assert_int_equal(json_object_array_length(get(g, "vcpus")), 2);
	v = json_object_array_get_idx(get(g, "vcpus"), 1);
	assert_int_equal(get_u64(v, "index"), 1);
	assert_int_equal(get_u64(v, "tid"), 12);
	assert_int_equal(get_u64(v, "steal_ns"), 4);
	assert_int_equal(get_u64(v, "run_ns"), 5);
	assert_int_equal(get_u64(v, "waits"), 6);
	o = json_object_array_get_idx(get(g, "other_threads"), 0);
	assert_string_equal(json_object_get_string(get(o, "kind")), "emulator");
	assert_int_equal(get_u64(o, "tid"), 10);
	assert_int_equal(get_u64(o, "steal_ns"), 7);
	assert_int_equal(get_u64(o, "run_ns"), 8);
	get_u64(get(doc, "errors"), "storage_create");
	json_object_put(doc);
}

static void empty_host_is_valid(void **state)
{
	struct report report = { .duration_ns = 1 };
	struct json_object *doc = write_and_parse(&report);

	assert_int_equal(json_object_array_length(get(doc, "guests")), 0);
	json_object_put(doc);
}

static void absent_uuid_is_omitted(void **state)
{
	struct report_guest guest = { .name = "x", .pid = 1 };
	struct report report = { .guests = &guest, .guest_count = 1 };
	struct json_object *doc = write_and_parse(&report), *g, *unused;

	g = json_object_array_get_idx(get(doc, "guests"), 0);
	assert_false(json_object_object_get_ex(g, "uuid", &unused));
	assert_int_equal(json_object_array_length(get(g, "vcpus")), 0);
	json_object_put(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fills_the_contract),
		cmocka_unit_test(empty_host_is_valid),
		cmocka_unit_test(absent_uuid_is_omitted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
