// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hidden steal on /metrics (prom_hidden.h). Metric and label names are a
 * public contract (README.md): add, never rename. Times are seconds,
 * written exactly from nanoseconds; counts are plain. Per guest the
 * figures are its vCPUs' (retired ones included), like its steal.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "model/hidden.h"
#include "prom_hidden.h"
#include "prom_write.h"

/* A culprit as the labels show it: entries of every thread, and of
 * devices in different namespaces, that share (kind, name) are summed,
 * since the namespace is no label (its inode would churn series). */
struct shown_culprit {
	enum hidden_culprit_kind kind;
	char name[PROCFS_NAME_LEN];
	uint64_t ns;
};

static void open_sample(FILE *out, const char *name, const struct guest *guest)
{
	fprintf(out, "%s{", name);
	prom_write_guest_labels(out, guest);
}

static void end_seconds(FILE *out, uint64_t ns)
{
	fputs("} ", out);
	prom_write_seconds(out, ns);
	fputc('\n', out);
}

/* The vCPUs' interrupt counters, their retired threads' included, so the
 * counter never falls when a vCPU thread exits. */
static void vcpu_sum(const struct guest *guest, struct irq_counts *sum)
{
	*sum = guest->retired[THREAD_VCPU].hidden;
	for (size_t i = 0; i < guest->thread_count; i++)
		if (guest->threads[i].kind == THREAD_VCPU)
			hidden_counts_add(sum,
					  &guest->threads[i].counters.hidden);
}

static void other_sum(const struct guest *guest, enum thread_kind kind,
		      struct irq_counts *sum)
{
	*sum = guest->retired[kind].hidden;
	for (size_t i = 0; i < guest->thread_count; i++)
		if (guest->threads[i].kind == kind)
			hidden_counts_add(sum,
					  &guest->threads[i].counters.hidden);
}

static void write_guest_figures(FILE *out, const struct guest_table *table,
				const struct prom_hidden_view *view)
{
	const char *irq = "kvmwarden_guest_hidden_irq_seconds_total";
	const char *soft = "kvmwarden_guest_hidden_softirq_seconds_total";
	const char *other = "kvmwarden_guest_other_hidden_seconds_total";
	struct irq_counts sum;

	prom_write_family(out, irq, "counter",
			  "Hardirq time taken on the guest's vCPU threads "
			  "while they were current, which the kernel charges "
			  "to them as guest time.");
	for (size_t i = 0; i < table->guest_count; i++) {
		if (!view->exported[i])
			continue;
		vcpu_sum(&table->guests[i], &sum);
		open_sample(out, irq, &table->guests[i]);
		end_seconds(out, hidden_irq_ns(&sum));
	}
	prom_write_family(out, soft, "counter",
			  "Softirq time taken on the guest's vCPU threads "
			  "while they were current, by vector (NET_RX, "
			  "BLOCK, TIMER, ...).");
	for (size_t i = 0; i < table->guest_count; i++) {
		if (!view->exported[i])
			continue;
		vcpu_sum(&table->guests[i], &sum);
		for (int v = 0; v < IRQ_SOFTIRQ_VECTORS; v++) {
			open_sample(out, soft, &table->guests[i]);
			fprintf(out, ",vector=\"%s\"", hidden_softirq_name(v));
			end_seconds(out, sum.soft_ns[v]);
		}
	}
	prom_write_family(out, other, "counter",
			  "Interrupt time taken on the guest's other threads "
			  "(by kind) while they were current, by context "
			  "(irq, softirq).");
	for (size_t i = 0; i < table->guest_count; i++) {
		if (!view->exported[i])
			continue;
		for (int kind = THREAD_EMULATOR; kind <= THREAD_OTHER; kind++) {
			other_sum(&table->guests[i], kind, &sum);
			open_sample(out, other, &table->guests[i]);
			fprintf(out, ",kind=\"%s\",context=\"irq\"",
				thread_kind_name(kind));
			end_seconds(out, hidden_irq_ns(&sum));
			open_sample(out, other, &table->guests[i]);
			fprintf(out, ",kind=\"%s\",context=\"softirq\"",
				thread_kind_name(kind));
			end_seconds(out, hidden_softirq_ns(&sum));
		}
	}
}

/* The culprits of all the guest's threads, summed by shown (kind, name);
 * returns how many, or -ENOMEM. Entries of any thread_seq count, so
 * entries kept for pruned threads (were collection to keep them, as
 * guest->retired keeps their counters) would keep the sum from falling. */
static int guest_culprits(const struct guest *guest, struct shown_culprit **out)
{
	struct shown_culprit *list, entry;
	size_t used = 0;

	*out = NULL;
	if (!guest->hidden_culprit_count)
		return 0;
	list = calloc(guest->hidden_culprit_count, sizeof(*list));
	if (!list)
		return -ENOMEM;
	for (size_t i = 0; i < guest->hidden_culprit_count; i++) {
		const struct hidden_culprit_total *total =
			&guest->hidden_culprits[i];
		size_t at = 0;

		/* Named as dump --json names it (model/hidden.c). */
		memset(&entry, 0, sizeof(entry));
		hidden_culprit_show(total, &entry.kind, entry.name,
				    sizeof(entry.name));
		entry.ns = total->ns;
		while (at < used && (list[at].kind != entry.kind ||
				     strcmp(list[at].name, entry.name)))
			at++;
		if (at == used)
			list[used++] = entry;
		else
			list[at].ns += entry.ns;
	}
	*out = list;
	return (int)used;
}

