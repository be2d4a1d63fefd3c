/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The undo path from the journal alone: the enforcer runs it at start
 * over what a previous run left, and `kvmwarden restore` after every stop.
 * It needs no policy and no enforcer, only the journal and the audit log.
 */
#ifndef KVMWARDEN_ENFORCE_RESTORE_H
#define KVMWARDEN_ENFORCE_RESTORE_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stddef.h>

#include "actuate/audit.h"
#include "actuate/journal.h"
#include "config/config.h"

/* Replays the journal at `path` and puts every original back that is still
 * ours (its file still holds what we set); values someone else changed
 * since are left as they are and reported. Empties the journal when done.
 * `journal` must be open (locked). Counts go to *restored and *left. */
int enforce_restore_journal(struct journal *journal, struct audit *audit,
			    enum config_mode mode, size_t *restored,
			    size_t *left);

#endif
