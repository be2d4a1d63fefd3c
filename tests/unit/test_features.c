// SPDX-License-Identifier: GPL-2.0-only
/* The feature table: the test switch's list, the KVM loader's status made
 * into two features, which budgets need what, and the table as every
 * output writes it (JSON, /metrics, the dump document, top's line). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "config/enforce_config.h"
#include "collect/feature_check.h"
#include "model/features.h"
#include "cmd/commands.h"
#include "features_out.h"
#include "load/kvm_loader.h"
#include "report_out.h"
#include "top/top_format.h"
#include "top/top_model.h"

/* What `fn` writes to a FILE, as a malloc'd string. */
static char *captured(void (*fn)(FILE *, const void *), const void *arg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	assert_non_null(out);
	fn(out, arg);
	assert_int_equal(fclose(out), 0);
	return text;
}

static int count_lines(const char *text, const char *needle)
{
	int found = 0;

	for (const char *at = text; (at = strstr(at, needle)); at++)
		found++;
	return found;
}

static void test_names(void **state)
{
	static const char *const want[FEATURE_COUNT] = { "steal", "attribution",
							 "block_io", "kvm",
							 "kvm_io_notes",
							 "hidden_steal" };

	for (int i = 0; i < FEATURE_COUNT; i++) {
		assert_string_equal(feature_name(i), want[i]);
		assert_non_null(feature_programs(i));
	}
	assert_null(feature_name(FEATURE_COUNT));
	assert_null(feature_name(-1));
}

static void test_list_has(void **state)
{
	assert_true(features_list_has("attribution,block_io", "block_io"));
	assert_true(features_list_has("attribution,block_io", "attribution"));
	/* Whole items only: kvm is not kvm_io_notes, nor the reverse. */
	assert_false(features_list_has("kvm_io_notes", "kvm"));
	assert_false(features_list_has("kvm", "kvm_io_notes"));
	assert_true(features_list_has("kvm_io_notes,kvm", "kvm"));
	assert_false(features_list_has("block", "block_io"));
	assert_false(features_list_has("block_io_x", "block_io"));
	assert_true(features_list_has(",kvm,", "kvm"));
	assert_false(features_list_has("", "kvm"));
	assert_false(features_list_has(NULL, "kvm"));
	assert_false(features_list_has(",,", "kvm"));
}

static void test_forced_reads_the_environment(void **state)
{
	unsetenv(FEATURES_TEST_ENV);
	assert_false(features_test_forced("kvm"));
	setenv(FEATURES_TEST_ENV, "block_io,kvm", 1);
	assert_true(features_test_forced("kvm"));
	assert_true(features_test_forced("block_io"));
	assert_false(features_test_forced("kvm_io_notes"));
	unsetenv(FEATURES_TEST_ENV);
}

static void test_set_and_format_off(void **state)
{
	struct features features;
	char off[128];

	features_init(&features);
	for (int i = 0; i < FEATURE_COUNT; i++)
		assert_true(features_available(&features, i));
	assert_int_equal(features_format_off(&features, off, sizeof(off)), 0);
	assert_string_equal(off, "");

	features_set(&features, FEATURE_KVM, false, "no kvm_exit");
	features_set(&features, FEATURE_BLOCK_IO, false, NULL);
	assert_false(features_available(&features, FEATURE_KVM));
	assert_string_equal(features.state[FEATURE_KVM].reason, "no kvm_exit");
	/* An unavailable feature always says something. */
	assert_string_equal(features.state[FEATURE_BLOCK_IO].reason, "unknown");
	features_format_off(&features, off, sizeof(off));
	assert_string_equal(off, "block_io, kvm");
	/* Cut, never overrun. */
	assert_int_equal(features_format_off(&features, off, 6), 5);
	assert_string_equal(off, "block");

	features_set(&features, FEATURE_KVM, true, "stale");
	assert_true(features_available(&features, FEATURE_KVM));
	assert_string_equal(features.state[FEATURE_KVM].reason, "");
	assert_false(features_available(&features, FEATURE_COUNT));
}

/* What session_log_features writes to stderr (fd 2: the log module
 * writes the descriptor, not the FILE), as a malloc'd string. */
static char *captured_log(const struct features *features)
{
	FILE *file = tmpfile();
	int saved = dup(STDERR_FILENO);
	char *text;
	long len;

	assert_non_null(file);
	assert_true(saved >= 0);
	fflush(stderr);
	assert_true(dup2(fileno(file), STDERR_FILENO) >= 0);
	session_log_features(features);
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	len = ftell(file);
	assert_true(len >= 0);
	text = calloc(1, (size_t)len + 1);
	assert_non_null(text);
	rewind(file);
	assert_int_equal(fread(text, 1, (size_t)len, file), (size_t)len);
	fclose(file);
	return text;
}

