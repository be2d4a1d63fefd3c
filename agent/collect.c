// SPDX-License-Identifier: GPL-2.0-only
/*
 * Collection: copies the BPF side's cumulative counters into the model.
 * No policy and no deltas here; counters are never reset by reading.
 */
#include <string.h>

#include "discover.h"

void tracker_collect_thread(struct tracker *tracker, struct thread *thread)
{
	const struct sched_thread_stats *live;
	struct thread_counters *out = &thread->counters;
	struct thread_counters now;

	if (thread->slot < 0 || !thread->attached)
		return;
	live = loader_thread_stats(tracker->loader, (uint32_t)thread->slot);
	if (!live)
		return;
	/* Each field is one aligned 64-bit load, so no value is torn; fields
	 * may be a switch apart, which no figure here depends on. */
	now.steal_ns = live->steal_ns;
	now.run_ns = live->run_ns;
	now.waits = live->waits;
	memcpy(now.wait_hist, live->wait_hist, sizeof(now.wait_hist));
	thread_counters_delta(&now, &now, &thread->base);
	out->steal_ns = now.steal_ns;
	out->waits = now.waits;
	out->wait_max_ns = live->wait_max_ns;
	memcpy(out->wait_hist, now.wait_hist, sizeof(out->wait_hist));
	/* run_ns is refreshed from two places (switch-out and the discovery
	 * pass) and a race can write an older value last: never go back. */
	if (now.run_ns > out->run_ns)
		out->run_ns = now.run_ns;
}

void tracker_collect(struct tracker *tracker)
{
	for (size_t i = 0; i < tracker->table.guest_count; i++) {
		struct guest *guest = &tracker->table.guests[i];

		for (size_t t = 0; t < guest->thread_count; t++)
			if (!guest->threads[t].exited)
				tracker_collect_thread(tracker,
						       &guest->threads[t]);
	}
}
