/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * I/O enforcement as the agent runs it, beside enforce.c's CPU: each
 * interval's I/O report through policy_io.c, its settings made real in
 * the blkio/io hierarchy through actuate_io.c, each device entry
 * journaled, read back and undone exactly like a CPU knob (enforce.c's
 * own helpers do the journaling, letting go and putting back).
 */
#ifndef KVMWARDEN_ENFORCE_IO_H
#define KVMWARDEN_ENFORCE_IO_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stddef.h>
#include <stdint.h>

#include "actuate/actuate_io.h"
#include "actuate/enforce.h"
#include "policy/policy_io.h"

struct io_managed {
	struct managed_file file;
	uint64_t wanted_at; /* the step that last asked for it */
};

struct enforce_io {
	struct io_fs fs;
	struct policy_io policy;
	struct policy_io_result result;
	struct io_managed *files;
	size_t file_count;
	size_t file_cap;
	uint64_t steps;
};

/* Sets enforcer->io up (NULL when out of memory: I/O is then left alone).
 * Detecting the hierarchy only reads, so monitor mode does it too. */
void enforce_io_start(struct enforcer *enforcer);
void enforce_io_reload(struct enforcer *enforcer);
/* After the CPU decisions: audits the I/O ones and, in enforce mode,
 * applies them. Returns how many I/O values are in force. */
size_t enforce_io_step(struct enforcer *enforcer, const struct report *report,
		       uint64_t now_ms);
/* Puts every I/O value back; returns how many could not be. Frees. */
size_t enforce_io_stop(struct enforcer *enforcer);

/* enforce.c's, shared with this file. */
int enforce_value_read(const char *file, char *value, size_t size);
int enforce_value_write(const char *file, const char *value);
/* The value journaled as pending first, then written. */
int enforce_write_journaled(struct enforcer *enforcer, const char *file,
			    const char *value);
void enforce_let_go(struct enforcer *enforcer, struct managed_file *m,
		    const char *current, uint64_t now_ms);
void enforce_write_failed(struct enforcer *enforcer, struct managed_file *m,
			  const char *what, const char *value, int err);
void enforce_settle_write(struct enforcer *enforcer, struct managed_file *m,
			  const char *text, int err);
int enforce_put_back(struct enforcer *enforcer, struct managed_file *m,
		     uint64_t now_ms);

#endif
