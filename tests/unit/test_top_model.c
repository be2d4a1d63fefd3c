// SPDX-License-Identifier: GPL-2.0-only
/* top's pure side: percentages from a window document, the minute of
 * history, sorting and filtering, and lines that never pass 80 columns. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "top/top_format.h"
#include "top/top_model.h"

#define SEC 1000000000ULL

/* A window of `duration` ns: guests as (name, pid, vcpus, steal_ns). */
static struct json_object *window(uint64_t seq, uint64_t duration_ns,
				  const char *guests_json)
{
	char text[8192];
	struct json_object *doc;

	snprintf(text, sizeof(text),
		 "{\"duration_ns\":%llu,\"seq\":%llu,\"guests\":[%s],"
		 "\"errors\":{\"bad_slot\":2,\"storage_create\":1},"
		 "\"host\":{\"online_cpus\":2,\"bpf_stats_enabled\":true,"
		 "\"bpf_cpu_pct\":0.25,\"errors_total\":3}}",
		 (unsigned long long)duration_ns, (unsigned long long)seq,
		 guests_json);
	doc = json_tokener_parse(text);
	assert_non_null(doc);
	return doc;
}

static const char two_guests[] =
	"{\"name\":\"web\",\"pid\":100,\"steal_ns\":500000000,"
	"\"wait_p99_ns\":2500000,"
	"\"culprits\":[{\"kind\":\"guest\",\"name\":\"batch\","
	"\"steal_ns\":400000000},{\"kind\":\"kernel\",\"name\":\"\","
	"\"steal_ns\":100000000}],"
	"\"vcpus\":[{\"index\":0,\"tid\":101,\"steal_ns\":400000000,"
	"\"run_ns\":500000000},{\"index\":1,\"tid\":102,"
	"\"steal_ns\":100000000,\"run_ns\":900000000}]},"
	"{\"name\":\"gone\",\"pid\":300,\"exited\":true,"
	"\"steal_ns\":900000000,\"vcpus\":[{\"index\":0}]},"
	"{\"name\":\"batch\",\"pid\":200,\"steal_ns\":100000000,"
	"\"wait_p99_ns\":900000,\"culprits\":[],"
	"\"vcpus\":[{\"index\":0,\"tid\":201,\"steal_ns\":100000000,"
	"\"run_ns\":900000000}]}";

static struct top_guest *find(struct top_model *model, const char *name)
{
	for (size_t i = 0; i < model->guest_count; i++)
		if (!strcmp(model->guests[i].name, name))
			return &model->guests[i];
	fail_msg("no row %s", name);
	return NULL;
}

static void percentages_per_vcpu(void **state)
{
	struct top_model model;
	struct json_object *doc = window(1, SEC, two_guests);
	struct top_guest *web;

	top_model_init(&model);
	assert_int_equal(top_model_ingest(&model, doc, 10 * SEC), 0);
	assert_int_equal(model.guest_count, 2);
	web = find(&model, "web");
	/* 0.5 s of steal over 2 vCPUs x 1 s: 25 %. */
	assert_int_equal(web->vcpu_count, 2);
	assert_true(web->steal_pct > 24.99 && web->steal_pct < 25.01);
	assert_true(web->vcpus[0].steal_pct > 39.99 &&
		    web->vcpus[0].steal_pct < 40.01);
	assert_true(web->vcpus[1].oncpu_pct > 89.99 &&
		    web->vcpus[1].oncpu_pct < 90.01);
	assert_int_equal(web->vcpus[0].cpu, -1);
	assert_string_equal(web->culprit, "batch");
	assert_true(web->culprit_share > 0.79 && web->culprit_share < 0.81);
	assert_int_equal(web->wait_p99_ns, 2500000);
	assert_false(web->has_io);
	assert_string_equal(web->budget, "");
	/* Host: 0.6 s over 3 vCPU-seconds. */
	assert_int_equal(model.host.guests_running, 2);
	assert_int_equal(model.host.vcpus, 3);
	assert_true(model.host.steal_pct > 19.99 &&
		    model.host.steal_pct < 20.01);
	assert_true(model.host.bpf_known);
	assert_int_equal(model.host.errors_total, 3);
	json_object_put(doc);
	top_model_free(&model);
}

