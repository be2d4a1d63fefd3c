// SPDX-License-Identifier: GPL-2.0-only
/*
 * Prometheus text format 0.0.4 from the guest table's cumulative counters.
 * Metric and label names are a public contract (README.md): add, never
 * rename. Times are exported in seconds, written exactly from nanoseconds.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/units.h"
#include "features_out.h"
#include "prometheus.h"
#include "process_metrics.h"


/*
 * Wait histograms: BPF slot k holds waits in [2^k, 2^(k+1)) ns, so its upper
 * edge 2^(k+1) ns is the `le` of the bucket that ends with it (a wait of
 * exactly the edge lands one bucket later: a nanosecond, harmlessly). Edges
 * below 1.024 us are merged into the first bucket: a wait that short is
 * the cost of a context switch, not steal anyone can act on, and each edge
 * costs a series per guest. The last slot has no upper edge and only counts
 * in +Inf.
 */
#define FIRST_EDGE_SLOT 9
#define LAST_EDGE_SLOT (SCHED_WAIT_SLOTS - 2)

/* A guest's threads and retired threads, summed. */
struct guest_sums {
	struct thread_counters vcpus;
	struct thread_counters others[THREAD_OTHER + 1]; /* by kind */
	uint64_t running_vcpus;
	bool exported; /* false: a newer entry has the same labels */
};