static void test_log_one_line_per_unavailable(void **state)
{
	struct features features;
	char *text;

	features_init(&features);
	features_set(&features, FEATURE_ATTRIBUTION, false,
		     "cannot load handle_sched_switch: BPF program is too "
		     "large");
	features_set(&features, FEATURE_KVM_IO_NOTES, false, "no kvm_pio");
	setenv(FEATURES_TEST_ENV, "kvm,steal,bogus", 1);
	text = captured_log(&features);
	unsetenv(FEATURES_TEST_ENV);
	assert_int_equal(count_lines(text, "\n"), 4);
	assert_non_null(strstr(
		text,
		"<4>kvmwarden: feature attribution unavailable (sched.bpf.c: "
		"handle_sched_switch, handle_sched_wakeup, "
		"handle_sched_migrate): cannot load handle_sched_switch: "
		"BPF program is too large\n"));
	assert_non_null(strstr(text, "feature kvm_io_notes unavailable ("));
	/* A name the switch cannot act on is said, so a typo shows. */
	assert_non_null(strstr(text, "ignoring 'steal'"));
	assert_non_null(strstr(text, "ignoring 'bogus'"));
	assert_null(strstr(text, "ignoring 'kvm'"));
	free(text);
}

static void test_kvm_status(void **state)
{
	struct kvm_attach_status status;
	struct features features;

	/* Everything attached. */
	memset(&status, 0, sizeof(status));
	for (int part = 0; part < KVM_PART_COUNT; part++)
		status.attached[part] = true;
	snprintf(status.notes, sizeof(status.notes), "kvm_pio, kvm_mmio");
	features_init(&features);
	feature_check_kvm_status(&features, &status);
	assert_true(features_available(&features, FEATURE_KVM));
	assert_true(features_available(&features, FEATURE_KVM_IO_NOTES));

	/* One part is enough for the feature; kvm.parts tells the rest. */
	status.attached[KVM_PART_EXITS] = false;
	snprintf(status.why[KVM_PART_EXITS], sizeof(status.why[0]),
		 "tracefs is not mounted");
	feature_check_kvm_status(&features, &status);
	assert_true(features_available(&features, FEATURE_KVM));

	/* Nothing attached, the same reason thrice: said once. */
	memset(&status, 0, sizeof(status));
	for (int part = 0; part < KVM_PART_COUNT; part++)
		snprintf(status.why[part], sizeof(status.why[0]),
			 "cannot load note_kvm_pio: boom");
	snprintf(status.notes_why, sizeof(status.notes_why),
		 "cannot load note_kvm_pio: boom");
	feature_check_kvm_status(&features, &status);
	assert_false(features_available(&features, FEATURE_KVM));
	assert_string_equal(features.state[FEATURE_KVM].reason,
			    "cannot load note_kvm_pio: boom");
	/* Without the notes, the reason says what is lost. */
	assert_false(features_available(&features, FEATURE_KVM_IO_NOTES));
	assert_string_equal(features.state[FEATURE_KVM_IO_NOTES].reason,
			    "cannot load note_kvm_pio: boom (exit-heavy vCPUs "
			    "are found later, by the iterator)");

	/* Different reasons are each kept. */
	snprintf(status.why[KVM_PART_EXITS], sizeof(status.why[0]),
		 "tracefs is not mounted");
	feature_check_kvm_status(&features, &status);
	assert_string_equal(features.state[FEATURE_KVM].reason,
			    "tracefs is not mounted; cannot load note_kvm_pio: "
			    "boom");

	feature_check_kvm_status(&features, NULL);
	assert_false(features_available(&features, FEATURE_KVM));
	assert_false(features_available(&features, FEATURE_KVM_IO_NOTES));
}

static void test_budget_needs(void **state)
{
	struct budget budget;

	memset(&budget, 0, sizeof(budget));
	/* Raising its own weight needs no culprit. */
	budget.max_steal_percent = 5;
	budget.cpu_weight = 1000;
	assert_int_equal(feature_check_budget_needs(&budget), 0);
	budget.throttle_lower_class_guests = true;
	assert_int_equal(feature_check_budget_needs(&budget),
			 1u << FEATURE_ATTRIBUTION);
	budget.throttle_lower_class_guests = false;
	budget.throttle_root_count = 1;
	assert_int_equal(feature_check_budget_needs(&budget),
			 1u << FEATURE_ATTRIBUTION);
	budget.max_steal_percent = 0;
	budget.max_wait_p99_ms = 20;
	assert_int_equal(feature_check_budget_needs(&budget),
			 1u << FEATURE_ATTRIBUTION);
	/* An I/O budget's culprits come from the block programs. */
	budget.max_wait_p99_ms = 0;
	budget.max_io_queue_p99_us = 5000;
	assert_int_equal(feature_check_budget_needs(&budget),
			 1u << FEATURE_BLOCK_IO);
	budget.max_steal_percent = 5;
	assert_int_equal(feature_check_budget_needs(&budget),
			 (1u << FEATURE_ATTRIBUTION) |
				 (1u << FEATURE_BLOCK_IO));
}

