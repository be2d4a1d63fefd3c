// SPDX-License-Identifier: GPL-2.0-only
/*
 * The readable `dump` table: one line per guest, then its vCPUs and its
 * other threads indented beneath. Percentages are of the window's length.
 */
#include <errno.h>

#include "model/hist.h"
#include "json_io.h"
#include "report_out.h"

static double pct(uint64_t part_ns, uint64_t whole_ns)
{
	return whole_ns ? 100.0 * (double)part_ns / (double)whole_ns : 0.0;
}

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

static void thread_line(FILE *out, const char *label,
			const struct report_thread *row, uint64_t window_ns)
{
	const struct thread_counters *c = &row->delta;

	fprintf(out, "  %-18s %8d %10.1f %6.1f%% %10.1f %8llu %9.3f%s\n", label,
		row->tid, ms(c->steal_ns), pct(c->steal_ns, window_ns),
		ms(c->run_ns), (unsigned long long)c->waits,
		ms(hist_quantile_ns(c->wait_hist, 0.99, c->wait_max_ns)),
		row->exited ? "  (exited)" : "");
}

int table_write_report(FILE *out, const struct report *report)
{
	uint64_t window_ns = report->duration_ns;

	fprintf(out, "window %.3f s, %zu guest%s\n", (double)window_ns / 1e9,
		report->guest_count, report->guest_count == 1 ? "" : "s");
	fprintf(out, "%-20s %8s %10s %7s %10s %8s %9s\n", "GUEST / THREAD",
		"PID/TID", "STEAL ms", "STEAL%", "RUN ms", "WAITS", "P99 ms");
	for (size_t g = 0; g < report->guest_count; g++) {
		const struct report_guest *guest = &report->guests[g];
		const struct thread_counters *total = &guest->vcpu_total;
		/* A guest's steal % is per vCPU on average, so guests of
		 * different sizes compare. */
		uint64_t vcpu_window =
			window_ns * (guest->vcpu_count ? guest->vcpu_count : 1);

		fprintf(out,
			"%-20.20s %8d %10.1f %6.1f%% %10.1f %8llu %9.3f%s\n",
			guest->name, guest->pid, ms(total->steal_ns),
			pct(total->steal_ns, vcpu_window), ms(total->run_ns),
			(unsigned long long)total->waits,
			ms(hist_quantile_ns(total->wait_hist, 0.99,
					    total->wait_max_ns)),
			guest->exited ? "  (exited)" : "");
		for (size_t i = 0; i < guest->culprit_count && i < 3; i++)
			fprintf(out, "  culprit %-9s %-40.40s %10.1f ms\n",
				culprit_kind_name(guest->culprits[i].kind),
				guest->culprits[i].name,
				ms(guest->culprits[i].steal_ns));
		for (size_t i = 0; i < guest->vcpu_count; i++) {
			char label[32];

			snprintf(label, sizeof(label), "vcpu %d",
				 guest->vcpus[i].vcpu_index);
			thread_line(out, label, &guest->vcpus[i], window_ns);
		}
		for (size_t i = 0; i < guest->other_count; i++)
			thread_line(out,
				    thread_kind_name(guest->others[i].kind),
				    &guest->others[i], window_ns);
	}
	if (report->io)
		json_io_write_table(out, report);
	if (fflush(out))
		return -EIO;
	return 0;
}
