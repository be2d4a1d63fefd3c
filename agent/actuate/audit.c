// SPDX-License-Identifier: GPL-2.0-only
/*
 * Audit lines and counters. The counters are process-wide atomics: the
 * loop bumps them, the HTTP thread renders them, and neither waits.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <json-c/json.h>

#include "actuate/audit.h"
#include "base/log.h"
#include "collect/procfs.h"

static _Atomic uint64_t counts[AUDIT_ACTION_COUNT][2];
static _Atomic uint64_t in_force;

void audit_set_in_force(uint64_t values)
{
	atomic_store(&in_force, values);
}

static const char *const names[AUDIT_ACTION_COUNT] = {
	[AUDIT_RAISE_WEIGHT] = "raise_weight",
	[AUDIT_CAP_QUOTA] = "cap_quota",
	[AUDIT_RELAX_QUOTA] = "relax_quota",
	[AUDIT_LIFT_QUOTA] = "lift_quota",
	[AUDIT_RESTORE_WEIGHT] = "restore_weight",
	[AUDIT_NO_CULPRIT] = "no_allowed_culprit",
	[AUDIT_SEPARATE_CPUS] = "separate_cpus",
	[AUDIT_JOIN_CPUS] = "join_cpus",
	[AUDIT_OUTSIDE_CHANGE] = "outside_change",
	[AUDIT_WRITE_FAILED] = "write_failed",
	[AUDIT_RESTORE] = "restore",
};

const char *audit_action_name(enum audit_action action)
{
	return (unsigned int)action < AUDIT_ACTION_COUNT ? names[action] :
							   "unknown";
}

void audit_open(struct audit *audit, const char *path)
{
	audit->file = NULL;
	audit->tried = false;
	snprintf(audit->path, sizeof(audit->path), "%s", path);
}

static int open_file(struct audit *audit)
{
	const char *path = audit->path;
	char dir[ENFORCE_PATH_LEN];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0750) && errno != EEXIST)
			return -errno;
	}
	audit->file = fopen(path, "ae");
	if (!audit->file)
		return -errno;
	/* Line-buffered: a crash loses at most the line being written. */
	setvbuf(audit->file, NULL, _IOLBF, 0);
	return 0;
}

void audit_close(struct audit *audit)
{
	if (audit->file)
		fclose(audit->file);
	audit->file = NULL;
}

/* Outside changes and failures are warnings; actions taken are notices;
 * what monitor mode would have done is information. */
static enum log_priority priority(enum config_mode mode,
				  enum audit_action action)
{
	if (action == AUDIT_WRITE_FAILED)
		return LOG_PRIO_ERR;
	if (action == AUDIT_OUTSIDE_CHANGE || action == AUDIT_NO_CULPRIT)
		return LOG_PRIO_WARNING;
	return mode == CONFIG_MODE_ENFORCE ? LOG_PRIO_NOTICE : LOG_PRIO_INFO;
}

void audit_event(struct audit *audit, enum config_mode mode,
		 enum audit_action action, const char *victim,
		 const char *target, const char *knob, const char *from,
		 const char *to, const char *reason)
{
	audit_event_entry(audit, mode, action, victim, target, knob, "", from,
			  to, reason);
}

void audit_event_entry(struct audit *audit, enum config_mode mode,
		       enum audit_action action, const char *victim,
		       const char *target, const char *knob, const char *entry,
		       const char *from, const char *to, const char *reason)
{
	bool would = mode != CONFIG_MODE_ENFORCE &&
		     action < AUDIT_OUTSIDE_CHANGE;

	if ((unsigned int)action >= AUDIT_ACTION_COUNT)
		return;
	if (!audit->file && audit->path[0] && !audit->tried) {
		int err = open_file(audit);

		audit->tried = true;
		if (err)
			log_warn("audit log %s: %s; auditing to stderr only",
				 audit->path, strerror(-err));
	}
	atomic_fetch_add(&counts[action][mode == CONFIG_MODE_ENFORCE], 1);
	/* A cgroup path a tenant chose may hold a newline and "<0>": the
	 * line would forge another at any priority. Names are escaped at
	 * discovery already; paths and reasons are here. */
	char safe_target[2 * ENFORCE_PATH_LEN], safe_reason[512];

	procfs_escape_control(target, safe_target, sizeof(safe_target));
	procfs_escape_control(reason, safe_reason, sizeof(safe_reason));
	/* The documented action line: one write, its text unchanged. */
	log_line(priority(mode, action), "%s%s%s%s%s%s %s%s%s -> %s%s%s%s%s",
		 would ? "would " : "", names[action], victim[0] ? " for " : "",
		 victim, target[0] ? " on " : "", safe_target, knob,
		 from[0] || to[0] ? " " : "", from[0] ? from : "-",
		 to[0] ? to : "-", entry[0] ? " via " : "", entry,
		 reason[0] ? ": " : "", safe_reason);
	if (audit->file) {
		struct json_object *obj = json_object_new_object();
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		json_object_object_add(
			obj, "time",
			json_object_new_double((double)now.tv_sec +
					       (double)now.tv_nsec / 1e9));
		json_object_object_add(
			obj, "mode",
			json_object_new_string(config_mode_name(mode)));
		json_object_object_add(obj, "action",
				       json_object_new_string(names[action]));
		json_object_object_add(obj, "applied",
				       json_object_new_boolean(!would));
		json_object_object_add(obj, "victim",
				       json_object_new_string(victim));
		json_object_object_add(obj, "target",
				       json_object_new_string(target));
		json_object_object_add(obj, "knob",
				       json_object_new_string(knob));
		if (entry[0])
			json_object_object_add(obj, "entry",
					       json_object_new_string(entry));
		json_object_object_add(obj, "from",
				       json_object_new_string(from));
		json_object_object_add(obj, "to", json_object_new_string(to));
		json_object_object_add(obj, "reason",
				       json_object_new_string(reason));
		fprintf(audit->file, "%s\n",
			json_object_to_json_string_ext(obj,
						       JSON_C_TO_STRING_PLAIN));
		json_object_put(obj);
	}
}

uint64_t audit_count(enum audit_action action, enum config_mode mode)
{
	return (unsigned int)action < AUDIT_ACTION_COUNT ?
		       atomic_load(
			       &counts[action][mode == CONFIG_MODE_ENFORCE]) :
		       0;
}

void audit_write_metrics(FILE *out)
{
	fputs("# HELP kvmwarden_actions_total Enforcement actions, by action "
	      "and mode (monitor: would have been taken).\n"
	      "# TYPE kvmwarden_actions_total counter\n",
	      out);
	for (int action = 0; action < AUDIT_ACTION_COUNT; action++)
		for (int enforce = 0; enforce < 2; enforce++)
			fprintf(out,
				"kvmwarden_actions_total{action=\"%s\",mode="
				"\"%s\"} %llu\n",
				names[action], enforce ? "enforce" : "monitor",
				(unsigned long long)atomic_load(
					&counts[action][enforce]));
	fprintf(out,
		"# HELP kvmwarden_enforcement_in_force Values enforcement has "
		"changed and not yet put back (cgroup files, task "
		"affinities).\n"
		"# TYPE kvmwarden_enforcement_in_force gauge\n"
		"kvmwarden_enforcement_in_force %llu\n",
		(unsigned long long)atomic_load(&in_force));
}
