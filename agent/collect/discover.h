/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Discovery: which processes are guests and which of their threads to
 * track. vCPUs come from a kernel fact (the thread is inside KVM_RUN, seen
 * by the BPF task iterator); the VMM's other threads from /proc.
 */
#ifndef KVMWARDEN_DISCOVER_H
#define KVMWARDEN_DISCOVER_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdint.h>

#include "collect/tracker.h"
/* Until every caller includes what it uses: collect_pass and the KVM
 * collection used to be declared here. */
#include "collect/collect.h"
#include "collect/collect_kvm.h"

/* One discovery pass: finds new guests and threads, registers them with
 * BPF, notices exits. Returns 0 or a negative errno from the BPF side;
 * vanished processes are not errors. */
int discover_pass(struct tracker *tracker, uint64_t now_ns);

#endif
