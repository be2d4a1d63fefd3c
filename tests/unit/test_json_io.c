// SPDX-License-Identifier: GPL-2.0-only
/*
 * The I/O fields of `dump --json` and of /metrics, from a hand-built
 * report: names, units and that the existing document is left as it was.
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

#include "json_io.h"
#include "prometheus.h"
#include "report_out.h"

static struct io_culprit culprits[] = {
	{ .kind = IO_CULPRIT_CGROUP, .name = "/fio", .blocked_ns = 3000 },
	{ .kind = IO_CULPRIT_GUEST, .name = "db", .blocked_ns = 1000 },
};

static struct io_device guest_devices[1];
static struct io_device host_devices[1];
static struct io_owner guests[1];
static struct io_owner hosts[1];

static void make_io(struct io_report *io, struct report *report,
		    struct report_guest *guest)
{
	struct io_device *vda = &guest_devices[0];

	memset(io, 0, sizeof(*io));
	memset(vda, 0, sizeof(*vda));
	vda->dev = block_dev_make(254, 0);
	strcpy(vda->device, "254:0");
	strcpy(vda->name, "vda");
	vda->delta.ops[BLOCK_OP_WRITE] = 100;
	vda->delta.bytes[BLOCK_OP_WRITE] = 51200;
	vda->delta.ops[BLOCK_OP_READ] = 2;
	vda->delta.bytes[BLOCK_OP_READ] = 8192;
	vda->delta.queue_ns = 5000;
	vda->delta.device_ns = 9000000;
	vda->delta.queue_hist[12] = 102; /* 4.1 to 8.2 us */
	vda->delta.queue_max_ns = 8000;
	vda->delta.device_hist[16] = 102;
	vda->delta.device_max_ns = 100000;
	vda->delta.issued = 102;
	vda->in_flight = 1;
	vda->blocked_behind = culprits;
	vda->blocked_count = 2;
	host_devices[0] = *vda;
	host_devices[0].blocked_count = 0;
	memset(&guests[0], 0, sizeof(guests[0]));
	guests[0].pid = 4242;
	strcpy(guests[0].name, "web \"1\"");
	guests[0].devices = guest_devices;
	guests[0].device_count = 1;
	memset(&hosts[0], 0, sizeof(hosts[0]));
	strcpy(hosts[0].cgroup, "/system.slice/backup.service");
	hosts[0].devices = host_devices;
	hosts[0].device_count = 1;
	io->available = true;
	io->guests = guests;
	io->guest_count = 1;
	io->hosts = hosts;
	io->host_count = 1;
	io->errors[BLOCK_ERR_REQUEUED] = 7;

	memset(report, 0, sizeof(*report));
	memset(guest, 0, sizeof(*guest));
	strcpy(guest->name, "web \"1\"");
	guest->pid = 4242;
	report->guests = guest;
	report->guest_count = 1;
	report->duration_ns = 1000000000;
	report->io = io;
}

static char *capture_json(const struct report *report)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);

	assert_non_null(mem);
	assert_int_equal(json_write_report(mem, report), 0);
	fclose(mem);
	return text;
}

static int64_t get_int(struct json_object *obj, const char *key)
{
	struct json_object *value;

	assert_true(json_object_object_get_ex(obj, key, &value));
	return json_object_get_int64(value);
}

static void guest_io_fields(void **state)
{
	struct report_guest guest;
	struct report report;
	struct io_report io;
	struct json_object *doc, *entry, *list, *vda, *culprit, *value;
	char *text;

	make_io(&io, &report, &guest);
	text = capture_json(&report);
	doc = json_tokener_parse(text);
	assert_non_null(doc);
	assert_true(json_object_object_get_ex(doc, "io_available", &value));
	assert_true(json_object_get_boolean(value));
	/* The contract's fields are still there. */
	assert_true(json_object_object_get_ex(doc, "guests", &list));
	entry = json_object_array_get_idx(list, 0);
	assert_int_equal(get_int(entry, "pid"), 4242);
	assert_true(json_object_object_get_ex(entry, "vcpus", &value));
	assert_true(json_object_object_get_ex(entry, "io", &list));
	assert_int_equal(json_object_array_length(list), 1);
	vda = json_object_array_get_idx(list, 0);
	assert_true(json_object_object_get_ex(vda, "device", &value));
	assert_string_equal(json_object_get_string(value), "254:0");
	assert_true(json_object_object_get_ex(vda, "name", &value));
	assert_string_equal(json_object_get_string(value), "vda");
	assert_int_equal(get_int(vda, "write_ops"), 100);
	assert_int_equal(get_int(vda, "write_bytes"), 51200);
	assert_int_equal(get_int(vda, "read_ops"), 2);
	assert_int_equal(get_int(vda, "read_bytes"), 8192);
	assert_int_equal(get_int(vda, "other_ops"), 0);
	assert_int_equal(get_int(vda, "queue_ns"), 5000);
	assert_int_equal(get_int(vda, "device_ns"), 9000000);
	/* p50 inside bucket 12 ([4096, 8192)), capped by the maximum. */
	assert_in_range(get_int(vda, "queue_p50_ns"), 4096, 8000);
	assert_int_equal(get_int(vda, "queue_p99_ns"), 8000);
	assert_int_equal(get_int(vda, "queue_max_ns"), 8000);
	assert_in_range(get_int(vda, "device_p90_ns"), 65536, 100000);
	assert_int_equal(get_int(vda, "issued"), 102);
	assert_int_equal(get_int(vda, "in_flight"), 1);
	assert_int_equal(get_int(vda, "blocked_behind_ns"), 4000);
	assert_true(json_object_object_get_ex(vda, "blocked_behind", &list));
	assert_int_equal(json_object_array_length(list), 2);
	culprit = json_object_array_get_idx(list, 0);
	assert_true(json_object_object_get_ex(culprit, "kind", &value));
	assert_string_equal(json_object_get_string(value), "cgroup");
	assert_true(json_object_object_get_ex(culprit, "name", &value));
	assert_string_equal(json_object_get_string(value), "/fio");
	assert_int_equal(get_int(culprit, "blocked_ns"), 3000);
	/* The document's host list and error counts. */
	assert_true(json_object_object_get_ex(doc, "host_io", &list));
	entry = json_object_array_get_idx(list, 0);
	assert_true(json_object_object_get_ex(entry, "cgroup", &value));
	assert_string_equal(json_object_get_string(value),
			    "/system.slice/backup.service");
	assert_true(json_object_object_get_ex(entry, "io", &list));
	assert_int_equal(
		get_int(json_object_array_get_idx(list, 0), "write_ops"), 100);
	assert_true(json_object_object_get_ex(doc, "io_errors", &value));
	assert_int_equal(get_int(value, "requeued"), 7);
	json_object_put(doc);
	free(text);
}

