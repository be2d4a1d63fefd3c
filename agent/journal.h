/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The undo state: an append-only JSON-lines file holding, for every file
 * enforcement changed, its value before the first change (fsynced before
 * that change is made), what was last set, and whether it was put back.
 * `kvmwarden restore` and a starting agent replay it; `status` lists it.
 * This module owns the file's format and locking, not the cgroup writes.
 */
#ifndef KVMWARDEN_JOURNAL_H
#define KVMWARDEN_JOURNAL_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actuate_cgroup.h"

struct journal {
	int fd; /* -1: closed */
	char path[ENFORCE_PATH_LEN];
};

/* One changed file, as replaying the journal leaves it. */
struct journal_entry {
	char file[ENFORCE_PATH_LEN + 32];
	char cgroup[ENFORCE_PATH_LEN];
	char knob[16];
	char original[CGROUP_VALUE_LEN];
	char value[CGROUP_VALUE_LEN]; /* last set; "" if the write never ran */
	/* Being written when the journal ends ("" if none): a crash between
	 * a write and its "set" record leaves this in the file, ours too. */
	char pending[CGROUP_VALUE_LEN];
	char victim[64]; /* for whom, for status */
	uint64_t since_unix_s;
	bool in_force; /* not yet restored or released */
};

/* Opens (creating it and its directory) and locks the journal: one agent
 * or restore at a time. -EBUSY when another process holds it. */
int journal_open(struct journal *journal, const char *path);
void journal_close(struct journal *journal);
/* Before the first change of `file`: its value now. Fsynced. */
int journal_record_before(struct journal *journal, const char *file,
			  const char *cgroup, const char *knob,
			  const char *original, const char *victim);
/* Before each write of a new value: what is about to be written (a
 * "want" record; journals without them replay as before). */
int journal_record_want(struct journal *journal, const char *file,
			const char *value);
/* After each successful write. */
int journal_record_set(struct journal *journal, const char *file,
		       const char *value);
/* The original is back ("restored"), or someone else changed the file and
 * it is theirs now ("released"): either way, no longer ours to undo. */
int journal_record_done(struct journal *journal, const char *file,
			const char *how);
/* Empties it once everything is undone. */
int journal_clear(struct journal *journal);

/* Replays the file at `path`: every file ever changed, in order of first
 * change; *entries is malloc'd. A missing file is no entries. A line that
 * does not parse is skipped and counted in *bad_lines (may be NULL). */
int journal_load(const char *path, struct journal_entry **entries,
		 size_t *count, size_t *bad_lines);

#endif
