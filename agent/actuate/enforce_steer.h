/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Hidden-steal enforcement as the agent runs it, beside the CPU and I/O
 * sides: each interval's report through policy_steer.c, its settings made
 * real as rps_cpus and smp_affinity_list files (actuate_steer.h) that
 * avoid the CPUs the victim's vCPUs may run on, each file through
 * enforce_write.h's journaled, audited step, put back on stop and by
 * `kvmwarden restore` like any other.
 */
#ifndef KVMWARDEN_ENFORCE_STEER_H
#define KVMWARDEN_ENFORCE_STEER_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actuate/enforce_write.h"
#include "model/model.h"
#include "policy/policy_steer.h"

struct steer_managed {
	struct managed_file file;
	uint64_t wanted_at; /* the step that last asked for it */
	bool refused; /* a managed IRQ: the kernel refuses, never retried */
	bool said_full; /* "no CPU would be left" said once */
};

/* A device's received packets, for telling a busy target from an idle
 * one (policy_steer_note_busy). */
struct steer_traffic {
	char device[POLICY_STEER_NAME_LEN];
	uint64_t rx_packets;
	uint64_t seen_at_ms;
};

struct enforce_steer {
	struct enforce_writer *writer; /* the enforcer's */
	struct policy_steer policy;
	struct policy_steer_result result;
	/* What may be written: device steering needs /sys/class/net
	 * writable and CAP_NET_ADMIN, IRQ affinity /proc/irq writable. A
	 * hidden-steal budget the host does not allow is off, said once. */
	bool devices_allowed, irqs_allowed;
	struct steer_managed *files;
	size_t file_count, file_cap;
	struct steer_traffic traffic[POLICY_STEER_MAX_SETTINGS];
	size_t traffic_count;
	uint64_t steps;
};

/* NULL when no budget sets max_hidden_steal_percent, or out of memory.
 * In enforce mode, checks what the host lets it write and says what it
 * cannot. */
struct enforce_steer *enforce_steer_start(struct enforce_writer *writer);
/* A reload: the ladders keep their state; a hidden budget added or
 * removed starts or stops the side. */
struct enforce_steer *enforce_steer_reload(struct enforce_steer *steer,
					   struct enforce_writer *writer);
/* Decides, audits and, in enforce mode, applies. Returns how many values
 * are in force. `steer` may be NULL. */
size_t enforce_steer_step(struct enforce_steer *steer,
			  const struct report *report, uint64_t now_ms);
/* Puts every value back; returns how many could not be. Frees. */
size_t enforce_steer_stop(struct enforce_steer *steer);
/* Whether the configuration asks for device steering, which needs
 * CAP_NET_ADMIN kept after start-up (run_servers.c). */
bool enforce_steer_wants_net_admin(const struct enforce_config *enforce);

#endif
