/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Enforcement as the agent runs it: each interval's report goes through
 * the CPU and I/O policies; in enforce mode the settings they want are
 * made real through the backend that owns each cgroup, each original
 * journaled first; in monitor mode the same decisions are only logged.
 * The enforcer is the glue: one writer (enforce_write.h) under the CPU
 * side (enforce_cpu.h) and the I/O side (enforce_io.h), which own the
 * values they changed, so they tell their own from someone else's and
 * undo exactly.
 */
#ifndef KVMWARDEN_ENFORCE_H
#define KVMWARDEN_ENFORCE_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stddef.h>
#include <stdint.h>

#include "actuate/enforce_cpu.h"
#include "actuate/enforce_write.h"
#include "config/config.h"
#include "model/model.h"

struct enforce_io;
struct enforce_steer;

struct enforcer {
	/* What the file said at start (--mode may override it): a reload
	 * warns only when the file's own mode changes. */
	enum config_mode file_mode;
	struct enforce_writer writer; /* mode, config, journal, audit */
	struct enforce_cpu cpu;
	struct enforce_io *io; /* enforce_io.c's; NULL: I/O left alone */
	/* enforce_steer.c's; NULL: no hidden-steal budget */
	struct enforce_steer *steer;
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

#endif
