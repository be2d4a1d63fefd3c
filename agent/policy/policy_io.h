/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The I/O controller: like policy.c's CPU ladder, per (victim, device).
 * When a guest's queue-wait p99 on a device breaks its budget and the
 * requests it waited behind include a culprit its budget may throttle (a
 * host cgroup under its throttle roots, or a lower-class guest), the
 * victim's I/O weight is raised (where the kernel has a weight) and then
 * the culprit's IOPS on that device are capped, starting from what it
 * did and stepping down to a floor. Same hysteresis, cool-down and
 * relaxing as the CPU ladder. Pure: no I/O, no clock.
 */
#ifndef KVMWARDEN_POLICY_IO_H
#define KVMWARDEN_POLICY_IO_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/enforce_config.h"
#include "policy/policy.h"

#define POLICY_IO_MAX_DEVICES 8
#define POLICY_IO_MAX_CULPRITS 8
#define POLICY_IO_MAX_CAPS 4
#define POLICY_IO_MAX_LADDERS 64
#define POLICY_IO_MAX_SETTINGS 128
#define POLICY_IO_MAX_ACTIONS 128

/* Someone the victim's requests waited behind on one device. */
struct policy_io_culprit {
	uint32_t kind; /* enum io_culprit_kind */
	char name[PROCFS_PATH_LEN]; /* a guest's name or a host cgroup */
	double blocked_ms; /* the victim's wait behind it in the window */
	double iops; /* what the culprit did on the device, per second */
};

struct policy_io_device {
	uint32_t dev; /* the kernel's dev_t */
	char device[24]; /* "MAJ:MIN" */
	double queue_p99_ms;
	size_t culprit_count; /* largest blocked_ms first */
	struct policy_io_culprit culprits[POLICY_IO_MAX_CULPRITS];
};

struct policy_io_guest {
	char name[PROCFS_NAME_LEN];
	char uuid[PROCFS_UUID_LEN];
	char cgroup[PROCFS_PATH_LEN];
	struct guest_claim claim; /* budgets match only a trusted one */
	size_t device_count;
	struct policy_io_device devices[POLICY_IO_MAX_DEVICES];
};

/* A value that should be in force: POLICY_KNOB_IO_IOPS (both directions
 * capped at `value` requests per second) or POLICY_KNOB_IO_WEIGHT (v2
 * scale) of `cgroup` on device `device`. */
struct policy_io_setting {
	char cgroup[PROCFS_PATH_LEN];
	char device[24];
	enum policy_knob knob;
	uint32_t value;
};

struct policy_io_cap {
	char cgroup[PROCFS_PATH_LEN];
	uint32_t iops;
	uint32_t start_iops; /* relaxing to this or above lifts the cap */
};

/* A victim's ladder on one device. */
struct policy_io_ladder {
	bool in_use;
	bool seen;
	uint64_t windows;
	char name[PROCFS_NAME_LEN];
	char uuid[PROCFS_UUID_LEN];
	char device[24];
	char weight_cgroup[PROCFS_PATH_LEN]; /* "" until raised */
	uint32_t weight;
	struct policy_io_cap caps[POLICY_IO_MAX_CAPS];
	size_t cap_count;
	int direction; /* +1 escalating, -1 relaxing, 0 never changed */
	uint64_t direction_since;
	uint32_t held_intervals;
	bool blocked_logged;
};

struct policy_io {
	const struct enforce_config *config;
	uint32_t cooldown_intervals;
	uint64_t interval;
	/* The kernel has an I/O weight file: the weight rung is skipped
	 * without one rather than spent on nothing. */
	bool weight_available;
	/* As struct policy's: a systemd unit is a target through systemd. */
	bool systemd_backend;
	struct policy_io_ladder ladders[POLICY_IO_MAX_LADDERS];
};

struct policy_io_result {
	struct policy_io_setting settings[POLICY_IO_MAX_SETTINGS];
	size_t setting_count;
	/* verb: RAISE_WEIGHT, CAP_QUOTA (an IOPS cap), RELAX_QUOTA,
	 * LIFT_QUOTA, RESTORE_WEIGHT, NO_CULPRIT; target is the cgroup,
	 * from/to IOPS or weights. */
	struct policy_action actions[POLICY_IO_MAX_ACTIONS];
	char action_device[POLICY_IO_MAX_ACTIONS][24]; /* per action */
	size_t action_count;
};

void policy_io_init(struct policy_io *policy,
		    const struct enforce_config *config, uint32_t interval_ms,
		    bool weight_available);
void policy_io_set_config(struct policy_io *policy,
			  const struct enforce_config *config,
			  uint32_t interval_ms);
void policy_io_step(struct policy_io *policy,
		    const struct policy_io_guest *guests, size_t guest_count,
		    struct policy_io_result *result);
/* The controller's view of a report's I/O: live guests with I/O, their
 * cgroups from the report's guests. Returns how many were filled. */
size_t policy_io_guests_from_report(const struct report *report,
				    struct policy_io_guest *out, size_t cap);

#endif
