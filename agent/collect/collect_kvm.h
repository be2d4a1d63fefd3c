/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Collection of the KVM telemetry: which processes the KVM programs count,
 * their counters into the guest table, and each part's availability.
 */
#ifndef KVMWARDEN_COLLECT_KVM_H
#define KVMWARDEN_COLLECT_KVM_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collect/tracker.h"

/* What collection reads from the KVM programs' maps in one call. */
struct collect_kvm_reading {
	/* NULL: the KVM telemetry is not loaded, nothing else was read. */
	const struct kvm_attach_status *status;
	struct kvm_loader_count *counts; /* NULL: could not be read */
	size_t count;
	uint64_t stats[KVM_STAT_COUNT];
	bool have_stats;
};

/* Reads the KVM maps into `out` (collect_kvm_reading_free frees it). */
void collect_kvm_read(struct tracker *tracker, struct collect_kvm_reading *out);
void collect_kvm_reading_free(struct collect_kvm_reading *reading);
/* Updates the table from `reading`: each guest's KVM counters and every
 * part's availability; notes a part becoming (un)available, once. Drops
 * the counters of guests pruned from the table. */
void collect_kvm_apply(struct tracker *tracker,
		       const struct collect_kvm_reading *reading);
/* Tells the KVM programs which processes are guests now: a guest's
 * counting starts with the pass that finds it. */
void collect_kvm_sync_guests(struct tracker *tracker);
/* Says which KVM tracepoints are attached, and how. */
void collect_kvm_log_attach(const struct tracker *tracker);

#endif
