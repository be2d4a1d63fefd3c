/* SPDX-License-Identifier: GPL-2.0-only */
/* The CPU controller's input (policy.h) read from the model's report. */
#ifndef KVMWARDEN_POLICY_GUESTS_H
#define KVMWARDEN_POLICY_GUESTS_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stddef.h>

#include "model/model.h"
#include "policy/policy.h"

/* The controller's view of a report: live guests only, at most
 * POLICY_MAX_GUESTS. Returns how many were filled. */
size_t policy_guests_from_report(const struct report *report,
				 struct policy_guest *out, size_t cap);

/* What identifies a guest to either controller (policy.h, policy_io.h),
 * copied from the report: its name, UUID and cgroup (buffers of
 * PROCFS_NAME_LEN, PROCFS_UUID_LEN and PROCFS_PATH_LEN) and its claim. */
void policy_guests_identity(const struct report_guest *guest, char *name,
			    char *uuid, char *cgroup,
			    struct guest_claim *claim);

#endif
