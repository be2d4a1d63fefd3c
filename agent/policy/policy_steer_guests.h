/* SPDX-License-Identifier: GPL-2.0-only */
/* The hidden-steal controller's input (policy_steer.h) read from the
 * model's report. */
#ifndef KVMWARDEN_POLICY_STEER_GUESTS_H
#define KVMWARDEN_POLICY_STEER_GUESTS_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stddef.h>

#include "model/model.h"
#include "policy/policy_steer.h"

/* The controller's view of a report: live guests, their worst vCPU's
 * hidden steal, their culprits merged over vCPUs (by kind, name, device
 * and namespace), largest first. Returns how many were filled. */
size_t policy_steer_guests_from_report(const struct report *report,
				       struct policy_steer_guest *out,
				       size_t cap);

#endif