static int write_culprits(FILE *out, const struct guest_table *table,
			  const struct prom_hidden_view *view)
{
	const char *name = "kvmwarden_guest_hidden_by_culprit_seconds_total";

	prom_write_family(out, name, "counter",
			  "The guest's threads' hidden interrupt time by what "
			  "caused it (culprit_kind: guest, device, irq): a "
			  "guest's network device, another device's packets, "
			  "or an interrupt handler.");
	for (size_t i = 0; i < table->guest_count; i++) {
		const struct guest *guest = &table->guests[i];
		struct shown_culprit *list;
		int count;

		if (!view->exported[i])
			continue;
		count = guest_culprits(guest, &list);
		if (count < 0)
			return count;
		for (int c = 0; c < count; c++) {
			open_sample(out, name, guest);
			fprintf(out, ",culprit_kind=\"%s\",culprit=\"",
				hidden_culprit_kind_name(list[c].kind));
			prom_write_label_value(out, list[c].name);
			fputc('"', out);
			end_seconds(out, list[c].ns);
		}
		free(list);
	}
	return 0;
}

static void write_vcpus(FILE *out, const struct guest_table *table,
			const struct prom_hidden_view *view)
{
	const char *name = "kvmwarden_vcpu_hidden_seconds_total";

	prom_write_family(out, name, "counter",
			  "Interrupt time taken on the vCPU thread while it "
			  "was current, by context (irq, softirq).");
	for (size_t i = 0; i < table->guest_count; i++) {
		const struct guest *guest = &table->guests[i];

		for (size_t t = 0; view->exported[i] && t < guest->thread_count;
		     t++) {
			const struct thread *thread = &guest->threads[t];
			const struct irq_counts *c = &thread->counters.hidden;

			if (!view->vcpu_shown(guest, thread))
				continue;
			open_sample(out, name, guest);
			fprintf(out, ",vcpu=\"%d\",context=\"irq\"",
				thread->vcpu_index);
			end_seconds(out, hidden_irq_ns(c));
			open_sample(out, name, guest);
			fprintf(out, ",vcpu=\"%d\",context=\"softirq\"",
				thread->vcpu_index);
			end_seconds(out, hidden_softirq_ns(c));
		}
	}
}

/* One family per CPU and vector (or hard kind): seconds or counts. */
static void write_cpu_family(FILE *out, const struct guest_table *table,
			     const char *name, const char *help, bool softirq,
			     bool seconds)
{
	int rows = softirq ? IRQ_SOFTIRQ_VECTORS : IRQ_HARD_KINDS;

	prom_write_family(out, name, "counter", help);
	for (int cpu = 0; cpu < table->cpu_irq_count; cpu++) {
		const struct irq_counts *c = &table->cpu_irq[cpu];

		for (int row = 0; row < rows; row++) {
			const __u64 *values =
				softirq ?
					(seconds ? c->soft_ns : c->soft_count) :
					(seconds ? c->hard_ns : c->hard_count);

			fprintf(out, "%s{cpu=\"%d\",%s=\"%s\"} ", name, cpu,
				softirq ? "vector" : "kind",
				softirq ? hidden_softirq_name(row) :
					  hidden_hard_kind_name(row));
			if (seconds)
				prom_write_seconds(out, values[row]);
			else
				fprintf(out, "%" PRIu64, (uint64_t)values[row]);
			fputc('\n', out);
		}
	}
}

static void write_cpus(FILE *out, const struct guest_table *table)
{
	write_cpu_family(out, table, "kvmwarden_cpu_softirq_seconds_total",
			 "Softirq time on the host CPU in every context, by "
			 "vector.",
			 true, true);
	write_cpu_family(out, table, "kvmwarden_cpu_softirqs_total",
			 "Softirqs run on the host CPU in every context, by "
			 "vector (as /proc/softirqs counts them).",
			 true, false);
	write_cpu_family(out, table, "kvmwarden_cpu_irq_seconds_total",
			 "Hardirq time on the host CPU in every context, by "
			 "kind (DEVICE handlers, LOCAL_TIMER, IPIs, ...).",
			 false, true);
	write_cpu_family(out, table, "kvmwarden_cpu_irqs_total",
			 "Hardirqs taken by the host CPU in every context, by "
			 "kind.",
			 false, false);
}

/* Beside kvmwarden_bpf_errors_total and kvmwarden_io_bpf_errors_total:
 * a full culprit table loses names (the time stays in the totals), an
 * unmatched exit an interrupt that began before the programs attached. */
static void write_errors(FILE *out, const struct guest_table *table)
{
	prom_write_family(out, "kvmwarden_irq_bpf_errors_total", "counter",
			  "What the interrupt programs could not do, by "
			  "error.");
	for (int i = 0; i < IRQ_ERR_COUNT; i++)
		fprintf(out,
			"kvmwarden_irq_bpf_errors_total{error=\"%s\"} "
			"%" PRIu64 "\n",
			hidden_irq_error_name(i), table->irq_errors[i]);
}

int prom_hidden_write(FILE *out, const struct guest_table *table,
		      const struct prom_hidden_view *view)
{
	int err;

	if (!table->cpu_irq)
		return 0;
	write_guest_figures(out, table, view);
	err = write_culprits(out, table, view);
	if (err)
		return err;
	if (view->vcpu_shown)
		write_vcpus(out, table, view);
	write_cpus(out, table);
	write_errors(out, table);
	return 0;
}
