/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Probing tracefs for the kvm tracepoints the KVM telemetry attaches to.
 */
#ifndef KVMWARDEN_KVM_TRACEFS_H
#define KVMWARDEN_KVM_TRACEFS_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stdint.h>

#include "model/kvm_telemetry.h"

/* Which events attach as classic tracepoints (they need tracefs), with
 * their ids, and why each one that cannot is missing. `tracefs` overrides
 * where tracefs is looked for; NULL: the KVMWARDEN_TRACEFS variable, then
 * the mounts. */
void kvm_tracefs_probe_events(const char *tracefs,
			      bool classic[KVM_EVENT_COUNT],
			      uint64_t ids[KVM_EVENT_COUNT],
			      char why[KVM_EVENT_COUNT][256]);

#endif
