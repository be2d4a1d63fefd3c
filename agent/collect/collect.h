/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Collection: the BPF side's cumulative counters into the guest table,
 * once per call. It reads (through the tracker's collect_source), then
 * updates the model; it never discovers and never computes a window.
 */
#ifndef KVMWARDEN_COLLECT_H
#define KVMWARDEN_COLLECT_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include "collect/tracker.h"

/* Copies the live BPF counters into the table: attribution, CPU waits,
 * every live thread's counters, the KVM telemetry and hidden steal. */
void collect_pass(struct tracker *tracker);

#endif
