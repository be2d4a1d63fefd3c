/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The one write step the CPU (enforce_cpu.h) and I/O (enforce_io.h) sides
 * of enforcement share: read the value now, journal it (fsynced), write,
 * read back, journal what was set. A value that reads back different from
 * what we last wrote was changed by someone else: it is audited, let go,
 * and left alone for a cool-down. Undoing a value goes the same way.
 */
#ifndef KVMWARDEN_ENFORCE_WRITE_H
#define KVMWARDEN_ENFORCE_WRITE_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actuate/actuate_cgroup.h"
#include "actuate/audit.h"
#include "actuate/journal.h"
#include "collect/procfs.h"
#include "config/config.h"
#include "policy/policy.h"

/* What every journaled, audited write needs, owned by the enforcer. */
struct enforce_writer {
	enum config_mode mode;
	const struct config *config; /* the agent's; outlives the enforcer */
	struct journal journal;
	struct audit audit;
};

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

/* Writes `value` to `file` after journaling it as pending, so a crash
 * between the write and its "set" record still leaves a value the journal
 * knows as ours (a libvirt write, two round trips, takes a while). */
int enforce_write_journaled(struct enforce_writer *writer, const char *file,
			    const char *value);
/* Someone else's value (`current`) is in m's file now: theirs to keep. */
void enforce_write_let_go(struct enforce_writer *writer, struct managed_file *m,
			  const char *current, uint64_t now_ms);
/* Audits a failed step (`what`: "writing", "journaling", ...). */
void enforce_write_failed(struct enforce_writer *writer, struct managed_file *m,
			  const char *what, const char *value, int err);
/* After writing `text` to m (err: what the write returned): journals and
 * keeps what is in force, or audits the failure. */
void enforce_write_settle(struct enforce_writer *writer, struct managed_file *m,
			  const char *text, int err);
/* Changes m's entry to `text`, which reads `current` now. When m is not
 * ours yet, `current` is journaled first (as `knob`, for `victim`) and
 * kept as the original; a journal that fails stops the write. Then
 * enforce_write_journaled and enforce_write_settle. */
void enforce_write_change(struct enforce_writer *writer, struct managed_file *m,
			  const char *knob, const char *current,
			  const char *victim, const char *text);
/* Puts m's original back if our value is still there. Returns 0 when m
 * is no longer ours either way, else a negative errno. */
int enforce_write_put_back(struct enforce_writer *writer,
			   struct managed_file *m, uint64_t now_ms);

/*
 * Drops the entries of `items` (arrays of structs that begin with a
 * struct managed_file) neither in force nor backing off from an outside
 * change: they hold nothing worth keeping, and kept, every cgroup ever
 * acted on stayed for good (the churn soak's heap grew ~3.6 KiB a guest).
 * Returns how many are left, in their order.
 */
size_t enforce_write_forget_idle(void *items, size_t count, size_t item_size,
				 uint64_t now_ms);

#endif
