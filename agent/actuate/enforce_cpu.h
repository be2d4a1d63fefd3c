/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * CPU enforcement, beside enforce_io.h's I/O: each interval's report
 * through the policy, its settings (quotas, weights, separation from a
 * victim's CPUs) made real through the backend that owns each cgroup
 * (cgroupfs, libvirt's live API, systemd's unit properties, task
 * affinity), each through enforce_write.h's journaled step.
 */
#ifndef KVMWARDEN_ENFORCE_CPU_H
#define KVMWARDEN_ENFORCE_CPU_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stddef.h>
#include <stdint.h>

#include "actuate/actuate_cgroup.h"
#include "actuate/enforce_write.h"
#include "model/model.h"
#include "policy/policy.h"

struct enforce_cpu {
	struct enforce_writer *writer; /* the enforcer's */
	struct policy policy;
	struct policy_result result;
	struct cgroup_fs fs;
	struct managed_file *files;
	size_t file_count;
	size_t file_cap;
	size_t guest_count; /* this interval's, between observe and decide */
};

/* Before deciding: which capped culprits the kernel throttled, this
 * interval's guests, and whether libvirtd answers (logged on a change). */
void enforce_cpu_observe(struct enforce_cpu *cpu, const struct report *report,
			 uint64_t now_ms);
/* The policy's step over what observe saw; its actions audited. */
void enforce_cpu_decide(struct enforce_cpu *cpu);
/* Enforce mode: makes the decided settings real and puts back what is no
 * longer wanted. Returns how many CPU values are in force. */
size_t enforce_cpu_apply(struct enforce_cpu *cpu, uint64_t now_ms);
/* Puts every value back; returns how many could not be. Frees. */
size_t enforce_cpu_stop(struct enforce_cpu *cpu);

#endif
