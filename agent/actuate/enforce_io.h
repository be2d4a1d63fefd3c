/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * I/O enforcement as the agent runs it, beside enforce_cpu.h's CPU: each
 * interval's I/O report through policy_io.c, its settings made real in
 * the blkio/io hierarchy through actuate_io.c, each device entry
 * journaled, read back and undone exactly like a CPU knob (through the
 * same write step, enforce_write.h).
 */
#ifndef KVMWARDEN_ENFORCE_IO_H
#define KVMWARDEN_ENFORCE_IO_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stddef.h>
#include <stdint.h>

#include "actuate/actuate_io.h"
#include "actuate/enforce_write.h"
#include "model/model.h"
#include "policy/policy_io.h"

struct io_managed {
	struct managed_file file;
	uint64_t wanted_at; /* the step that last asked for it */
};

struct enforce_io {
	struct enforce_writer *writer; /* the enforcer's */
	struct io_fs fs;
	struct policy_io policy;
	struct policy_io_result result;
	struct io_managed *files;
	size_t file_count;
	size_t file_cap;
	uint64_t steps;
};

/* NULL when out of memory (I/O is then left alone). Detecting the
 * hierarchy only reads, so monitor mode does it too. */
struct enforce_io *enforce_io_start(struct enforce_writer *writer);
/* A reload: the ladders keep their state. `io` may be NULL. */
void enforce_io_reload(struct enforce_io *io);
/* After the CPU decisions: audits the I/O ones and, in enforce mode,
 * applies them. Returns how many I/O values are in force. */
size_t enforce_io_step(struct enforce_io *io, const struct report *report,
		       uint64_t now_ms);
/* Puts every I/O value back; returns how many could not be. Frees `io`
 * (which may be NULL). */
size_t enforce_io_stop(struct enforce_io *io);

#endif
