/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The controller: budgets and one window's figures in, the settings that
 * should be in force (and the changes that lead there, with reasons) out.
 * Pure: no I/O, no clock; time is counted in intervals, so cmocka drives
 * it with synthetic step and square-wave inputs. Writing the settings is
 * actuate_cgroup.c's job, remembering the old values journal.c's.
 */
#ifndef KVMWARDEN_POLICY_H
#define KVMWARDEN_POLICY_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/enforce_config.h"
#include "model/model.h"
#include "policy/victim_slot.h"

#define POLICY_MAX_GUESTS 64
#define POLICY_MAX_CULPRITS 8
/* Culprits capped for one victim at once: the next is capped only when
 * the ones before are at the floor and the budget still breaks. */
#define POLICY_MAX_CAPS 4
#define POLICY_MAX_SETTINGS (2 * POLICY_MAX_GUESTS)
#define POLICY_MAX_ACTIONS (2 * POLICY_MAX_GUESTS)
#define POLICY_REASON_LEN 768
/* A cap at or above one whole CPU is no cap: it is lifted instead. */
#define POLICY_QUOTA_NONE 100

/* One guest's figures over a window, as the controller sees them. */
struct policy_guest {
	char name[PROCFS_NAME_LEN];
	char uuid[PROCFS_UUID_LEN];
	char cgroup[PROCFS_PATH_LEN];
	struct guest_claim claim; /* budgets match only a trusted one */
	double steal_percent; /* the worst vCPU's, of the window */
	double wait_p99_ms; /* over all vCPUs' waits */
	size_t culprit_count; /* largest first */
	struct report_culprit culprits[POLICY_MAX_CULPRITS];
	/* Each culprit's steal as a percent of the window: about the CPU it
	 * took where the victim waited, which a first cap starts from. */
	double culprit_percent[POLICY_MAX_CULPRITS];
	int vcpu_tids[POLICY_MAX_VCPUS]; /* live ones, for CPU separation */
	size_t vcpu_tid_count;
};

enum policy_knob {
	POLICY_KNOB_CPU_WEIGHT = 0, /* cgroup v2 scale, 1..10000 */
	POLICY_KNOB_CPU_QUOTA = 1, /* percent of one CPU */
	/* The cgroup's tasks kept off the CPUs avoid_tids may run on. */
	POLICY_KNOB_SEPARATE = 2,
	/* policy_io.c's, per device: an IOPS cap each way, an I/O weight
	 * (v2 scale 1..10000). */
	POLICY_KNOB_IO_IOPS = 3,
	POLICY_KNOB_IO_WEIGHT = 4,
	/* policy_steer.c's: a device's receive steering (its rx queues'
	 * rps_cpus) and an IRQ's affinity, kept off a victim's CPUs. */
	POLICY_KNOB_RPS_CPUS = 5,
	POLICY_KNOB_IRQ_AFFINITY = 6,
};

/* A value that should be in force on a cgroup. */
struct policy_setting {
	char cgroup[PROCFS_PATH_LEN];
	enum policy_knob knob;
	uint32_t value;
	int avoid_tids[POLICY_MAX_VCPUS]; /* POLICY_KNOB_SEPARATE only */
	size_t avoid_tid_count;
};

enum policy_verb {
	POLICY_RAISE_WEIGHT = 0,
	POLICY_CAP_QUOTA,
	POLICY_RELAX_QUOTA,
	POLICY_LIFT_QUOTA,
	POLICY_RESTORE_WEIGHT,
	POLICY_NO_CULPRIT, /* over budget, nothing may be throttled */
	POLICY_SEPARATE_CPUS, /* the culprit's tasks off the victim's CPUs */
	POLICY_JOIN_CPUS, /* and back */
};

/* A change this interval, for the log and the audit trail. */
struct policy_action {
	enum policy_verb verb;
	char victim[PROCFS_NAME_LEN];
	char target[PROCFS_PATH_LEN]; /* the cgroup changed, "" for none */
	uint32_t from, to; /* the knob's values (0: not set by us) */
	char reason[POLICY_REASON_LEN];
};

/* One culprit capped for a victim. */
struct policy_cap {
	char cgroup[PROCFS_PATH_LEN];
	uint32_t quota_percent;
	bool pressing; /* its cap throttled it this interval */
	bool separated; /* kept off the victim's CPUs */
};

/* Where a victim stands on its ladder. */
struct policy_victim {
	struct victim_slot slot; /* first: victim_slot_for finds it there */
	char weight_cgroup[PROCFS_PATH_LEN]; /* "" until raised */
	uint32_t weight;
	struct policy_cap caps[POLICY_MAX_CAPS]; /* in the order capped */
	size_t cap_count;
	int direction; /* +1 escalating, -1 relaxing, 0 never changed */
	uint64_t direction_since; /* interval of the last change of direction */
	uint64_t changed_at; /* interval of the last change */
	uint32_t held_intervals; /* consecutive intervals below the off line */
	bool blocked_logged; /* "no culprit" said once per episode */
};

struct policy {
	const struct enforce_config *config;
	/* libvirtd answers: a libvirt machine's cgroup can be acted on
	 * through its API (actuate_libvirt.h), so it is a target too. */
	bool libvirt_backend;
	/* systemd answers on its bus: a unit's own cgroup can be acted on
	 * through its properties (actuate_systemd.h), so it is a target. */
	bool systemd_backend;
	uint32_t cooldown_intervals;
	uint64_t interval; /* how many steps have run */
	struct policy_victim victims[POLICY_MAX_GUESTS];
};

struct policy_result {
	struct policy_setting settings[POLICY_MAX_SETTINGS];
	size_t setting_count;
	struct policy_action actions[POLICY_MAX_ACTIONS];
	size_t action_count;
};

/* `config` must outlive the policy; a reload calls this again with the new
 * one, keeping the victims' state. */
void policy_init(struct policy *policy, const struct enforce_config *config,
		 uint32_t interval_ms);
void policy_set_config(struct policy *policy,
		       const struct enforce_config *config,
		       uint32_t interval_ms);
/* One interval: every guest's figures in, the settings to keep in force
 * and this step's changes out. */
void policy_step(struct policy *policy, const struct policy_guest *guests,
		 size_t guest_count, struct policy_result *result);
/* Before a step: the kernel throttled `cgroup` against the cap we set in
 * the last interval (cpu.stat's nr_throttled grew). A capped culprit that
 * presses its cap is still a culprit even when the attribution shows it
 * small, which is what the cap is for. */
void policy_note_throttled(struct policy *policy, const char *cgroup);
/* "raise_weight", "cap_quota", ... */
const char *policy_verb_name(enum policy_verb verb);
const char *policy_knob_name(enum policy_knob knob);

#endif