static void zero_duration_is_zero_percent(void **state)
{
	assert_true(top_model_percent(5, 0) == 0.0);
	assert_true(top_model_percent(1, 4) == 25.0);
}

static void minute_averages_recent_windows(void **state)
{
	struct top_model model;
	struct json_object *busy = window(1, SEC,
					  "{\"name\":\"a\",\"pid\":1,"
					  "\"steal_ns\":800000000,"
					  "\"vcpus\":[{\"index\":0}]}");
	struct json_object *quiet = window(2, SEC,
					   "{\"name\":\"a\",\"pid\":1,"
					   "\"steal_ns\":0,"
					   "\"vcpus\":[{\"index\":0}]}");
	struct json_object *quiet_again = window(3, SEC,
						 "{\"name\":\"a\",\"pid\":1,"
						 "\"steal_ns\":0,"
						 "\"vcpus\":[{\"index\":0}]}");

	top_model_init(&model);
	assert_int_equal(top_model_ingest(&model, busy, 100 * SEC), 0);
	assert_true(model.guests[0].steal_min_pct > 79.9);
	assert_int_equal(top_model_ingest(&model, quiet, 101 * SEC), 0);
	/* Now 0 %, the minute (0.8 s of 2 s) 40 %. */
	assert_true(model.guests[0].steal_pct == 0.0);
	assert_true(model.guests[0].steal_min_pct > 39.9 &&
		    model.guests[0].steal_min_pct < 40.1);
	/* The same window twice (the agent had no new one) counts once. */
	assert_int_equal(top_model_ingest(&model, quiet, 101 * SEC + 5), 0);
	assert_true(model.guests[0].steal_min_pct > 39.9 &&
		    model.guests[0].steal_min_pct < 40.1);
	/* A minute later the busy window has aged out. */
	assert_int_equal(top_model_ingest(&model, quiet_again, 161 * SEC), 0);
	assert_true(model.guests[0].steal_min_pct == 0.0);
	json_object_put(busy);
	json_object_put(quiet);
	json_object_put(quiet_again);
	top_model_free(&model);
}

static void sorting_by_columns(void **state)
{
	struct top_model model;
	struct json_object *doc = window(1, SEC, two_guests);

	top_model_init(&model);
	assert_int_equal(top_model_ingest(&model, doc, SEC), 0);
	/* Default: steal, largest first. */
	assert_string_equal(model.guests[0].name, "web");
	model.sort = TOP_COL_NAME;
	top_model_sort(&model);
	assert_string_equal(model.guests[0].name, "batch");
	model.reverse = true;
	top_model_sort(&model);
	assert_string_equal(model.guests[0].name, "web");
	model.reverse = false;
	model.sort = TOP_COL_VCPUS;
	top_model_sort(&model);
	assert_string_equal(model.guests[0].name, "web");
	model.sort = TOP_COL_WAIT_P99;
	model.reverse = true;
	top_model_sort(&model);
	assert_string_equal(model.guests[0].name, "batch");
	/* Empty culprits sort last. */
	model.sort = TOP_COL_CULPRIT;
	model.reverse = false;
	top_model_sort(&model);
	assert_string_equal(model.guests[0].name, "web");
	json_object_put(doc);
	top_model_free(&model);
}

static void filtering_by_name(void **state)
{
	struct top_guest guest = { .name = "Prod-Web-01" };

	assert_true(top_model_guest_matches(&guest, ""));
	assert_true(top_model_guest_matches(&guest, "web"));
	assert_true(top_model_guest_matches(&guest, "PROD"));
	assert_false(top_model_guest_matches(&guest, "db"));
}