static void write_family(FILE *out, const char *name, const char *type,
			 const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void prom_write_label_value(FILE *out, const char *value)
{
	for (const char *c = value; *c; c++) {
		if (*c == '\\')
			fputs("\\\\", out);
		else if (*c == '"')
			fputs("\\\"", out);
		else if (*c == '\n')
			fputs("\\n", out);
		else
			fputc(*c, out);
	}
}

void prom_write_seconds(FILE *out, uint64_t ns)
{
	uint64_t whole = ns / NS_PER_SEC, frac = ns % NS_PER_SEC;
	int digits = 9;

	if (!frac) {
		fprintf(out, "%" PRIu64, whole);
		return;
	}
	while (frac % 10 == 0) {
		frac /= 10;
		digits--;
	}
	fprintf(out, "%" PRIu64 ".%0*" PRIu64, whole, digits, frac);
}

static void write_guest_labels(FILE *out, const struct guest *guest)
{
	fputs("guest=\"", out);
	prom_write_label_value(out, guest->name);
	fprintf(out, "\",vmm=\"%s\",pid=\"%d\"", vmm_kind_name(guest->vmm),
		guest->pid);
}

/* Opens a sample of a guest's series, up to its last label; `extra` is a
 * ready label pair or NULL. */
static void open_guest_sample(FILE *out, const char *name, const char *suffix,
			      const struct guest *guest, const char *extra)
{
	fprintf(out, "%s%s{", name, suffix);
	write_guest_labels(out, guest);
	if (extra)
		fprintf(out, ",%s", extra);
}

static void write_guest_sample(FILE *out, const char *name,
			       const struct guest *guest, const char *extra)
{
	open_guest_sample(out, name, "", guest, extra);
	fputs("} ", out);
}

static void write_vcpu_label(char *buf, size_t size, int vcpu_index)
{
	snprintf(buf, size, "vcpu=\"%d\"", vcpu_index);
}

static void write_histogram(FILE *out, const char *name,
			    const struct guest *guest, const char *extra,
			    const struct thread_counters *counters)
{
	uint64_t cumulative = 0;

	for (unsigned int slot = 0; slot < SCHED_WAIT_SLOTS; slot++) {
		cumulative += counters->wait_hist[slot];
		if (slot < FIRST_EDGE_SLOT || slot > LAST_EDGE_SLOT)
			continue;
		open_guest_sample(out, name, "_bucket", guest, extra);
		fputs(",le=\"", out);
		prom_write_seconds(out, 1ULL << (slot + 1));
		fprintf(out, "\"} %" PRIu64 "\n", cumulative);
	}
	/* +Inf and _count come from the histogram itself, not from `waits`:
	 * the two are copied from BPF a switch apart, and a bucket above
	 * +Inf would make the histogram invalid. */
	open_guest_sample(out, name, "_bucket", guest, extra);
	fprintf(out, ",le=\"+Inf\"} %" PRIu64 "\n", cumulative);
	open_guest_sample(out, name, "_sum", guest, extra);
	fputs("} ", out);
	prom_write_seconds(out, counters->steal_ns);
	fputc('\n', out);
	open_guest_sample(out, name, "_count", guest, extra);
	fprintf(out, "} %" PRIu64 "\n", cumulative);
}

static void sum_guest(const struct guest *guest, struct guest_sums *sums)
{
	sums->vcpus = guest->retired[THREAD_VCPU];
	for (int kind = THREAD_EMULATOR; kind <= THREAD_OTHER; kind++)
		sums->others[kind] = guest->retired[kind];
	for (size_t i = 0; i < guest->thread_count; i++) {
		const struct thread *thread = &guest->threads[i];

		if (thread->kind == THREAD_VCPU) {
			thread_counters_add(&sums->vcpus, &thread->counters);
			if (!thread->exited)
				sums->running_vcpus++;
		} else {
			thread_counters_add(&sums->others[thread->kind],
					    &thread->counters);
		}
	}
}

/* Two table entries with one name and pid (a pid recycled within the
 * retention time) would be duplicate series, which fail the whole scrape:
 * the newer entry wins. */
static bool has_newer_twin(const struct guest_table *table, size_t index)
{
	const struct guest *guest = &table->guests[index];

	for (size_t i = index + 1; i < table->guest_count; i++)
		if (table->guests[i].pid == guest->pid &&
		    !strcmp(table->guests[i].name, guest->name))
			return true;
	return false;
}

/* A vCPU index keeps one series: when its thread is replaced, the newest
 * thread's counters take over, which Prometheus sees as a counter reset. */
static bool is_newest_of_index(const struct guest *guest,
			       const struct thread *thread)
{
	if (thread->kind != THREAD_VCPU || thread->vcpu_index < 0)
		return false;
	for (size_t i = 0; i < guest->thread_count; i++) {
		const struct thread *other = &guest->threads[i];

		if (other->kind == THREAD_VCPU &&
		    other->vcpu_index == thread->vcpu_index &&
		    other->seq > thread->seq)
			return false;
	}
	return true;
}

enum guest_figure { STEAL, RUN, WAITS };

static void write_guest_counter(FILE *out, const struct guest_table *table,
				const struct guest_sums *sums, const char *name,
				enum guest_figure figure, const char *help)
{
	write_family(out, name, "counter", help);
	for (size_t i = 0; i < table->guest_count; i++) {
		const struct thread_counters *c = &sums[i].vcpus;

		if (!sums[i].exported)
			continue;
		write_guest_sample(out, name, &table->guests[i], NULL);
		if (figure == WAITS)
			fprintf(out, "%" PRIu64, c->waits);
		else
			prom_write_seconds(out, figure == STEAL ? c->steal_ns :
								  c->run_ns);
		fputc('\n', out);
	}
}

static void write_other_counter(FILE *out, const struct guest_table *table,
				const struct guest_sums *sums, const char *name,
				enum guest_figure figure, const char *help)
{
	char kind_label[32];

	write_family(out, name, "counter", help);
	for (size_t i = 0; i < table->guest_count; i++) {
		if (!sums[i].exported)
			continue;
		for (int kind = THREAD_EMULATOR; kind <= THREAD_OTHER; kind++) {
			const struct thread_counters *c = &sums[i].others[kind];

			snprintf(kind_label, sizeof(kind_label), "kind=\"%s\"",
				 thread_kind_name(kind));
			write_guest_sample(out, name, &table->guests[i],
					   kind_label);
			prom_write_seconds(out, figure == STEAL ? c->steal_ns :
								  c->run_ns);
			fputc('\n', out);
		}
	}
}

/* Steal by culprit: one series per (guest, culprit) that ever took any. */
static void write_culprits(FILE *out, const struct guest_table *table,
			   const struct guest_sums *sums)
{
	const char *name = "kvmwarden_guest_steal_by_culprit_seconds_total";

	write_family(out, name, "counter",
		     "The guest's steal split by what ran on the CPU while "
		     "its vCPUs waited (culprit_kind: guest, cgroup, kernel, "
		     "idle, throttled).");
	for (size_t i = 0; i < table->guest_count; i++) {
		const struct guest *guest = &table->guests[i];

		if (!sums[i].exported)
			continue;
		for (size_t c = 0; c < guest->culprit_count; c++) {
			const struct culprit_total *culprit =
				&guest->culprits[c];

			open_guest_sample(out, name, "", guest, NULL);
			fprintf(out, ",culprit_kind=\"%s\",culprit=\"",
				culprit_kind_name(culprit->kind));
			prom_write_label_value(out, culprit->name);
			fputs("\"} ", out);
			prom_write_seconds(out, culprit->steal_ns);
			fputc('\n', out);
		}
	}
}

static void write_guests(FILE *out, const struct guest_table *table,
			 const struct guest_sums *sums)
{
	write_guest_counter(out, table, sums,
			    "kvmwarden_guest_steal_seconds_total", STEAL,
			    "Time the guest's vCPU threads were runnable but "
			    "not running, summed over its vCPUs.");
	write_guest_counter(
		out, table, sums, "kvmwarden_guest_run_seconds_total", RUN,
		"Time the guest's vCPU threads ran on a CPU, summed "
		"over its vCPUs.");
	write_guest_counter(out, table, sums, "kvmwarden_guest_waits_total",
			    WAITS,
			    "Waits for a CPU that ended, over the guest's "
			    "vCPUs.");
	write_family(out, "kvmwarden_guest_vcpus", "gauge",
		     "vCPU threads of the guest running now (0 once it "
		     "exited).");
	for (size_t i = 0; i < table->guest_count; i++) {
		if (!sums[i].exported)
			continue;
		write_guest_sample(out, "kvmwarden_guest_vcpus",
				   &table->guests[i], NULL);
		fprintf(out, "%" PRIu64 "\n", sums[i].running_vcpus);
	}
	write_family(out, "kvmwarden_guest_wait_seconds", "histogram",
		     "Lengths of the guest's vCPU waits for a CPU; the sum is "
		     "its steal time.");
	for (size_t i = 0; i < table->guest_count; i++)
		if (sums[i].exported)
			write_histogram(out, "kvmwarden_guest_wait_seconds",
					&table->guests[i], NULL,
					&sums[i].vcpus);
	write_other_counter(out, table, sums,
			    "kvmwarden_guest_other_steal_seconds_total", STEAL,
			    "Time the guest's other threads (by kind) were "
			    "runnable but not running.");
	write_other_counter(out, table, sums,
			    "kvmwarden_guest_other_run_seconds_total", RUN,
			    "Time the guest's other threads (by kind) ran on a "
			    "CPU.");
	write_culprits(out, table, sums);
}

static void write_vcpu_counter(FILE *out, const struct guest_table *table,
			       const struct guest_sums *sums, const char *name,
			       enum guest_figure figure, const char *help)
{
	char vcpu_label[32];

	write_family(out, name, "counter", help);
	for (size_t i = 0; i < table->guest_count; i++) {
		const struct guest *guest = &table->guests[i];

		for (size_t t = 0; sums[i].exported && t < guest->thread_count;
		     t++) {
			const struct thread *thread = &guest->threads[t];
			const struct thread_counters *c = &thread->counters;

			if (!is_newest_of_index(guest, thread))
				continue;
			write_vcpu_label(vcpu_label, sizeof(vcpu_label),
					 thread->vcpu_index);
			write_guest_sample(out, name, guest, vcpu_label);
			if (figure == WAITS)
				fprintf(out, "%" PRIu64, c->waits);
			else
				prom_write_seconds(out, figure == STEAL ?
								c->steal_ns :
								c->run_ns);
			fputc('\n', out);
		}
	}
}

static void write_vcpus(FILE *out, const struct guest_table *table,
			const struct guest_sums *sums)
{
	char vcpu_label[32];

	write_vcpu_counter(
		out, table, sums, "kvmwarden_vcpu_steal_seconds_total", STEAL,
		"Time the vCPU thread was runnable but not running.");
	write_vcpu_counter(out, table, sums, "kvmwarden_vcpu_run_seconds_total",
			   RUN, "Time the vCPU thread ran on a CPU.");
	write_vcpu_counter(out, table, sums, "kvmwarden_vcpu_waits_total",
			   WAITS, "Waits for a CPU that ended, of the vCPU.");
	write_family(out, "kvmwarden_vcpu_wait_seconds", "histogram",
		     "Lengths of the vCPU's waits for a CPU; the sum is its "
		     "steal time.");
	for (size_t i = 0; i < table->guest_count; i++) {
		const struct guest *guest = &table->guests[i];

		for (size_t t = 0; sums[i].exported && t < guest->thread_count;
		     t++) {
			const struct thread *thread = &guest->threads[t];

			if (!is_newest_of_index(guest, thread))
				continue;
			write_vcpu_label(vcpu_label, sizeof(vcpu_label),
					 thread->vcpu_index);
			write_histogram(out, "kvmwarden_vcpu_wait_seconds",
					guest, vcpu_label, &thread->counters);
		}
	}
}

static void write_u64(FILE *out, const char *name, const char *type,
		      const char *help, uint64_t value)
{
	write_family(out, name, type, help);
	fprintf(out, "%s %" PRIu64 "\n", name, value);
}

static void write_seconds(FILE *out, const char *name, const char *type,
			  const char *help, uint64_t ns)
{
	write_family(out, name, type, help);
	fprintf(out, "%s ", name);
	prom_write_seconds(out, ns);
	fputc('\n', out);
}

static void write_programs(FILE *out, const struct prom_health *health)
{
	static const char run_seconds[] =
		"kvmwarden_bpf_program_run_seconds_total";
	static const char runs[] = "kvmwarden_bpf_program_runs_total";

	write_family(out, run_seconds, "counter",
		     "Time the kernel spent in the agent's BPF program (0 "
		     "unless kernel.bpf_stats_enabled is 1).");
	for (size_t i = 0; i < health->program_count; i++) {
		fprintf(out, "%s{program=\"", run_seconds);
		prom_write_label_value(out, health->programs[i].name);
		fputs("\"} ", out);
		prom_write_seconds(out, health->programs[i].run_time_ns);
		fputc('\n', out);
	}
	write_family(out, runs, "counter",
		     "Runs of the agent's BPF program (0 unless "
		     "kernel.bpf_stats_enabled is 1).");
	for (size_t i = 0; i < health->program_count; i++) {
		fprintf(out, "%s{program=\"", runs);
		prom_write_label_value(out, health->programs[i].name);
		fprintf(out, "\"} %" PRIu64 "\n",
			health->programs[i].run_count);
	}
}

static void write_health(FILE *out, const struct prom_health *health)
{
	write_family(out, "kvmwarden_build_info", "gauge",
		     "The running kvmwarden's version, as a label.");
	fputs("kvmwarden_build_info{version=\"", out);
	prom_write_label_value(out, health->version ? health->version : "");
	fputs("\"} 1\n", out);
	write_programs(out, health);
	write_family(out, "kvmwarden_bpf_errors_total", "counter",
		     "What the BPF side could not do, by error.");
	for (int i = 0; i < SCHED_ERR_COUNT; i++)
		if (i != SCHED_ERR_ATTR_LOST_NS)
			fprintf(out,
				"kvmwarden_bpf_errors_total{error=\"%s\"} "
				"%" PRIu64 "\n",
				sched_error_name(i), health->errors[i]);
	write_seconds(out, "kvmwarden_attribution_lost_seconds_total",
		      "counter",
		      "Steal left unattributed because the attribution map was "
		      "full (culprits plus this add up to the steal).",
		      health->errors[SCHED_ERR_ATTR_LOST_NS]);
	write_u64(out, "kvmwarden_discovery_passes_total", "counter",
		  "Discovery passes run.", health->tracker.passes);
	write_u64(out, "kvmwarden_guests_discovered_total", "counter",
		  "Guests found since the agent started.",
		  health->tracker.guests_found);
	write_u64(out, "kvmwarden_guest_identity_clashes", "gauge",
		  "Live guests whose name or UUID another live guest claims "
		  "too; budgets and classes match none of them by it.",
		  health->tracker.identity_clashes);
	write_u64(out, "kvmwarden_untracked_threads_total", "counter",
		  "Threads left unmeasured because every counter slot was "
		  "taken.",
		  health->tracker.no_slot);
	write_u64(out, "kvmwarden_thread_registration_failures_total",
		  "counter", "Threads whose registration with BPF failed.",
		  health->tracker.register_failed);
	write_u64(out, "kvmwarden_tracked_slots", "gauge",
		  "Counter slots held by tracked threads.",
		  health->slots_in_use);
	write_u64(out, "kvmwarden_tracked_slots_max", "gauge",
		  "Counter slots the BPF side has.", health->slots_max);
	write_seconds(out, "kvmwarden_discovery_duration_seconds", "gauge",
		      "How long the last discovery pass took.",
		      health->last_discovery_ns);
	write_seconds(out, "kvmwarden_scrape_duration_seconds", "gauge",
		      "How long the previous scrape of this endpoint took.",
		      health->previous_scrape_ns);
	write_seconds(out, "kvmwarden_loop_lag_seconds", "gauge",
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
		write_seconds(
			out, "process_cpu_seconds_total", "counter",
			"Total user and system CPU time spent in seconds.",
			figures.cpu_ns);
		write_u64(out, "process_resident_memory_bytes", "gauge",
			  "Resident memory size in bytes.",
			  figures.resident_bytes);
		write_u64(out, "process_virtual_memory_bytes", "gauge",
			  "Virtual memory size in bytes.",
			  figures.virtual_bytes);
	}
	if (figures.have_open_fds)
		write_u64(out, "process_open_fds", "gauge",
			  "Number of open file descriptors.", figures.open_fds);
	if (figures.have_max_fds)
		write_u64(out, "process_max_fds", "gauge",
			  "Maximum number of open file descriptors.",
			  figures.max_fds);
	if (figures.have_heap)
		write_u64(out, "kvmwarden_heap_inuse_bytes", "gauge",
			  "Bytes the agent's allocator holds in use (mallinfo2); "
			  "a leak grows it, freed pages kept grow only the "
			  "resident size.",
			  figures.heap_inuse_bytes);
	if (figures.have_start_time)
		write_seconds(out, "process_start_time_seconds", "gauge",
			      "Start time of the process since unix epoch in "
			      "seconds.",
			      figures.start_time_unix_ns);
}

/* KVM telemetry. A part this host does not provide has no series at all
 * (an absent series, not a zero); kvmwarden_kvm_telemetry_available says
 * which parts are there. Emulated (TCG) guests have none. */
static bool kvm_available(const struct guest_table *table, enum kvm_part part)
{
	return table->kvm.parts[part].state == KVM_STATE_AVAILABLE;
}

static void write_kvm_reasons(FILE *out, const struct guest_table *table,
			      const struct guest_sums *sums, const char *name,
			      bool userspace)
{
	char reason[64];

	for (size_t i = 0; i < table->guest_count; i++) {
		const struct guest *guest = &table->guests[i];

		if (!sums[i].exported || guest->tcg)
			continue;
		for (uint32_t r = 0; r < guest->kvm.reason_count; r++) {
			const struct kvm_reason_total *row =
				&guest->kvm.reasons[r];

			if ((row->kind == KVM_COUNT_USERSPACE) != userspace)
				continue;
			if (userspace)
				kvm_userspace_reason_name(row->reason, reason,
							  sizeof(reason));
			else
				kvm_exit_reason_name(row->kind, row->reason,
						     reason, sizeof(reason));
			open_guest_sample(out, name, "", guest, NULL);
			fputs(",reason=\"", out);
			prom_write_label_value(out, reason);
			fprintf(out, "\"} %" PRIu64 "\n", row->count);
		}
	}
}

static void write_kvm(FILE *out, const struct guest_table *table,
		      const struct guest_sums *sums)
{
	static const char *const results[2] = { "polled", "slept" };
	const char *name;

	write_family(out, "kvmwarden_kvm_telemetry_available", "gauge",
		     "1 when this host provides the part of the KVM telemetry "
		     "(exits, userspace_exits, halt_poll_wakeups), else 0.");
	for (int part = 0; part < KVM_PART_COUNT; part++)
		fprintf(out,
			"kvmwarden_kvm_telemetry_available{part=\"%s\"} %d\n",
			kvm_part_name(part), kvm_available(table, part));
	write_family(out, "kvmwarden_kvm_events_lost_total", "counter",
		     "KVM events the BPF side could not count (its counter map "
		     "was full), plus distinct reasons the agent had no room "
		     "for.");
	fprintf(out, "kvmwarden_kvm_events_lost_total %" PRIu64 "\n",
		table->kvm.events_lost + table->kvm.reasons_dropped);
	if (kvm_available(table, KVM_PART_EXITS)) {
		name = "kvmwarden_kvm_exits_total";
		write_family(
			out, name, "counter",
			"Exits of the guest's vCPUs to the host kernel, by "
			"VMX or SVM exit reason.");
		write_kvm_reasons(out, table, sums, name, false);
		name = "kvmwarden_vcpu_guest_mode_seconds_total";
		write_family(out, name, "counter",
			     "Time the guest's vCPUs spent in guest mode "
			     "(between kvm_entry and kvm_exit).");
		for (size_t i = 0; i < table->guest_count; i++) {
			if (!sums[i].exported || table->guests[i].tcg)
				continue;
			write_guest_sample(out, name, &table->guests[i], NULL);
			prom_write_seconds(out, table->guests[i].kvm.guest_ns);
			fputc('\n', out);
		}
	}
	if (kvm_available(table, KVM_PART_USERSPACE)) {
		name = "kvmwarden_kvm_userspace_exits_total";
		write_family(out, name, "counter",
			     "Returns of the guest's vCPUs from KVM_RUN to the "
			     "VMM, by reason (IO, MMIO, ...).");
		write_kvm_reasons(out, table, sums, name, true);
	}
	if (kvm_available(table, KVM_PART_HALT_POLL)) {
		name = "kvmwarden_kvm_halt_poll_wakeups_total";
		write_family(out, name, "counter",
			     "Wake-ups of the guest's halted vCPUs: polled "
			     "(halt-polling found work) or slept.");
		for (size_t i = 0; i < table->guest_count; i++) {
			const struct guest *guest = &table->guests[i];

			if (!sums[i].exported || guest->tcg)
				continue;
			for (int result = 0; result < 2; result++) {
				open_guest_sample(out, name, "", guest, NULL);
				fprintf(out, ",result=\"%s\"} %" PRIu64 "\n",
					results[result],
					guest->kvm.wakeups[result]);
			}
		}
	}
}

int prom_write_metrics(FILE *out, const struct guest_table *table,
		       const struct prom_health *health,
		       const struct prom_options *opts)
{
	struct guest_sums *sums = NULL;

	if (table->guest_count) {
		sums = calloc(table->guest_count, sizeof(*sums));
		if (!sums)
			return -ENOMEM;
	}
	for (size_t i = 0; i < table->guest_count; i++) {
		sum_guest(&table->guests[i], &sums[i]);
		sums[i].exported = !has_newer_twin(table, i);
	}
	write_guests(out, table, sums);
	write_kvm(out, table, sums);
	if (health->features)
		prom_write_features(out, health->features);
	if (opts && opts->per_vcpu)
		write_vcpus(out, table, sums);
	write_health(out, health);
	write_process(out, health,
		      opts && opts->proc_root ? opts->proc_root : "/proc");
	free(sums);
	return ferror(out) || fflush(out) ? -EIO : 0;
}
