/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What `run` checks before it touches the kernel beyond the file's syntax:
 * the files and names the configuration points at (state file, web config
 * with its certificate and key, socket group, audit log). `check-config`
 * runs the very same checks, so it cannot call valid what `run` refuses.
 * In cmd/ with its two callers: it asks every layer (the journal, the
 * cgroups, the web server, the socket) whether it can do what is asked.
 */
#ifndef KVMWARDEN_PREFLIGHT_H
#define KVMWARDEN_PREFLIGHT_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stddef.h>

#include "config/config.h"

/* 0, or -EINVAL with one line per problem ("SOURCE:LINE: KEY: what") in
 * `errors`. Lines that are warnings only (basic auth over plain HTTP) go
 * to `warnings` (may be NULL) and do not fail. */
int preflight_config(const struct config *config, const char *source,
		     char *errors, size_t errors_size, char *warnings,
		     size_t warnings_size);

#endif
