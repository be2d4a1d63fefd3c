/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Percentiles from the log2 wait histograms that BPF fills (bucket edges
 * from sched_wait_slot() in bpf/sched.h). Pure functions.
 */
#ifndef KVMWARDEN_HIST_H
#define KVMWARDEN_HIST_H

#include <stdint.h>

#include "sched.h"

/* Lower edge of bucket `slot` in ns (slot 0 starts at 0). */
uint64_t hist_slot_low_ns(unsigned int slot);
/* The value at quantile q (0 < q <= 1), interpolated linearly inside its
 * bucket and never above max_ns when max_ns is non-zero. 0 when empty. */
uint64_t hist_quantile_ns(const uint64_t hist[SCHED_WAIT_SLOTS], double q,
			  uint64_t max_ns);

#endif
