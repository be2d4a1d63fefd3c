// SPDX-License-Identifier: GPL-2.0-only
/*
 * Block I/O in the `dump` outputs. Field names are a public contract
 * (README.md): add fields, never rename them. Percentiles come from the
 * window's log2 histograms, capped by the largest value seen since load.
 */
#include "model/hist.h"
#include "json_io.h"

static void put_u64(struct json_object *obj, const char *key, uint64_t value)
{
	json_object_object_add(obj, key, json_object_new_uint64(value));
}

static void put_string(struct json_object *obj, const char *key,
		       const char *value)
{
	json_object_object_add(obj, key, json_object_new_string(value));
}

static void put_latency(struct json_object *obj, const char *prefix,
			const uint64_t *hist, uint64_t total_ns,
			uint64_t max_ns)
{
	static const struct {
		const char *suffix;
		double q;
	} quantiles[] = { { "_p50_ns", 0.50 },
			  { "_p90_ns", 0.90 },
			  { "_p99_ns", 0.99 } };
	char key[64];

	snprintf(key, sizeof(key), "%s_ns", prefix);
	put_u64(obj, key, total_ns);
	for (size_t i = 0; i < sizeof(quantiles) / sizeof(quantiles[0]); i++) {
		snprintf(key, sizeof(key), "%s%s", prefix, quantiles[i].suffix);
		put_u64(obj, key,
			hist_quantile_ns(hist, quantiles[i].q, max_ns));
	}
	snprintf(key, sizeof(key), "%s_max_ns", prefix);
	put_u64(obj, key, max_ns);
}

static struct json_object *device_json(const struct io_device *device)
{
	struct json_object *obj = json_object_new_object();
	struct json_object *culprits = json_object_new_array();
	const struct io_figures *f = &device->delta;
	uint64_t blocked_ns = 0;
	char key[32];

	put_string(obj, "device", device->device);
	put_string(obj, "name", device->name);
	for (int op = 0; op < BLOCK_OP_COUNT; op++) {
		snprintf(key, sizeof(key), "%s_ops", io_op_name(op));
		put_u64(obj, key, f->ops[op]);
	}
	for (int op = 0; op < BLOCK_OP_COUNT; op++) {
		snprintf(key, sizeof(key), "%s_bytes", io_op_name(op));
		put_u64(obj, key, f->bytes[op]);
	}
	put_latency(obj, "queue", f->queue_hist, f->queue_ns, f->queue_max_ns);
	put_latency(obj, "device", f->device_hist, f->device_ns,
		    f->device_max_ns);
	put_u64(obj, "issued", f->issued);
	put_u64(obj, "in_flight", device->in_flight);
	for (size_t i = 0; i < device->blocked_count; i++) {
		const struct io_culprit *culprit = &device->blocked_behind[i];
		struct json_object *entry = json_object_new_object();

		put_string(entry, "kind",
			   culprit->kind == IO_CULPRIT_GUEST ? "guest" :
							       "cgroup");
		put_string(entry, "name", culprit->name);
		put_u64(entry, "blocked_ns", culprit->blocked_ns);
		json_object_array_add(culprits, entry);
		blocked_ns += culprit->blocked_ns;
	}
	put_u64(obj, "blocked_behind_ns", blocked_ns);
	json_object_object_add(obj, "blocked_behind", culprits);
	return obj;
}

struct json_object *json_io_devices(const struct io_owner *owner)
{
	struct json_object *list = json_object_new_array();

	for (size_t i = 0; owner && i < owner->device_count; i++)
		json_object_array_add(list, device_json(&owner->devices[i]));
	return list;
}

void json_io_add(struct json_object *doc, struct json_object *guests,
		 const struct report *report)
{
	const struct io_report *io = report->io;
	struct json_object *hosts = json_object_new_array();
	struct json_object *errors = json_object_new_object();

	json_object_object_add(doc, "io_available",
			       json_object_new_boolean(io->available));
	if (!io->available)
		put_string(doc, "io_unavailable_reason", io->why);
	for (size_t i = 0; i < report->guest_count; i++) {
		struct json_object *guest =
			json_object_array_get_idx(guests, i);

		if (guest)
			json_object_object_add(
				guest, "io",
				json_io_devices(io_report_guest(
					io, report->guests[i].pid)));
	}
	for (size_t i = 0; i < io->host_count; i++) {
		struct json_object *host = json_object_new_object();

		put_string(host, "cgroup", io->hosts[i].cgroup);
		json_object_object_add(host, "io",
				       json_io_devices(&io->hosts[i]));
		json_object_array_add(hosts, host);
	}
	json_object_object_add(doc, "host_io", hosts);
	for (int i = 0; i < BLOCK_ERR_COUNT; i++)
		put_u64(errors, io_error_name(i), io->errors[i]);
	json_object_object_add(doc, "io_errors", errors);
}

static void device_line(FILE *out, const char *owner,
			const struct io_device *device)
{
	const struct io_figures *f = &device->delta;
	uint64_t ops = f->ops[0] + f->ops[1] + f->ops[2];

	fprintf(out,
		"  io %-24.24s %-8s %-8.8s %8llu ops %10.1f KiB  queue p99 "
		"%8.3f ms  device p99 %8.3f ms\n",
		owner, device->device, device->name, (unsigned long long)ops,
		(double)(f->bytes[0] + f->bytes[1] + f->bytes[2]) / 1024.0,
		(double)hist_quantile_ns(f->queue_hist, 0.99, f->queue_max_ns) /
			1e6,
		(double)hist_quantile_ns(f->device_hist, 0.99,
					 f->device_max_ns) /
			1e6);
	for (size_t i = 0; i < device->blocked_count && i < 3; i++)
		fprintf(out, "     behind %-40.40s %10.1f ms\n",
			device->blocked_behind[i].name,
			(double)device->blocked_behind[i].blocked_ns / 1e6);
}

void json_io_write_table(FILE *out, const struct report *report)
{
	const struct io_report *io = report->io;

	if (!io->available) {
		fprintf(out, "io: unavailable (%s)\n", io->why);
		return;
	}
	for (size_t g = 0; g < io->guest_count; g++)
		for (size_t d = 0; d < io->guests[g].device_count; d++)
			device_line(out, io->guests[g].name,
				    &io->guests[g].devices[d]);
	for (size_t h = 0; h < io->host_count; h++)
		for (size_t d = 0; d < io->hosts[h].device_count; d++)
			device_line(out, io->hosts[h].cgroup,
				    &io->hosts[h].devices[d]);
}