static void io_and_budget_when_present(void **state)
{
	struct top_model model;
	struct json_object *doc = window(
		1, 2 * SEC,
		"{\"name\":\"io\",\"pid\":5,\"vcpus\":[],"
		"\"io\":[{\"device\":\"vda\",\"read_ops\":100,"
		"\"write_ops\":300,\"read_bytes\":1000000,"
		"\"write_bytes\":3000000,\"queue_ns\":4000000}],"
		"\"budget\":{\"state\":\"over\",\"action\":\"throttle\"}},"
		"{\"name\":\"io2\",\"pid\":6,\"vcpus\":[],"
		"\"io\":{\"vda\":{\"read_ops\":10,\"queue_ns\":10},"
		"\"vdb\":{\"write_ops\":10,\"queue_p99_ns\":7000}}}");
	struct top_guest *io, *io2;
	char line[256];

	top_model_init(&model);
	assert_int_equal(top_model_ingest(&model, doc, SEC), 0);
	io = find(&model, "io");
	assert_true(io->has_io);
	assert_true(io->io_ops_per_s > 199.9 && io->io_ops_per_s < 200.1);
	assert_true(io->io_mb_per_s > 1.99 && io->io_mb_per_s < 2.01);
	assert_int_equal(io->io_qwait_ns, 10000); /* mean: 4 ms / 400 */
	assert_string_equal(io->budget, "over/throttle");
	io2 = find(&model, "io2");
	assert_int_equal(io2->io_qwait_ns, 7000); /* p99 wins over mean */
	top_format_guest(line, sizeof(line), io, 80);
	assert_non_null(strstr(line, "200"));
	assert_non_null(strstr(line, "over/t"));
	json_object_put(doc);
	top_model_free(&model);
}

/* An agent that cannot see the block layer lists empty "io" lists: top
 * must say "unknown", not "idle". */
static void unavailable_io_is_not_zero(void **state)
{
	struct top_model model;
	struct json_object *doc = json_tokener_parse(
		"{\"duration_ns\":1000000000,\"io_available\":false,"
		"\"guests\":[{\"name\":\"g\",\"pid\":1,\"io\":[]}]}");
	struct json_object *available = json_tokener_parse(
		"{\"duration_ns\":1000000000,\"io_available\":true,"
		"\"guests\":[{\"name\":\"g\",\"pid\":1,\"io\":[]}]}");

	top_model_init(&model);
	assert_int_equal(top_model_ingest(&model, doc, 1), 0);
	assert_false(model.guests[0].has_io);
	assert_int_equal(top_model_ingest(&model, available, 2), 0);
	assert_true(model.guests[0].has_io);
	assert_true(model.guests[0].io_ops_per_s == 0.0);
	json_object_put(doc);
	json_object_put(available);
	top_model_free(&model);
}

static void missing_io_shows_dashes(void **state)
{
	struct top_guest guest = { .name = "x", .vcpu_count = 1 };
	char line[256];
	int dashes = 0;

	top_format_guest(line, sizeof(line), &guest, 80);
	for (char *p = line; (p = strstr(p, " -")); p++)
		dashes++;
	/* WAIT99, CULPRIT, HIDDEN%, IOPS, MB/s, QWAIT, BUDGET. */
	assert_int_equal(dashes, 7);
}

/* HIDDEN%: the vCPUs' interrupt time per vCPU, like STEAL%; the largest
 * culprit for the expanded view; "-" when the window has no "hidden". */
