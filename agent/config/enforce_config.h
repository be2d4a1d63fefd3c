/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The enforcement part of the configuration: budgets per guest class, the
 * cgroup roots kvmwarden may write, the controller's tuning and where the
 * undo state and the audit trail go, and what they mean for a guest or a
 * cgroup path. The keys are parsed by enforce_keys.c, from the same YAML
 * document as the rest (config.c hands them over); no I/O here.
 */
#ifndef KVMWARDEN_ENFORCE_CONFIG_H
#define KVMWARDEN_ENFORCE_CONFIG_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ENFORCE_MAX_BUDGETS 32
#define ENFORCE_MAX_CLASSES 8
#define ENFORCE_MAX_ROOTS 8
#define ENFORCE_NAME_LEN 48
#define ENFORCE_PATH_LEN 256
#define ENFORCE_MAX_CGROUP_GUESTS 16
#define ENFORCE_MAX_TRUSTED_USERS 16
/* Names or globs in each of steering's lists. */
#define ENFORCE_MAX_STEER_NAMES 16
#define ENFORCE_STEER_NAME_LEN 64

struct budget {
	/* A shell glob on the guest's name, or its UUID (exact). */
	char match[ENFORCE_PATH_LEN];
	char class_name[ENFORCE_NAME_LEN];
	int class_rank; /* index in classes: 0 is the most important */
	uint32_t max_steal_percent; /* worst vCPU, percent of wall time */
	uint32_t max_wait_p99_ms; /* 0: not budgeted */
	/* cgroup v2 weight (1..10000) the victim is raised to first; v1
	 * shares are weight * 1024 / 100. 0: skip that rung. */
	uint32_t cpu_weight;
	bool throttle_lower_class_guests;
	/* Host cgroups (paths as /proc/PID/cgroup shows them) whose members
	 * may be throttled for this guest. Each must lie under a root. */
	char throttle_roots[ENFORCE_MAX_ROOTS][ENFORCE_PATH_LEN];
	size_t throttle_root_count;
	size_t line; /* where it starts in the file, for later complaints */
	/* I/O: the guest's queue-wait p99 on any one device, in µs (the
	 * key is max_io_queue_p99_ms, decimals allowed: fast devices queue
	 * for microseconds; 0: not budgeted), and the I/O weight (v2 scale
	 * 1..10000, v1 up to 1000) it is raised to first where the kernel
	 * has a weight file (0: skip that rung). */
	uint32_t max_io_queue_p99_us;
	uint32_t io_weight;
	/* Hidden steal (interrupt and softirq time taken while a vCPU was
	 * current), the worst vCPU's, percent of wall time like
	 * max_steal_percent; 0: not budgeted. Acted on by steering the
	 * culprits the steering allow-list names (policy_steer.h). */
	uint32_t max_hidden_steal_percent;
};

/* What steering may move off a protected guest's CPUs: network devices
 * (their receive steering, rps_cpus) and IRQs (by action name), each a
 * name or a shell glob. Nothing else is ever moved. */
struct steering_config {
	char devices[ENFORCE_MAX_STEER_NAMES][ENFORCE_STEER_NAME_LEN];
	size_t device_count;
	char irqs[ENFORCE_MAX_STEER_NAMES][ENFORCE_STEER_NAME_LEN];
	size_t irq_count;
	size_t line; /* where it is, for the cross-key checks */
};

/* A container or service protected like a VM: its processes' threads are
 * measured as the guest's vCPUs. */
struct cgroup_guest {
	char name[ENFORCE_NAME_LEN];
	char cgroup[ENFORCE_PATH_LEN]; /* as /proc/PID/cgroup shows it */
};