static void test_check_budgets(void **state)
{
	static struct enforce_config enforce;
	struct features features;
	char lines[1024];

	memset(&enforce, 0, sizeof(enforce));
	enforce.budget_count = 3;
	snprintf(enforce.budgets[0].match, ENFORCE_PATH_LEN, "db-*");
	enforce.budgets[0].line = 9;
	enforce.budgets[0].max_steal_percent = 5;
	enforce.budgets[0].throttle_lower_class_guests = true;
	snprintf(enforce.budgets[1].match, ENFORCE_PATH_LEN, "web-*");
	enforce.budgets[1].line = 14;
	enforce.budgets[1].max_io_queue_p99_us = 5000;
	enforce.budgets[1].max_steal_percent = 5;
	enforce.budgets[1].throttle_root_count = 1;
	snprintf(enforce.budgets[2].match, ENFORCE_PATH_LEN, "calm-*");
	enforce.budgets[2].max_steal_percent = 5;

	features_init(&features);
	assert_int_equal(feature_check_budgets(&enforce, &features, lines,
					       sizeof(lines)),
			 0);
	assert_string_equal(lines, "");

	features_set(&features, FEATURE_ATTRIBUTION, false, "too large");
	assert_int_equal(feature_check_budgets(&enforce, &features, lines,
					       sizeof(lines)),
			 2);
	assert_string_equal(lines,
			    "budget 'db-*' (line 9) throttles culprits "
			    "(throttle:), which needs attribution, unavailable "
			    "here: too large\n"
			    "budget 'web-*' (line 14) throttles culprits "
			    "(throttle:), which needs attribution, unavailable "
			    "here: too large\n");

	/* A budget missing two features is one refusal with two lines. */
	features_set(&features, FEATURE_BLOCK_IO, false, "no tracepoint");
	assert_int_equal(feature_check_budgets(&enforce, &features, lines,
					       sizeof(lines)),
			 2);
	assert_int_equal(count_lines(lines, "\n"), 3);
	assert_non_null(strstr(lines, "budget 'web-*' (line 14) budgets I/O "
				      "(max_io_queue_p99_ms), which needs "
				      "block_io, unavailable here: no "
				      "tracepoint\n"));
	/* A short buffer is cut, the count stays right. */
	assert_int_equal(feature_check_budgets(&enforce, &features, lines, 16),
			 2);
	assert_int_equal(strlen(lines), 15);
}

static void test_json(void **state)
{
	struct features features;
	struct json_object *obj, *entry, *value;

	features_init(&features);
	features_set(&features, FEATURE_ATTRIBUTION, false,
		     "cannot load handle_sched_switch: too large");
	obj = features_out_json(&features);
	assert_non_null(obj);
	assert_int_equal(json_object_object_length(obj), FEATURE_COUNT);
	for (int i = 0; i < FEATURE_COUNT; i++) {
		assert_true(json_object_object_get_ex(obj, feature_name(i),
						      &entry));
		assert_true(
			json_object_object_get_ex(entry, "available", &value));
		assert_int_equal(json_object_get_boolean(value),
				 i != FEATURE_ATTRIBUTION);
		/* A reason only where something is missing. */
		assert_int_equal(json_object_object_get_ex(entry, "reason",
							   &value),
				 i == FEATURE_ATTRIBUTION);
	}
	json_object_object_get_ex(obj, "attribution", &entry);
	json_object_object_get_ex(entry, "reason", &value);
	assert_string_equal(json_object_get_string(value),
			    "cannot load handle_sched_switch: too large");
	json_object_put(obj);
}

static void prom_fn(FILE *out, const void *features)
{
	features_out_prom(out, features);
}

