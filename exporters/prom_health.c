// SPDX-License-Identifier: GPL-2.0-only
/*
 * The agent's own families on /metrics: its build, its BPF programs' run
 * time and errors, discovery's counters, its slots and timings, and the
 * process_* figures any Prometheus client exports. The guests' families
 * are prometheus.c's.
 */
#include <inttypes.h>

#include "process_metrics.h"
#include "prom_health.h"
#include "prom_write.h"

/* Opens a program's sample of `family`, up to its value. */
static void open_program_sample(FILE *out, const char *family,
				const char *program)
{
	fprintf(out, "%s{program=\"", family);
	prom_write_label_value(out, program);
	fputs("\"} ", out);
}

static void write_programs(FILE *out, const struct prom_health *health)
{
	static const char run_seconds[] =
		"kvmwarden_bpf_program_run_seconds_total";
	static const char runs[] = "kvmwarden_bpf_program_runs_total";

	prom_write_family(out, run_seconds, "counter",
			  "Time the kernel spent in the agent's BPF program (0 "
			  "unless kernel.bpf_stats_enabled is 1).");
	for (size_t i = 0; i < health->program_count; i++) {
		open_program_sample(out, run_seconds, health->programs[i].name);
		prom_write_seconds(out, health->programs[i].run_time_ns);
		fputc('\n', out);
	}
	prom_write_family(out, runs, "counter",
			  "Runs of the agent's BPF program (0 unless "
			  "kernel.bpf_stats_enabled is 1).");
	for (size_t i = 0; i < health->program_count; i++) {
		open_program_sample(out, runs, health->programs[i].name);
		fprintf(out, "%" PRIu64 "\n", health->programs[i].run_count);
	}
}

static void write_agent(FILE *out, const struct prom_health *health)
{
	prom_write_family(out, "kvmwarden_build_info", "gauge",
			  "The running kvmwarden's version, as a label.");
	fputs("kvmwarden_build_info{version=\"", out);
	prom_write_label_value(out, health->version ? health->version : "");
	fputs("\"} 1\n", out);
	write_programs(out, health);
	prom_write_family(out, "kvmwarden_bpf_errors_total", "counter",
			  "What the BPF side could not do, by error.");
	for (int i = 0; i < SCHED_ERR_COUNT; i++)
		if (i != SCHED_ERR_ATTR_LOST_NS)
			fprintf(out,
				"kvmwarden_bpf_errors_total{error=\"%s\"} "
				"%" PRIu64 "\n",
				sched_error_name(i), health->errors[i]);
	prom_write_seconds_family(
		out, "kvmwarden_attribution_lost_seconds_total", "counter",
		"Steal left unattributed because the attribution map was "
		"full (culprits plus this add up to the steal).",
		health->errors[SCHED_ERR_ATTR_LOST_NS]);
	prom_write_u64_family(out, "kvmwarden_discovery_passes_total",
			      "counter", "Discovery passes run.",
			      health->tracker.passes);
	prom_write_u64_family(out, "kvmwarden_guests_discovered_total",
			      "counter",
			      "Guests found since the agent started.",
			      health->tracker.guests_found);
	prom_write_u64_family(
		out, "kvmwarden_guest_identity_clashes", "gauge",
		"Live guests whose name or UUID another live guest claims "
		"too; budgets and classes match none of them by it.",
		health->tracker.identity_clashes);
	prom_write_u64_family(
		out, "kvmwarden_untracked_threads_total", "counter",
		"Threads left unmeasured because every counter slot was "
		"taken.",
		health->tracker.no_slot);
	prom_write_u64_family(out,
			      "kvmwarden_thread_registration_failures_total",
			      "counter",
			      "Threads whose registration with BPF failed.",
			      health->tracker.register_failed);
	prom_write_u64_family(out, "kvmwarden_tracked_slots", "gauge",
			      "Counter slots held by tracked threads.",
			      health->slots_in_use);
	prom_write_u64_family(out, "kvmwarden_tracked_slots_max", "gauge",
			      "Counter slots the BPF side has.",
			      health->slots_max);
	prom_write_seconds_family(out, "kvmwarden_discovery_duration_seconds",
				  "gauge",
				  "How long the last discovery pass took.",
				  health->last_discovery_ns);
	prom_write_seconds_family(
		out, "kvmwarden_scrape_duration_seconds", "gauge",
		"How long the previous scrape of this endpoint took.",
		health->previous_scrape_ns);
	prom_write_seconds_family(out, "kvmwarden_loop_lag_seconds", "gauge",
				  "How late the measurement loop last woke up.",
				  health->loop_lag_ns);
}

static void write_process(FILE *out, const struct prom_health *health,
			  const char *proc_root)
{
	struct process_figures figures;

	process_read_figures(proc_root, &figures);
	if (health->start_time_unix_ns) {
		figures.start_time_unix_ns = health->start_time_unix_ns;
		figures.have_start_time = true;
	}
	if (figures.have_stat) {
		prom_write_seconds_family(
			out, "process_cpu_seconds_total", "counter",
			"Total user and system CPU time spent in seconds.",
			figures.cpu_ns);
		prom_write_u64_family(out, "process_resident_memory_bytes",
				      "gauge", "Resident memory size in bytes.",
				      figures.resident_bytes);
		prom_write_u64_family(out, "process_virtual_memory_bytes",
				      "gauge", "Virtual memory size in bytes.",
				      figures.virtual_bytes);
	}
	if (figures.have_open_fds)
		prom_write_u64_family(out, "process_open_fds", "gauge",
				      "Number of open file descriptors.",
				      figures.open_fds);
	if (figures.have_max_fds)
		prom_write_u64_family(
			out, "process_max_fds", "gauge",
			"Maximum number of open file descriptors.",
			figures.max_fds);
	if (figures.have_heap)
		prom_write_u64_family(
			out, "kvmwarden_heap_inuse_bytes", "gauge",
			"Bytes the agent's allocator holds in use (mallinfo2); "
			"a leak grows it, freed pages kept grow only the "
			"resident size.",
			figures.heap_inuse_bytes);
	if (figures.have_start_time)
		prom_write_seconds_family(
			out, "process_start_time_seconds", "gauge",
			"Start time of the process since unix epoch in "
			"seconds.",
			figures.start_time_unix_ns);
}

void prom_health_write(FILE *out, const struct prom_health *health,
		       const char *proc_root)
{
	write_agent(out, health);
	write_process(out, health, proc_root);
}
