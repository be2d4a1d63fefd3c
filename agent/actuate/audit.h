/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The audit trail of enforcement: every action (and, in monitor mode,
 * every action that would have been taken) goes to stderr with a syslog
 * priority prefix, to an append-only JSON-lines file, and into the
 * kvmwarden_actions_total{action,mode} counter /metrics serves.
 */
#ifndef KVMWARDEN_AUDIT_H
#define KVMWARDEN_AUDIT_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config/config.h"

/* What is counted: the policy's verbs, then the actuator's own events. */
enum audit_action {
	AUDIT_RAISE_WEIGHT = 0, /* = enum policy_verb, in order */
	AUDIT_CAP_QUOTA,
	AUDIT_RELAX_QUOTA,
	AUDIT_LIFT_QUOTA,
	AUDIT_RESTORE_WEIGHT,
	AUDIT_NO_CULPRIT,
	AUDIT_SEPARATE_CPUS,
	AUDIT_JOIN_CPUS,
	AUDIT_OUTSIDE_CHANGE, /* someone else changed a value we set */
	AUDIT_WRITE_FAILED,
	AUDIT_RESTORE, /* an original put back at stop or by restore */
	AUDIT_ACTION_COUNT,
};

struct audit {
	FILE *file; /* NULL: not open (yet) */
	char path[ENFORCE_PATH_LEN]; /* "": stderr and the counter only */
	bool tried; /* opening was attempted: at most one warning */
};

/* Remembers the path; the file (and its directory) is made at the first
 * event, so an agent that never acts leaves nothing on disk. Failing to
 * open it then is one warning, and auditing goes on to stderr. */
void audit_open(struct audit *audit, const char *path);
void audit_close(struct audit *audit);
/* One event. `target` is a cgroup path or ""; from/to are the knob's
 * values as text ("" when none). */
void audit_event(struct audit *audit, enum config_mode mode,
		 enum audit_action action, const char *victim,
		 const char *target, const char *knob, const char *from,
		 const char *to, const char *reason);
/* The same, naming the value a manager's backend holds it in
 * ("systemd:UNIT/PROPERTY", "libvirt:..."): " via ENTRY" on stderr, an
 * "entry" key in the file. "" is audit_event. */
void audit_event_entry(struct audit *audit, enum config_mode mode,
		       enum audit_action action, const char *victim,
		       const char *target, const char *knob, const char *entry,
		       const char *from, const char *to, const char *reason);
const char *audit_action_name(enum audit_action action);
/* How many values enforcement has changed and not yet put back (cgroup
 * files and task affinities): the kvmwarden_enforcement_in_force gauge. */
void audit_set_in_force(uint64_t values);
/* The counter family in Prometheus text; safe on the HTTP thread. */
void audit_write_metrics(FILE *out);
/* For tests: the count so far. */
uint64_t audit_count(enum audit_action action, enum config_mode mode);

#endif
