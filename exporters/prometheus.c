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

#include "features_out.h"
#include "prom_hidden.h"
#include "prom_write.h"
#include "prometheus.h"
#include "prometheus_net.h"

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

/* Opens a sample of a guest's series, up to its last label; `extra` is a
 * ready label pair or NULL. */
static void open_guest_sample(FILE *out, const char *name, const char *suffix,
			      const struct guest *guest, const char *extra)
{
	fprintf(out, "%s%s{", name, suffix);
	prom_write_guest_labels(out, guest);
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

/* What a family of the vCPUs' counters shows: a counter or the waits'
 * histogram. */
enum guest_figure { STEAL, RUN, WAITS, WAIT_HIST };

static const char *figure_type(enum guest_figure figure)
{
	return figure == WAIT_HIST ? "histogram" : "counter";
}

/* A counter sample's value, then the line's end: a count, or seconds. */
static void write_figure(FILE *out, const struct thread_counters *c,
			 enum guest_figure figure)
{
	if (figure == WAITS)
		fprintf(out, "%" PRIu64, c->waits);
	else
		prom_write_seconds(out,
				   figure == STEAL ? c->steal_ns : c->run_ns);
	fputc('\n', out);
}

/* A family of each guest's vCPUs summed. */
static void write_guest_counter(FILE *out, const struct guest_table *table,
				const struct guest_sums *sums, const char *name,
				enum guest_figure figure, const char *help)
{
	prom_write_family(out, name, figure_type(figure), help);
	for (size_t i = 0; i < table->guest_count; i++) {
		const struct thread_counters *c = &sums[i].vcpus;

		if (!sums[i].exported)
			continue;
		if (figure == WAIT_HIST) {
			write_histogram(out, name, &table->guests[i], NULL, c);
			continue;
		}
		write_guest_sample(out, name, &table->guests[i], NULL);
		write_figure(out, c, figure);
	}
}

static void write_other_counter(FILE *out, const struct guest_table *table,
				const struct guest_sums *sums, const char *name,
				enum guest_figure figure, const char *help)
{
	char kind_label[32];

	prom_write_family(out, name, "counter", help);
	for (size_t i = 0; i < table->guest_count; i++) {
		if (!sums[i].exported)
			continue;
		for (int kind = THREAD_EMULATOR; kind <= THREAD_OTHER; kind++) {
			const struct thread_counters *c = &sums[i].others[kind];

			snprintf(kind_label, sizeof(kind_label), "kind=\"%s\"",
				 thread_kind_name(kind));
			write_guest_sample(out, name, &table->guests[i],
					   kind_label);
			write_figure(out, c, figure);
		}
	}
}

/* Steal by culprit: one series per (guest, culprit) that ever took any. */
static void write_culprits(FILE *out, const struct guest_table *table,
			   const struct guest_sums *sums)
{
	const char *name = "kvmwarden_guest_steal_by_culprit_seconds_total";

	prom_write_family(
		out, name, "counter",
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
	prom_write_family(out, "kvmwarden_guest_vcpus", "gauge",
			  "vCPU threads of the guest running now (0 once it "
			  "exited).");
	for (size_t i = 0; i < table->guest_count; i++) {
		if (!sums[i].exported)
			continue;
		write_guest_sample(out, "kvmwarden_guest_vcpus",
				   &table->guests[i], NULL);
		fprintf(out, "%" PRIu64 "\n", sums[i].running_vcpus);
	}
	write_guest_counter(out, table, sums, "kvmwarden_guest_wait_seconds",
			    WAIT_HIST,
			    "Lengths of the guest's vCPU waits for a CPU; the "
			    "sum is its steal time.");
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

	prom_write_family(out, name, figure_type(figure), help);
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
			if (figure == WAIT_HIST) {
				write_histogram(out, name, guest, vcpu_label,
						c);
				continue;
			}
			write_guest_sample(out, name, guest, vcpu_label);
			write_figure(out, c, figure);
		}
	}
}

