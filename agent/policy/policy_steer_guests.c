// SPDX-License-Identifier: GPL-2.0-only
/*
 * The model's report read into the hidden-steal controller's input
 * (policy_steer.h): each live guest's worst vCPU's interrupt and softirq
 * time, and its vCPUs' culprits merged by what steering would move.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_guests.h"
#include "policy/policy_steer_guests.h"

/* What steering would move for a reported culprit: a guest's tap or a
 * device by the device's own name, an IRQ by its action's. */
static const char *target_of(const struct report_hidden_culprit *c)
{
	if (c->kind == HIDDEN_CULPRIT_IRQ)
		return c->name;
	if (c->device[0])
		return c->device;
	return c->kind == HIDDEN_CULPRIT_DEVICE ? c->name : "";
}

static void merge(struct policy_steer_culprit *all, size_t *count, size_t cap,
		  const struct report_hidden_culprit *c, double percent)
{
	const char *target = target_of(c);

	for (size_t i = 0; i < *count; i++)
		if (all[i].kind == c->kind && all[i].netns == c->netns &&
		    !strcmp(all[i].name, c->name) &&
		    !strcmp(all[i].target, target)) {
			all[i].percent += percent;
			return;
		}
	if (*count == cap)
		return;
	memset(&all[*count], 0, sizeof(all[*count]));
	all[*count].kind = c->kind;
	snprintf(all[*count].name, sizeof(all[*count].name), "%s", c->name);
	snprintf(all[*count].target, sizeof(all[*count].target), "%.*s",
		 (int)sizeof(all[*count].target) - 1, target);
	all[*count].netns = c->netns;
	all[*count].percent = percent;
	(*count)++;
}

static int larger_first(const void *a, const void *b)
{
	double x = ((const struct policy_steer_culprit *)a)->percent;
	double y = ((const struct policy_steer_culprit *)b)->percent;

	return x < y ? 1 : x > y ? -1 : 0;
}

/* Every culprit first (a vCPU may have many small ones that add up),
 * then the largest kept. */
#define MERGE_CAP 64

static void fill_guest(const struct report_guest *guest, double window_ns,
		       struct policy_steer_guest *out)
{
	struct policy_steer_culprit merged[MERGE_CAP];
	size_t merged_count = 0;
	uint64_t worst_ns = 0;
	char cgroup[PROCFS_PATH_LEN];

	memset(out, 0, sizeof(*out));
	policy_guests_identity(guest, out->name, out->uuid, cgroup,
			       &out->claim);
	for (size_t v = 0; v < guest->vcpu_count; v++) {
		const struct report_thread *t = &guest->vcpus[v];
		uint64_t hidden_ns = hidden_irq_ns(&t->delta.hidden) +
				     hidden_softirq_ns(&t->delta.hidden);

		if (hidden_ns > worst_ns)
			worst_ns = hidden_ns;
		if (!t->exited && out->vcpu_tid_count < POLICY_MAX_VCPUS)
			out->vcpu_tids[out->vcpu_tid_count++] = t->tid;
		for (size_t c = 0; c < t->hidden_culprit_count; c++)
			merge(merged, &merged_count, MERGE_CAP,
			      &t->hidden_culprits[c],
			      100.0 * (double)t->hidden_culprits[c].ns /
				      window_ns);
	}
	out->hidden_percent = 100.0 * (double)worst_ns / window_ns;
	qsort(merged, merged_count, sizeof(merged[0]), larger_first);
	for (size_t c = 0; c < merged_count && c < POLICY_STEER_MAX_CULPRITS;
	     c++)
		out->culprits[out->culprit_count++] = merged[c];
}

size_t policy_steer_guests_from_report(const struct report *report,
				       struct policy_steer_guest *out,
				       size_t cap)
{
	double window_ns = report->duration_ns ? (double)report->duration_ns :
						 1.0;
	size_t filled = 0;

	for (size_t i = 0; i < report->guest_count && filled < cap; i++) {
		if (report->guests[i].exited)
			continue;
		fill_guest(&report->guests[i], window_ns, &out[filled++]);
	}
	return filled;
}
