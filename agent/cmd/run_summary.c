// SPDX-License-Identifier: GPL-2.0-only
/*
 * The guest lines of `run` (cmd/run_summary.h): their text is documented
 * output, matched by tests and read by operators in the journal.
 */
#include "base/log.h"
#include "cmd/run_summary.h"
#include "collect/procfs.h"
#include "serve/notify.h"

size_t run_summary_live_guests(const struct guest_table *table)
{
	size_t live = 0;

	for (size_t i = 0; i < table->guest_count; i++)
		live += !table->guests[i].exited;
	return live;
}

void run_summary_announce(const struct guest_table *table, uint64_t *last_id,
			  uint64_t since_ns)
{
	for (size_t i = 0; i < table->guest_count; i++) {
		const struct guest *guest = &table->guests[i];

		if (guest->id > *last_id) {
			log_info("guest %s found (pid %d, %s)\n", guest->name,
				 guest->pid, vmm_kind_name(guest->vmm));
			*last_id = guest->id;
		}
		if (guest->exited && guest->exited_at_ns > since_ns)
			log_info("guest %s (pid %d) exited\n", guest->name,
				 guest->pid);
	}
}

/* Logs a line per running guest, and puts the one with the most steal in
 * the service's status line (`systemctl status kvmwarden`). */
void run_summary_log(const struct report *report)
{
	const char *worst = NULL;
	double worst_pct = 0.0;
	size_t live = 0;

	for (size_t i = 0; i < report->guest_count; i++) {
		const struct report_guest *guest = &report->guests[i];
		size_t vcpus = guest->vcpu_count ? guest->vcpu_count : 1;
		double steal_pct = 100.0 * (double)guest->vcpu_total.steal_ns /
				   (double)(report->duration_ns * vcpus);

		if (guest->exited)
			continue;
		live++;
		if (!worst || steal_pct > worst_pct) {
			worst = guest->name;
			worst_pct = steal_pct;
		}
		log_info("%s: %zu vCPUs, steal %.1f%% per vCPU, %.1f ms in "
			 "total over %.1f s\n",
			 guest->name, guest->vcpu_count, steal_pct,
			 (double)guest->vcpu_total.steal_ns / 1e6,
			 (double)report->duration_ns / 1e9);
	}
	if (worst)
		notify_status("measuring %zu guest%s; most steal: %s, %.1f%% "
			      "per vCPU over %.0f s",
			      live, live == 1 ? "" : "s", worst, worst_pct,
			      (double)report->duration_ns / 1e9);
	else
		notify_status("measuring 0 guests");
}