static void hidden_steal_per_vcpu(void **state)
{
	struct top_model model;
	struct json_object *doc = window(
		1, SEC,
		"{\"name\":\"victim\",\"pid\":1,"
		"\"hidden\":{\"irq_ns\":100000000,\"softirq_ns\":700000000,"
		"\"culprits\":[{\"kind\":\"device\",\"name\":\"veth0\","
		"\"ns\":600000000},{\"kind\":\"irq\",\"name\":\"x\","
		"\"ns\":1}]},"
		"\"vcpus\":[{\"index\":0,\"tid\":5,\"hidden\":{\"irq_ns\":"
		"100000000,\"softirq_ns\":300000000}},{\"index\":1,\"tid\":6,"
		"\"hidden\":{\"irq_ns\":0,\"softirq_ns\":400000000}}]},"
		"{\"name\":\"old\",\"pid\":2,\"vcpus\":[{\"index\":0}]}");
	struct top_guest *victim, *old;
	char line[256];

	top_model_init(&model);
	assert_int_equal(top_model_ingest(&model, doc, SEC), 0);
	victim = find(&model, "victim");
	assert_true(victim->has_hidden);
	/* 0.8 s over 2 vCPUs x 1 s: 40 %; irq 5 %, softirq 35 %. */
	assert_true(victim->hidden_pct > 39.99 && victim->hidden_pct < 40.01);
	assert_true(victim->hidden_irq_pct > 4.99 &&
		    victim->hidden_irq_pct < 5.01);
	assert_true(victim->hidden_softirq_pct > 34.99 &&
		    victim->hidden_softirq_pct < 35.01);
	assert_true(victim->vcpus[0].hidden_pct > 39.99 &&
		    victim->vcpus[0].hidden_pct < 40.01);
	assert_string_equal(victim->hidden_culprit, "veth0");
	assert_string_equal(victim->hidden_culprit_kind, "device");
	assert_true(victim->hidden_culprit_share > 0.74 &&
		    victim->hidden_culprit_share < 0.76);
	assert_int_equal(top_model_detail_lines(victim), 3);
	top_format_guest(line, sizeof(line), victim, 80);
	assert_non_null(strstr(line, "   40.0 "));
	top_format_hidden(line, sizeof(line), victim, 80);
	assert_string_equal(line, "  hidden  irq   5.0%  softirq  35.0%  by "
				  "device veth0 (75%)");
	top_format_vcpu(line, sizeof(line), &victim->vcpus[1], true, 80);
	assert_non_null(strstr(line, "hidden  40.0%"));

	old = find(&model, "old");
	assert_false(old->has_hidden);
	assert_int_equal(top_model_detail_lines(old), 1);
	top_format_vcpu(line, sizeof(line), &old->vcpus[0], false, 80);
	assert_null(strstr(line, "hidden"));
	top_format_hidden(line, sizeof(line), old, 80);
	assert_string_equal(line, "");

	model.sort = TOP_COL_HIDDEN;
	top_model_sort(&model);
	assert_string_equal(model.guests[0].name, "victim");
	model.reverse = true;
	top_model_sort(&model);
	assert_string_equal(model.guests[0].name, "old");
	json_object_put(doc);
	top_model_free(&model);
}

static void not_a_window_is_refused(void **state)
{
	struct top_model model;
	struct json_object *doc = json_tokener_parse("[1,2]");

	top_model_init(&model);
	assert_int_equal(top_model_ingest(&model, doc, 0), -EINVAL);
	assert_int_equal(top_model_ingest(&model, NULL, 0), -EINVAL);
	json_object_put(doc);
	doc = json_tokener_parse("{\"hello\":1}");
	assert_int_equal(top_model_ingest(&model, doc, 0), -EINVAL);
	json_object_put(doc);
	top_model_free(&model);
}

/* Every line fits its width, at 80 and at narrower and wider terminals,
 * whatever the figures and however long the names. */
