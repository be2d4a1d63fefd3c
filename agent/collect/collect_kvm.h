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

#include "collect/tracker.h"

/* Copies the KVM counters and updates their availability; logs a part
 * becoming unavailable, once. */
void tracker_collect_kvm(struct tracker *tracker);
/* Tells the KVM programs which processes are guests now: a guest's
 * counting starts with the pass that finds it. */
void tracker_sync_kvm_guests(struct tracker *tracker);
/* Says which KVM tracepoints are attached, and how. */
void tracker_log_kvm(const struct tracker *tracker);

#endif
