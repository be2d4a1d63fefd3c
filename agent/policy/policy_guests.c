// SPDX-License-Identifier: GPL-2.0-only
/*
 * The model's report read into the CPU controller's plain input: the one
 * place policy reads a report, so the controller itself (policy.c) sees
 * only struct policy_guest and stays testable with synthetic guests.
 */
#include <stdio.h>
#include <string.h>

#include "model/hist.h"
#include "policy/policy_guests.h"

_Static_assert(sizeof(((struct policy_guest *)0)->name) == PROCFS_NAME_LEN &&
		       sizeof(((struct policy_guest *)0)->uuid) ==
			       PROCFS_UUID_LEN &&
		       sizeof(((struct policy_guest *)0)->cgroup) ==
			       PROCFS_PATH_LEN,
	       "policy_guests_identity fills these buffers");

void policy_guests_identity(const struct report_guest *guest, char *name,
			    char *uuid, char *cgroup,
			    struct guest_claim *claim)
{
	snprintf(name, PROCFS_NAME_LEN, "%s", guest->name);
	snprintf(uuid, PROCFS_UUID_LEN, "%s", guest->uuid);
	*claim = guest->claim;
	snprintf(cgroup, PROCFS_PATH_LEN, "%s", guest->cgroup);
}

size_t policy_guests_from_report(const struct report *report,
				 struct policy_guest *out, size_t cap)
{
	double window_ns = report->duration_ns ? (double)report->duration_ns :
						 1.0;
	size_t filled = 0;

	for (size_t i = 0; i < report->guest_count && filled < cap; i++) {
		const struct report_guest *guest = &report->guests[i];
		struct policy_guest *pg = &out[filled];
		uint64_t worst_ns = 0;

		if (guest->exited)
			continue;
		memset(pg, 0, sizeof(*pg));
		policy_guests_identity(guest, pg->name, pg->uuid, pg->cgroup,
				       &pg->claim);
		for (size_t v = 0; v < guest->vcpu_count; v++)
			if (guest->vcpus[v].delta.steal_ns > worst_ns)
				worst_ns = guest->vcpus[v].delta.steal_ns;
		if (!guest->vcpu_count)
			worst_ns = guest->vcpu_total.steal_ns;
		pg->steal_percent = 100.0 * (double)worst_ns / window_ns;
		pg->wait_p99_ms = (double)hist_quantile_ns(
					  guest->vcpu_total.wait_hist, 0.99,
					  guest->vcpu_total.wait_max_ns) /
				  1e6;
		for (size_t t = 0; t < guest->vcpu_count &&
				   pg->vcpu_tid_count < POLICY_MAX_VCPUS;
		     t++)
			if (!guest->vcpus[t].exited)
				pg->vcpu_tids[pg->vcpu_tid_count++] =
					guest->vcpus[t].tid;
		for (size_t c = 0;
		     c < guest->culprit_count && c < POLICY_MAX_CULPRITS; c++) {
			pg->culprit_percent[pg->culprit_count] =
				100.0 * (double)guest->culprits[c].steal_ns /
				window_ns;
			pg->culprits[pg->culprit_count++] = guest->culprits[c];
		}
		filled++;
	}
	return filled;
}
