// SPDX-License-Identifier: GPL-2.0-only
/*
 * Block I/O in the Prometheus text format: per guest and per host cgroup,
 * per device, cumulative since the agent loaded its block programs. Metric
 * and label names are a public contract (README.md): add, never rename.
 */
#include <inttypes.h>

#include "prom_write.h"
#include "prometheus.h"

/* The labels of an owner's device: guest="..",pid=".." for a guest,
 * cgroup=".." for a host cgroup, then device (its name, else MAJ:MIN)
 * and dev (MAJ:MIN). */
static void open_sample(FILE *out, const char *name,
			const struct io_owner *owner,
			const struct io_device *device)
{
	fprintf(out, "%s{", name);
	if (owner->pid > 0) {
		fputs("guest=\"", out);
		prom_write_label_value(out, owner->name);
		fprintf(out, "\",pid=\"%d\"", owner->pid);
	} else {
		fputs("cgroup=\"", out);
		prom_write_label_value(out, owner->cgroup);
		fputc('"', out);
	}
	fputs(",device=\"", out);
	prom_write_label_value(out,
			       device->name[0] ? device->name : device->device);
	fprintf(out, "\",dev=\"%s\"", device->device);
}

enum io_figure { OPS, BYTES, QUEUE, DEVICE, IN_FLIGHT };

static void write_owners(FILE *out, const struct io_owner *owners, size_t count,
			 const char *name, enum io_figure figure)
{
	for (size_t o = 0; o < count; o++) {
		for (size_t d = 0; d < owners[o].device_count; d++) {
			const struct io_device *device = &owners[o].devices[d];
			const struct io_figures *f = &device->delta;

			if (figure == OPS || figure == BYTES) {
				for (int op = 0; op < BLOCK_OP_COUNT; op++) {
					open_sample(out, name, &owners[o],
						    device);
					fprintf(out,
						",op=\"%s\"} %" PRIu64 "\n",
						io_op_name(op),
						figure == OPS ? f->ops[op] :
								f->bytes[op]);
				}
				continue;
			}
			open_sample(out, name, &owners[o], device);
			fputs("} ", out);
			if (figure == IN_FLIGHT)
				fprintf(out, "%" PRIu64, device->in_flight);
			else
				prom_write_seconds(out, figure == QUEUE ?
								f->queue_ns :
								f->device_ns);
			fputc('\n', out);
		}
	}
}

static void write_blocked(FILE *out, const struct io_report *io)
{
	static const char *const name =
		"kvmwarden_io_blocked_behind_seconds_total";

	prom_write_family(
		out, name, "counter",
		"Queue wait of the guest's requests while other owners' "
		"requests were issued ahead of them, by culprit.");
	for (size_t g = 0; g < io->guest_count; g++) {
		const struct io_owner *owner = &io->guests[g];

		for (size_t d = 0; d < owner->device_count; d++) {
			const struct io_device *device = &owner->devices[d];

			for (size_t c = 0; c < device->blocked_count; c++) {
				const struct io_culprit *culprit =
					&device->blocked_behind[c];

				open_sample(out, name, owner, device);
				fprintf(out, ",culprit_kind=\"%s\",culprit=\"",
					culprit->kind == IO_CULPRIT_GUEST ?
						"guest" :
						"cgroup");
				prom_write_label_value(out, culprit->name);
				fputs("\"} ", out);
				prom_write_seconds(out, culprit->blocked_ns);
				fputc('\n', out);
			}
		}
	}
}

void prometheus_io_write(FILE *out, const struct io_report *io)
{
	static const struct {
		const char *suffix;
		const char *type;
		enum io_figure figure;
		const char *help;
	} families[] = {
		{ "ops_total", "counter", OPS, "Completed block requests." },
		{ "bytes_total", "counter", BYTES, "Completed bytes." },
		{ "queue_seconds_total", "counter", QUEUE,
		  "Time requests waited in the host's queue before the "
		  "device got them." },
		{ "device_seconds_total", "counter", DEVICE,
		  "Time requests spent in the device (issue to completion)." },
		{ "in_flight", "gauge", IN_FLIGHT,
		  "Requests issued to the device and not yet completed." },
	};
	char name[96];

	prom_write_family(
		out, "kvmwarden_io_available", "gauge",
		"1 when the block-layer programs are loaded, else 0.");
	fprintf(out, "kvmwarden_io_available %d\n", io->available ? 1 : 0);
	if (!io->available)
		return;
	/* Each figure for the guests, then for the host's cgroups. */
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		for (int host = 0; host < 2; host++) {
			snprintf(name, sizeof(name), "kvmwarden_%sio_%s",
				 host ? "host_" : "", families[i].suffix);
			prom_write_family(out, name, families[i].type,
					  families[i].help);
			write_owners(out, host ? io->hosts : io->guests,
				     host ? io->host_count : io->guest_count,
				     name, families[i].figure);
		}
	}
	write_blocked(out, io);
	prom_write_family(
		out, "kvmwarden_io_bpf_errors_total", "counter",
		"What the block-layer BPF side could not follow, by case.");
	for (int i = 0; i < BLOCK_ERR_COUNT; i++)
		fprintf(out,
			"kvmwarden_io_bpf_errors_total{error=\"%s\"} %" PRIu64
			"\n",
			io_error_name(i), io->errors[i]);
}