struct enforce_config {
	struct budget budgets[ENFORCE_MAX_BUDGETS];
	size_t budget_count;
	/* Most important first. A guest no budget matches is of the default
	 * class, with no budget of its own: it is only measured, and it may
	 * be throttled for guests of a higher class. */
	char classes[ENFORCE_MAX_CLASSES][ENFORCE_NAME_LEN];
	size_t class_count;
	char default_class[ENFORCE_NAME_LEN];
	/* The only cgroups ever written: these and what lies below them. */
	char roots[ENFORCE_MAX_ROOTS][ENFORCE_PATH_LEN];
	size_t root_count;
	size_t default_class_line; /* lines, for the cross-key checks */
	size_t state_file_line;
	size_t audit_log_line;
	size_t roots_line;
	uint32_t min_quota_percent; /* floor of a culprit's CPU cap, of one CPU */
	uint32_t quota_step_percent; /* a cap shrinks by this much per step */
	uint32_t hysteresis_percent; /* relax only below budget * (1 - this) */
	uint32_t cooldown_ms; /* budget held this long before relaxing */
	bool separate_cpus; /* last rung: the culprit off the victim's CPUs */
	/* Write the files of cgroups libvirt or systemd own directly, though
	 * they are theirs to write (single-writer rule), instead of through
	 * systemd (libvirt's machines still go through libvirt when it
	 * answers; enforce_route.h). */
	bool write_managed_cgroups;
	struct cgroup_guest cgroup_guests[ENFORCE_MAX_CGROUP_GUESTS];
	size_t cgroup_guest_count;
	char state_file[ENFORCE_PATH_LEN];
	char audit_log[ENFORCE_PATH_LEN];
	/* Floor of a culprit's I/O cap, in requests per second each way. */
	uint32_t min_io_iops;
	/* Who a guest is (README "Who a guest is"): a name or UUID from the
	 * VMM's own command line matches budgets only when
	 * trust_self_declared is set, or the VMM runs as one of these uids
	 * (trusted_vmm_users, names resolved when the file is read; default
	 * root, who could as well put itself in a manager's cgroup). */
	bool trust_self_declared;
	uint32_t trusted_vmm_uids[ENFORCE_MAX_TRUSTED_USERS];
	size_t trusted_vmm_uid_count;
	size_t trusted_vmm_users_line;
	struct steering_config steering;
};

/* Whether steering may move device `name`'s receive steering, or IRQ
 * action `name` (irq true): it matches an entry of the allow-list. */
bool enforce_config_steerable(const struct enforce_config *enforce, bool irq,
			      const char *name);
/* Whether some budget sets max_hidden_steal_percent. */
bool enforce_config_has_hidden_budget(const struct enforce_config *enforce);

/* Every default: three classes (high, normal, low), the default one
 * normal, no budget, no root, root the only trusted VMM user. */
void enforce_config_defaults(struct enforce_config *enforce);
/* A cgroup path kvmwarden may later join to a mount point: absolute, no
 * empty, "." or ".." component, no control character, and not the root
 * itself. */
bool enforce_config_path_valid(const char *path);
/* `name`'s index in classes (0: the most important), or -1. */
int enforce_config_class_index(const struct enforce_config *enforce,
			       const char *name);

/* The budget for a guest: the first whose match fits its name or UUID,
 * else NULL. */
const struct budget *
enforce_config_budget_for(const struct enforce_config *enforce,
			  const char *name, const char *uuid);
/* The class rank of a guest: its budget's, else the default class's. */
int enforce_config_class_rank(const struct enforce_config *enforce,
			      const char *name, const char *uuid);

struct guest_claim; /* model.h */
/* Whether budgets may match a guest by the name and UUID it has: not when
 * another live guest claims them too; always when a manager or the
 * configuration gave them; for a self-declared one, per
 * trust_self_declared and trusted_vmm_users. */
bool enforce_config_claim_trusted(const struct enforce_config *enforce,
				  const struct guest_claim *claim);
/* enforce_config_budget_for and enforce_config_class_rank for a guest with `claim`: an
 * untrusted one matches no budget and is of the default class. */
const struct budget *
enforce_config_budget_for_claim(const struct enforce_config *enforce,
				const char *name, const char *uuid,
				const struct guest_claim *claim);
int enforce_config_class_rank_claim(const struct enforce_config *enforce,
				    const char *name, const char *uuid,
				    const struct guest_claim *claim);
/* True when cgroup path `path` is `root` or lies below it. */
bool enforce_config_path_under(const char *path, const char *root);
/* True when `path` is under one of the configured roots. */
bool enforce_config_path_allowed(const struct enforce_config *enforce,
				 const char *path);
/* Who owns a cgroup, when a manager does: "libvirt" (a machine's cgroup),
 * "systemd" (a unit's: a component named *.service, *.scope, *.slice),
 * else NULL. */
const char *enforce_config_path_manager(const char *path);
/* Whether `path` is a systemd unit's own cgroup: valid, and its last
 * component is named *.service, *.scope or *.slice (a cgroup below a unit
 * is the unit's delegatee's or systemd's internals, not a unit). */
bool enforce_config_path_is_unit(const char *path);
/* Allowed, and not a manager's unless write_managed_cgroups says so: the
 * test every cgroup write passes. */
bool enforce_config_path_writable(const struct enforce_config *enforce,
				  const char *path);

#endif
