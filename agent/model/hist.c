// SPDX-License-Identifier: GPL-2.0-only
/* Quantiles of log2 histograms: rank the buckets, interpolate inside one. */
#include "model/hist.h"

uint64_t hist_slot_low_ns(unsigned int slot)
{
	if (slot == 0)
		return 0;
	if (slot >= 64)
		return UINT64_MAX;
	return 1ULL << slot;
}

static uint64_t slot_high_ns(unsigned int slot)
{
	/* The last bucket is open-ended; its upper edge is twice its lower
	 * one, and the recorded maximum caps the estimate anyway. */
	return slot == 0 ? 2 : 1ULL << (slot + 1);
}

uint64_t hist_quantile_ns(const uint64_t hist[SCHED_WAIT_SLOTS], double q,
			  uint64_t max_ns)
{
	uint64_t total = 0, seen = 0, estimate = 0;
	double rank;

	for (unsigned int i = 0; i < SCHED_WAIT_SLOTS; i++)
		total += hist[i];
	if (!total || q <= 0)
		return 0;
	if (q > 1)
		q = 1;
	rank = q * (double)total;
	for (unsigned int i = 0; i < SCHED_WAIT_SLOTS; i++) {
		uint64_t low = hist_slot_low_ns(i), high = slot_high_ns(i);
		double inside;

		if (!hist[i] || (double)(seen + hist[i]) < rank) {
			seen += hist[i];
			continue;
		}
		inside = (rank - (double)seen) / (double)hist[i];
		estimate = low + (uint64_t)(inside * (double)(high - low));
		break;
	}
	if (max_ns && estimate > max_ns)
		estimate = max_ns;
	return estimate;
}
