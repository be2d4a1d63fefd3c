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
#include <sys/types.h>

#include "actuate/actuate_cgroup.h"

/* What reading a journal found besides records. A journal is appended one
 * whole line per write(), so the only damage a crash can leave is a torn
 * last line: anything else unreadable means the file is not ours, or was
 * damaged since, and its records cannot be trusted to be complete. */
struct journal_damage {
	size_t records; /* lines that are journal records */
	/* Lines shaped like records ("op" and "file"), replayable or not:
	 * none in a non-empty file means it is no journal at all. */
	size_t shaped;
	size_t unreadable; /* other lines, the torn tail not counted */
	size_t first_unreadable_line; /* from 1; 0: none */
	bool torn_tail; /* the last line is cut short: a crash mid-append */
	bool not_regular; /* a directory, device, FIFO...: never a journal */
	off_t whole_bytes; /* the file up to the end of its last whole line */
};

struct journal {
	int fd; /* -1: closed */
	char path[ENFORCE_PATH_LEN];
	struct journal_damage damage; /* what journal_open found */
	/* Where journal_open kept a copy of a damaged file it was told to
	 * use anyway ("" if none). */
	char copy_path[ENFORCE_PATH_LEN + 32];
};

/* journal_open's flags. */
enum {
	/* Use a journal with unreadable lines: replay what can be read, after
	 * keeping a copy of the file beside it (`restore --skip-unreadable`,
	 * for an operator who has read why it was refused). */
	JOURNAL_SKIP_UNREADABLE = 1 << 0,
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
 * or restore at a time. -EBUSY when another process holds it. A file that
 * is not a journal is never changed: -EINVAL when it is not a regular
 * file, -EBADMSG when a line other than a torn last one is unreadable
 * (journal->damage says which). A torn last line is cut off, so that the
 * next record starts a line of its own (damage.torn_tail says so). */
int journal_open(struct journal *journal, const char *path);
/* The same with flags (JOURNAL_SKIP_UNREADABLE). With it, a damaged file
 * is copied to copy_path first; a non-empty file with no line shaped like
 * a record is still refused (-EBADMSG): that is some other file, not a damaged
 * journal. */
int journal_open_flags(struct journal *journal, const char *path,
		       unsigned flags);
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
 * does not parse is skipped and counted in *bad_lines (may be NULL), a
 * torn last line included. */
int journal_load(const char *path, struct journal_entry **entries,
		 size_t *count, size_t *bad_lines);
/* The same, saying what was skipped (damage may be NULL). */
int journal_load_damage(const char *path, struct journal_entry **entries,
			size_t *count, struct journal_damage *damage);
/* Whether `path` may serve as a journal, for check-config: 0 when it is
 * missing or a journal (a torn last line allowed), else -EINVAL (not a
 * regular file) or -EBADMSG with the damage, or another negative errno. */
int journal_check_file(const char *path, struct journal_damage *damage);
/* One line for the operator on what journal_open or journal_check_file
 * refused (err), naming the file and the line. */
void journal_describe(const char *path, int err,
		      const struct journal_damage *damage, char *out,
		      size_t size);

#endif