static void unavailable_and_unmeasured(void **state)
{
	struct report_guest guest;
	struct report report;
	struct io_report io;
	struct json_object *doc, *value, *list;
	char *text;

	make_io(&io, &report, &guest);
	memset(&io, 0, sizeof(io));
	strcpy(io.why, "cannot load the block BPF programs: Permission denied");
	text = capture_json(&report);
	doc = json_tokener_parse(text);
	assert_true(json_object_object_get_ex(doc, "io_available", &value));
	assert_false(json_object_get_boolean(value));
	assert_true(json_object_object_get_ex(doc, "io_unavailable_reason",
					      &value));
	assert_non_null(strstr(json_object_get_string(value), "Permission"));
	assert_true(json_object_object_get_ex(doc, "guests", &list));
	assert_true(json_object_object_get_ex(
		json_object_array_get_idx(list, 0), "io", &value));
	assert_int_equal(json_object_array_length(value), 0);
	json_object_put(doc);
	free(text);
	/* Not measured at all (report.io NULL): no I/O keys whatever. */
	report.io = NULL;
	text = capture_json(&report);
	assert_null(strstr(text, "\"io"));
	assert_null(strstr(text, "host_io"));
	free(text);
}

static void prometheus_families(void **state)
{
	struct report_guest guest;
	struct report report;
	struct io_report io;
	char *text = NULL;
	size_t len = 0;
	FILE *mem;

	make_io(&io, &report, &guest);
	mem = open_memstream(&text, &len);
	prometheus_io_write(mem, &io);
	fclose(mem);
	assert_non_null(strstr(text, "kvmwarden_io_available 1\n"));
	assert_non_null(strstr(text, "# TYPE kvmwarden_io_ops_total counter"));
	/* Label values escaped; seconds written exactly. */
	assert_non_null(strstr(text,
			       "kvmwarden_io_ops_total{guest=\"web \\\"1\\\"\","
			       "pid=\"4242\",device=\"vda\",dev=\"254:0\","
			       "op=\"write\"} 100\n"));
	assert_non_null(strstr(
		text,
		"kvmwarden_io_queue_seconds_total{guest=\"web \\\"1\\\"\","
		"pid=\"4242\",device=\"vda\",dev=\"254:0\"} 0.000005\n"));
	assert_non_null(strstr(
		text, "kvmwarden_host_io_bytes_total{cgroup=\"/system.slice/"
		      "backup.service\",device=\"vda\",dev=\"254:0\","
		      "op=\"read\"} 8192\n"));
	assert_non_null(strstr(text, "culprit_kind=\"cgroup\",culprit=\"/fio\""
				     "} 0.000003\n"));
	assert_non_null(strstr(text, "kvmwarden_io_in_flight{"));
	assert_non_null(strstr(
		text, "kvmwarden_io_bpf_errors_total{error=\"requeued\"} "
		      "7\n"));
	free(text);
	/* Unavailable: the gauge says so and nothing else is written. */
	io.available = false;
	text = NULL;
	mem = open_memstream(&text, &len);
	prometheus_io_write(mem, &io);
	fclose(mem);
	assert_string_equal(text, "# HELP kvmwarden_io_available 1 when the "
				  "block-layer programs are loaded, else 0.\n"
				  "# TYPE kvmwarden_io_available gauge\n"
				  "kvmwarden_io_available 0\n");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(guest_io_fields),
		cmocka_unit_test(unavailable_and_unmeasured),
		cmocka_unit_test(prometheus_families),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