static void test_prometheus(void **state)
{
	struct features features;
	char *text;

	features_init(&features);
	features_set(&features, FEATURE_BLOCK_IO, false, "forced");
	features_set(&features, FEATURE_KVM, false, "forced");
	text = captured(prom_fn, &features);
	assert_non_null(strstr(text, "# HELP kvmwarden_feature_available "));
	assert_non_null(
		strstr(text, "# TYPE kvmwarden_feature_available gauge\n"));
	assert_non_null(strstr(
		text, "kvmwarden_feature_available{feature=\"steal\"} 1\n"));
	assert_non_null(strstr(
		text, "kvmwarden_feature_available{feature=\"block_io\"} 0\n"));
	assert_non_null(strstr(
		text, "kvmwarden_feature_available{feature=\"kvm\"} 0\n"));
	assert_non_null(strstr(
		text,
		"kvmwarden_feature_available{feature=\"kvm_io_notes\"} 1\n"));
	/* Reasons are free text: never a label. */
	assert_null(strstr(text, "forced"));
	assert_int_equal(count_lines(text, "\nkvmwarden_feature_available{"),
			 FEATURE_COUNT);
	free(text);
}

/* The dump document gains "features" only when given one: the other
 * fields stay as they are. */
static struct json_object *dump_doc(const struct features *features)
{
	struct report report;
	struct json_object *doc;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	memset(&report, 0, sizeof(report));
	report.duration_ns = 1000;
	report.features = features;
	assert_non_null(out);
	assert_int_equal(json_write_report(out, &report), 0);
	fclose(out);
	doc = json_tokener_parse(text);
	free(text);
	assert_non_null(doc);
	return doc;
}

static void test_dump_document(void **state)
{
	struct features features;
	struct json_object *doc, *obj, *entry, *value;

	doc = dump_doc(NULL);
	assert_false(json_object_object_get_ex(doc, "features", &obj));
	assert_true(json_object_object_get_ex(doc, "duration_ns", &obj));
	json_object_put(doc);

	features_init(&features);
	features_set(&features, FEATURE_KVM, false, "no KVM");
	doc = dump_doc(&features);
	assert_true(json_object_object_get_ex(doc, "features", &obj));
	assert_true(json_object_object_get_ex(obj, "kvm", &entry));
	assert_true(json_object_object_get_ex(entry, "reason", &value));
	assert_string_equal(json_object_get_string(value), "no KVM");
	assert_true(json_object_object_get_ex(doc, "errors", &obj));
	json_object_put(doc);
}

static void test_top_line(void **state)
{
	struct top_model model;
	struct json_object *doc;
	char line[512];

	top_model_init(&model);
	/* An agent that does not report features: no line at all. */
	doc = json_tokener_parse("{\"duration_ns\":1000000000,\"guests\":[]}");
	assert_int_equal(top_model_ingest(&model, doc, 1), 0);
	json_object_put(doc);
	assert_int_equal(top_format_features(line, sizeof(line), &model, 80),
			 0);

	doc = json_tokener_parse(
		"{\"duration_ns\":1000000000,\"guests\":[],\"features\":{"
		"\"steal\":{\"available\":true},"
		"\"attribution\":{\"available\":false,\"reason\":\"x\"},"
		"\"block_io\":{\"available\":false,\"reason\":\"x\"},"
		"\"kvm\":{\"available\":false,\"reason\":\"x\"},"
		"\"kvm_io_notes\":{\"available\":false,\"reason\":\"x\"}}}");
	assert_int_equal(top_model_ingest(&model, doc, 2), 0);
	json_object_put(doc);
	top_format_features(line, sizeof(line), &model, 80);
	assert_string_equal(line, "features off: attribution, block_io, kvm, "
				  "kvm_io_notes  (see status)");
	/* Every feature off still fits the narrowest layout. */
	assert_true(strlen(line) <= TOP_MIN_WIDTH);
	assert_int_equal(top_format_features(line, sizeof(line), &model, 20),
			 20);

	doc = json_tokener_parse(
		"{\"duration_ns\":1000000000,\"guests\":[],\"features\":{"
		"\"steal\":{\"available\":true},"
		"\"kvm\":{\"available\":true}}}");
	assert_int_equal(top_model_ingest(&model, doc, 3), 0);
	json_object_put(doc);
	top_format_features(line, sizeof(line), &model, 80);
	assert_string_equal(line, "features: all available");
	top_model_free(&model);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_list_has),
		cmocka_unit_test(test_forced_reads_the_environment),
		cmocka_unit_test(test_set_and_format_off),
		cmocka_unit_test(test_log_one_line_per_unavailable),
		cmocka_unit_test(test_kvm_status),
		cmocka_unit_test(test_budget_needs),
		cmocka_unit_test(test_check_budgets),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_prometheus),
		cmocka_unit_test(test_dump_document),
		cmocka_unit_test(test_top_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