static void lines_fit_the_width(void **state)
{
	struct top_model model;
	struct top_guest guest = {
		.vcpu_count = 9999,
		.steal_pct = 100.0,
		.steal_min_pct = 100.0,
		.wait_p99_ns = 987654321012ULL,
		.has_io = true,
		.io_ops_per_s = 123456789.0,
		.io_mb_per_s = 98765.4,
		.io_qwait_ns = 99999999999ULL,
		.has_hidden = true,
		.hidden_pct = 100.0,
		.hidden_irq_pct = 100.0,
		.hidden_softirq_pct = 100.0,
		.hidden_culprit_kind = "device",
		.hidden_culprit_share = 1.0,
	};
	struct top_vcpu vcpu = { .index = 255,
				 .tid = 4194304,
				 .cpu = 1023,
				 .steal_pct = 100,
				 .oncpu_pct = 100 };
	static const int widths[] = { 20, 40, 79, 80, 81, 120, 300 };
	char line[1024], header_80[256], row_80[256];

	top_model_init(&model);
	model.host.guests_running = 100000;
	model.host.vcpus = 100000;
	model.host.errors_total = UINT64_MAX;
	memset(guest.name, 'n', sizeof(guest.name) - 1);
	memset(guest.culprit, 'c', sizeof(guest.culprit) - 1);
	memset(guest.hidden_culprit, 'h', sizeof(guest.hidden_culprit) - 1);
	snprintf(guest.budget, sizeof(guest.budget), "throttled/limit");
	for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
		int w = widths[i];

		assert_true(top_format_host(line, sizeof(line), &model, "agent",
					    1.0, w) <= (size_t)w);
		assert_true(strlen(line) <= (size_t)w);
		assert_true(top_format_header(line, sizeof(line), &model, w) <=
			    (size_t)w);
		assert_true(top_format_guest(line, sizeof(line), &guest, w) <=
			    (size_t)w);
		assert_true(strlen(line) <= (size_t)w);
		assert_true(top_format_vcpu(line, sizeof(line), &vcpu, true,
					    w) <= (size_t)w);
		assert_null(strchr(line, '\n'));
		assert_true(top_format_hidden(line, sizeof(line), &guest, w) <=
			    (size_t)w);
		assert_true(strlen(line) <= (size_t)w);
	}
	/* At 80 every column is there: the header's last one included, and
	 * a row's columns line up under the header's. */
	top_format_header(header_80, sizeof(header_80), &model, 80);
	assert_non_null(strstr(header_80, "BUDGET"));
	assert_true(strlen(header_80) <= 80);
	memset(guest.name, 0, sizeof(guest.name));
	snprintf(guest.name, sizeof(guest.name), "web");
	guest.vcpu_count = 4;
	top_format_guest(row_80, sizeof(row_80), &guest, 80);
	assert_int_equal(strstr(header_80, "VCPU") + 4 - header_80,
			 strstr(row_80, "   4 ") + 4 - row_80);
	/* HIDDEN% ends where its figure ends: 100.0 after the culprit. */
	assert_non_null(strstr(row_80, " 100.0 "));
	assert_int_equal(strstr(header_80, "HIDDEN%") + 7 - header_80,
			 strstr(row_80, "ccccccccc   100.0") + 17 - row_80);
	top_model_free(&model);
}

static void durations_are_short(void **state)
{
	static const struct {
		uint64_t ns;
		const char *text;
	} cases[] = {
		{ 0, "0ns" },
		{ 999, "999ns" },
		{ 850000, "850us" },
		{ 2500000, "2.5ms" },
		{ 45000000, "45ms" },
		{ 3100000000ULL, "3.1s" },
		{ 500000000000ULL, "500s" },
	};
	char text[16];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		top_format_duration(text, sizeof(text), cases[i].ns);
		assert_string_equal(text, cases[i].text);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(percentages_per_vcpu),
		cmocka_unit_test(zero_duration_is_zero_percent),
		cmocka_unit_test(minute_averages_recent_windows),
		cmocka_unit_test(sorting_by_columns),
		cmocka_unit_test(filtering_by_name),
		cmocka_unit_test(io_and_budget_when_present),
		cmocka_unit_test(unavailable_io_is_not_zero),
		cmocka_unit_test(missing_io_shows_dashes),
		cmocka_unit_test(hidden_steal_per_vcpu),
		cmocka_unit_test(not_a_window_is_refused),
		cmocka_unit_test(lines_fit_the_width),
		cmocka_unit_test(durations_are_short),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
