// SPDX-License-Identifier: GPL-2.0-only
/* The audit trail: one JSON line per event with what was (or would have
 * been) done, the counter by action and mode, and its Prometheus text. */
#include <errno.h>
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

#include "actuate/audit.h"

static const char *field(struct json_object *obj, const char *key)
{
	struct json_object *value;

	if (!json_object_object_get_ex(obj, key, &value))
		return NULL;
	return json_object_get_string(value);
}

static void events_are_lines_and_counts(void **state)
{
	char path[] = "/tmp/kvmwarden-audit-XXXXXX", line[2048];
	uint64_t caps_before =
		audit_count(AUDIT_CAP_QUOTA, CONFIG_MODE_MONITOR);
	struct json_object *obj;
	struct audit audit;
	FILE *in;
	int fd;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	audit_open(&audit, path);
	audit_event(&audit, CONFIG_MODE_MONITOR, AUDIT_CAP_QUOTA, "db-1",
		    "/batch/hog", "cpu_quota", "50%", "25%",
		    "over budget: steal 40.0% \"quoted\"");
	audit_event(&audit, CONFIG_MODE_ENFORCE, AUDIT_OUTSIDE_CHANGE, "",
		    "/batch/hog", "cpu_quota", "25000", "77000", "theirs");
	audit_event_entry(&audit, CONFIG_MODE_ENFORCE, AUDIT_RESTORE, "",
			  "/kvmw.slice/h.service", "cpu_quota",
			  "systemd:h.service/CPUQuotaPerSecUSec", "50000",
			  "infinity", "no longer needed");
	audit_close(&audit);

	assert_int_equal(audit_count(AUDIT_CAP_QUOTA, CONFIG_MODE_MONITOR),
			 caps_before + 1);
	assert_int_equal(audit_count(AUDIT_OUTSIDE_CHANGE, CONFIG_MODE_ENFORCE),
			 1);
	in = fopen(path, "r");
	assert_non_null(in);
	assert_non_null(fgets(line, sizeof(line), in));
	obj = json_tokener_parse(line);
	assert_non_null(obj);
	assert_string_equal(field(obj, "mode"), "monitor");
	assert_string_equal(field(obj, "action"), "cap_quota");
	/* Monitor mode: decided, not done. */
	assert_string_equal(field(obj, "applied"), "false");
	assert_string_equal(field(obj, "victim"), "db-1");
	assert_string_equal(field(obj, "to"), "25%");
	assert_string_equal(field(obj, "reason"),
			    "over budget: steal 40.0% \"quoted\"");
	json_object_put(obj);
	assert_non_null(fgets(line, sizeof(line), in));
	obj = json_tokener_parse(line);
	assert_string_equal(field(obj, "action"), "outside_change");
	assert_string_equal(field(obj, "applied"), "true");
	/* A cgroup file's event names no entry: the target says it. */
	assert_null(field(obj, "entry"));
	json_object_put(obj);
	assert_non_null(fgets(line, sizeof(line), in));
	obj = json_tokener_parse(line);
	assert_string_equal(field(obj, "action"), "restore");
	assert_string_equal(field(obj, "entry"),
			    "systemd:h.service/CPUQuotaPerSecUSec");
	assert_string_equal(field(obj, "to"), "infinity");
	json_object_put(obj);
	assert_null(fgets(line, sizeof(line), in));
	fclose(in);
	unlink(path);
}

static void counter_family_is_rendered(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	audit_write_metrics(out);
	fclose(out);
	assert_non_null(strstr(text, "# TYPE kvmwarden_actions_total "
				     "counter\n"));
	assert_non_null(strstr(text, "kvmwarden_actions_total{action="
				     "\"outside_change\",mode=\"enforce\"} "
				     "1\n"));
	assert_non_null(strstr(text, "kvmwarden_actions_total{action="
				     "\"lift_quota\",mode=\"monitor\"} 0\n"));
	assert_non_null(strstr(text, "kvmwarden_enforcement_in_force 0\n"));
	free(text);
	audit_set_in_force(3);
	out = open_memstream(&text, &len);
	audit_write_metrics(out);
	fclose(out);
	assert_non_null(strstr(text, "# TYPE kvmwarden_enforcement_in_force "
				     "gauge\n"
				     "kvmwarden_enforcement_in_force 3\n"));
	free(text);
}

static void no_file_is_fine(void **state)
{
	struct audit audit;

	uint64_t restores = audit_count(AUDIT_RESTORE, CONFIG_MODE_ENFORCE);

	audit_open(&audit, "");
	audit_event(&audit, CONFIG_MODE_ENFORCE, AUDIT_RESTORE, "", "/x",
		    "cpu_weight", "10240", "1024", "no longer needed");
	assert_null(audit.file);
	audit_close(&audit);
	/* A file that cannot be made: one warning, the count still goes. */
	audit_open(&audit, "/proc/no/such/dir/audit");
	assert_null(audit.file);
	for (int i = 0; i < 2; i++)
		audit_event(&audit, CONFIG_MODE_ENFORCE, AUDIT_RESTORE, "",
			    "/x", "cpu_weight", "10240", "1024", "again");
	assert_null(audit.file);
	assert_true(audit.tried);
	audit_close(&audit);
	assert_int_equal(audit_count(AUDIT_RESTORE, CONFIG_MODE_ENFORCE),
			 restores + 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(events_are_lines_and_counts),
		cmocka_unit_test(counter_family_is_rendered),
		cmocka_unit_test(no_file_is_fine),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