static void write_vcpus(FILE *out, const struct guest_table *table,
			const struct guest_sums *sums)
{
	write_vcpu_counter(
		out, table, sums, "kvmwarden_vcpu_steal_seconds_total", STEAL,
		"Time the vCPU thread was runnable but not running.");
	write_vcpu_counter(out, table, sums, "kvmwarden_vcpu_run_seconds_total",
			   RUN, "Time the vCPU thread ran on a CPU.");
	write_vcpu_counter(out, table, sums, "kvmwarden_vcpu_waits_total",
			   WAITS, "Waits for a CPU that ended, of the vCPU.");
	write_vcpu_counter(out, table, sums, "kvmwarden_vcpu_wait_seconds",
			   WAIT_HIST,
			   "Lengths of the vCPU's waits for a CPU; the sum is "
			   "its steal time.");
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

	prom_write_family(
		out, "kvmwarden_kvm_telemetry_available", "gauge",
		"1 when this host provides the part of the KVM telemetry "
		"(exits, userspace_exits, halt_poll_wakeups), else 0.");
	for (int part = 0; part < KVM_PART_COUNT; part++)
		fprintf(out,
			"kvmwarden_kvm_telemetry_available{part=\"%s\"} %d\n",
			kvm_part_name(part), kvm_available(table, part));
	prom_write_family(
		out, "kvmwarden_kvm_events_lost_total", "counter",
		"KVM events the BPF side could not count (its counter map "
		"was full), plus distinct reasons the agent had no room "
		"for.");
	fprintf(out, "kvmwarden_kvm_events_lost_total %" PRIu64 "\n",
		table->kvm.events_lost + table->kvm.reasons_dropped);
	if (kvm_available(table, KVM_PART_EXITS)) {
		name = "kvmwarden_kvm_exits_total";
		prom_write_family(
			out, name, "counter",
			"Exits of the guest's vCPUs to the host kernel, by "
			"VMX or SVM exit reason.");
		write_kvm_reasons(out, table, sums, name, false);
		name = "kvmwarden_vcpu_guest_mode_seconds_total";
		prom_write_family(out, name, "counter",
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
		prom_write_family(
			out, name, "counter",
			"Returns of the guest's vCPUs from KVM_RUN to the "
			"VMM, by reason (IO, MMIO, ...).");
		write_kvm_reasons(out, table, sums, name, true);
	}
	if (kvm_available(table, KVM_PART_HALT_POLL)) {
		name = "kvmwarden_kvm_halt_poll_wakeups_total";
		prom_write_family(
			out, name, "counter",
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

int prometheus_write(FILE *out, const struct guest_table *table,
		     const struct prom_health *health,
		     const struct prom_options *opts)
{
	struct guest_sums *sums = NULL;
	bool *exported = NULL;
	struct prom_hidden_view hidden = { 0 };
	int err;

	if (table->guest_count) {
		sums = calloc(table->guest_count, sizeof(*sums));
		exported = calloc(table->guest_count, sizeof(*exported));
		if (!sums || !exported) {
			err = -ENOMEM;
			goto cleanup;
		}
	}
	for (size_t i = 0; i < table->guest_count; i++) {
		sum_guest(&table->guests[i], &sums[i]);
		sums[i].exported = !has_newer_twin(table, i);
		exported[i] = sums[i].exported;
	}
	write_guests(out, table, sums);
	hidden.exported = exported;
	if (opts && opts->per_vcpu)
		hidden.vcpu_shown = is_newest_of_index;
	err = prom_hidden_write(out, table, &hidden);
	if (err)
		goto cleanup;
	write_kvm(out, table, sums);
	prometheus_net_write(out, table);
	if (health->features)
		features_out_prom(out, health->features);
	if (opts && opts->per_vcpu)
		write_vcpus(out, table, sums);
	prom_health_write(out, health,
			  opts && opts->proc_root ? opts->proc_root : "/proc");
	err = ferror(out) || fflush(out) ? -EIO : 0;
cleanup:
	free(exported);
	free(sums);
	return err;
}
