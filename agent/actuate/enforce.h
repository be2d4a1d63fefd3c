/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Enforcement as the agent runs it: each interval's report goes through
 * the policy; in enforce mode the settings it wants are made real through
 * the cgroup backend (libvirt's live API for a libvirt guest while
 * libvirtd answers), each original journaled first; in monitor mode the
 * same decisions are only logged. It owns the set of files it changed, so
 * it can tell its own values from someone else's and undo exactly.
 */
#ifndef KVMWARDEN_ENFORCE_H
#define KVMWARDEN_ENFORCE_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "actuate/actuate_cgroup.h"
#include "actuate/audit.h"
#include "config/config.h"
#include "actuate/journal.h"
#include "policy/policy.h"

struct enforce_io;

/* A file enforcement has changed (or had changed, then let go). */
struct managed_file {
	char cgroup[PROCFS_PATH_LEN];
	enum policy_knob knob;
	char file[ENFORCE_PATH_LEN + 32];
	char original[CGROUP_VALUE_LEN];
	char written[CGROUP_VALUE_LEN];
	bool active; /* our value is in force and journaled */
	uint64_t nr_throttled; /* cpu.stat's, for a quota: pressing or idle */
	uint64_t hands_off_until_ms; /* after an outside change */
};

/*
 * Drops the entries of `items` (arrays of structs that begin with a
 * struct managed_file) neither in force nor backing off from an outside
 * change: they hold nothing worth keeping, and kept, every cgroup ever
 * acted on stayed for good (the churn soak's heap grew ~3.6 KiB a guest).
 * Returns how many are left, in their order.
 */
size_t enforce_forget_idle(void *items, size_t count, size_t item_size,
			   uint64_t now_ms);

struct enforcer {
	enum config_mode mode;
	/* What the file said at start (--mode may override it): a reload
	 * warns only when the file's own mode changes. */
	enum config_mode file_mode;
	const struct config *config; /* the agent's; outlives the enforcer */
	struct policy policy;
	struct policy_result result;
	struct cgroup_fs fs;
	struct journal journal;
	struct audit audit;
	struct managed_file *files;
	size_t file_count;
	size_t file_cap;
	struct enforce_io *io; /* enforce_io.c's; NULL: I/O left alone */
};

/* Opens the audit file, and in enforce mode detects the cgroup hierarchy,
 * takes the journal's lock and first undoes whatever a previous run left
 * in it. Returns 0 or a negative errno after logging why. */
int enforcer_start(struct enforcer *enforcer, const struct config *config,
		   enum config_mode mode);
/* A reload: the policy keeps its state, the mode stays what it was. */
void enforcer_reload(struct enforcer *enforcer, const struct config *config);
/* One interval. now_ms: a monotonic clock, for the hands-off periods. */
void enforcer_step(struct enforcer *enforcer, const struct report *report,
		   uint64_t now_ms);
/* Puts every value back (enforce mode), empties the journal when all of
 * them are, and closes. Returns how many could not be put back. */
size_t enforcer_stop(struct enforcer *enforcer);

/* Replays the journal at `path` and puts every original back that is still
 * ours (its file still holds what we set); values someone else changed
 * since are left as they are and reported. Empties the journal when done.
 * `journal` must be open (locked). Counts go to *restored and *left. */
int enforce_restore_journal(struct journal *journal, struct audit *audit,
			    enum config_mode mode, size_t *restored,
			    size_t *left);

#endif
