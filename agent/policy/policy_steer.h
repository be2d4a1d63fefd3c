/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The hidden-steal controller: when a guest's worst vCPU loses more than
 * its budget's max_hidden_steal_percent to interrupts and softirqs, the
 * culprits the steering allow-list names are moved off the CPUs its vCPUs
 * may run on, one per interval: a device's receive steering (rps_cpus) or
 * an IRQ's affinity. Same hysteresis, cool-down and dead band as the CPU
 * ladder (ladder.h). Pure: which CPUs those are, and the masks, are the
 * actuator's (enforce_steer.c); here a target is a name and the victim's
 * vCPU tids.
 */
#ifndef KVMWARDEN_POLICY_STEER_H
#define KVMWARDEN_POLICY_STEER_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/enforce_config.h"
#include "model/model.h"
#include "policy/policy.h"
#include "policy/victim_slot.h"

#define POLICY_STEER_MAX_CULPRITS 8
/* Targets steered for one victim at once, the first one steered first:
 * relaxing one per interval ends within the cool-down plus 4 intervals,
 * inside the CPU ladder's bound. */
#define POLICY_STEER_MAX_TARGETS 4
#define POLICY_STEER_MAX_SETTINGS (POLICY_STEER_MAX_TARGETS * 16)
#define POLICY_STEER_MAX_ACTIONS (2 * POLICY_MAX_GUESTS)
#define POLICY_STEER_NAME_LEN (IRQ_NAME_LEN + 1)

enum policy_steer_kind {
	POLICY_STEER_DEVICE = 0, /* receive steering of its rx queues */
	POLICY_STEER_IRQ = 1, /* the affinity of IRQs by action name */
};

/* A culprit of a victim's hidden steal, merged over its vCPUs. */
struct policy_steer_culprit {
	enum hidden_culprit_kind kind; /* as the report shows it */
	char name[PROCFS_NAME_LEN]; /* as the report shows it */
	/* What steering would move: the device (a guest's tap for kind
	 * guest) or the IRQ action; "" when the report did not say. */
	char target[POLICY_STEER_NAME_LEN];
	uint32_t netns; /* devices' namespace inode; 0 when not known */
	double percent; /* its time on the vCPUs, percent of the window */
};

struct policy_steer_guest {
	char name[PROCFS_NAME_LEN];
	char uuid[PROCFS_UUID_LEN];
	struct guest_claim claim; /* budgets match only a trusted one */
	double hidden_percent; /* the worst vCPU's, of the window */
	size_t culprit_count; /* largest first */
	struct policy_steer_culprit culprits[POLICY_STEER_MAX_CULPRITS];
	int vcpu_tids[POLICY_MAX_VCPUS]; /* live ones: the protected CPUs */
	size_t vcpu_tid_count;
};

/* A target that should be kept off the CPUs avoid_tids may run on; two
 * victims steering one target add their tids up. */
struct policy_steer_setting {
	enum policy_steer_kind kind;
	char name[POLICY_STEER_NAME_LEN];
	int avoid_tids[POLICY_MAX_VCPUS];
	size_t avoid_tid_count;
};

struct policy_steer_target {
	enum policy_steer_kind kind;
	char name[POLICY_STEER_NAME_LEN];
	/* Still carries traffic (policy_steer_note_busy): put back, it
	 * would bring the steal back, so relaxing leaves it be. */
	bool busy;
};

struct policy_steer_victim {
	struct victim_slot slot; /* first: victim_slot_for finds it there */
	struct policy_steer_target targets[POLICY_STEER_MAX_TARGETS];
	size_t target_count;
	int direction;
	uint64_t direction_since;
	uint32_t held_intervals;
	bool blocked_logged;
};

struct policy_steer {
	const struct enforce_config *config;
	uint32_t cooldown_intervals;
	uint64_t interval;
	/* The agent's network namespace (inode): only its devices have
	 * files under its /sys/class/net. 0: every namespace is taken as
	 * its own. */
	uint32_t host_netns;
	/* What the host lets the actuator write (enforce_steer.c): a kind
	 * it cannot is never a target. */
	bool device_steering, irq_steering;
	struct policy_steer_victim victims[POLICY_MAX_GUESTS];
};

struct policy_steer_result {
	struct policy_steer_setting settings[POLICY_STEER_MAX_SETTINGS];
	size_t setting_count;
	/* verb SEPARATE_CPUS (steered away), JOIN_CPUS (put back) or
	 * NO_CULPRIT; target is the device or IRQ name, action_knob[i] says
	 * which it is. */
	struct policy_action actions[POLICY_STEER_MAX_ACTIONS];
	enum policy_knob action_knob[POLICY_STEER_MAX_ACTIONS];
	size_t action_count;
};

void policy_steer_init(struct policy_steer *policy,
		       const struct enforce_config *config,
		       uint32_t interval_ms);
void policy_steer_set_config(struct policy_steer *policy,
			     const struct enforce_config *config,
			     uint32_t interval_ms);
/* One interval (guests with a hidden-steal budget are acted for). */
void policy_steer_step(struct policy_steer *policy,
		       const struct policy_steer_guest *guests,
		       size_t guest_count, struct policy_steer_result *result);
/* Before a step: target `name` of `kind` still carries traffic. */
void policy_steer_note_busy(struct policy_steer *policy,
			    enum policy_steer_kind kind, const char *name);
/* The knob a kind of target is journaled and audited as. */
enum policy_knob policy_steer_knob(enum policy_steer_kind kind);

#endif
