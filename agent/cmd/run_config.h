/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's configuration as `run` (at start and on SIGHUP) and
 * `check-config` take it: loaded, checked before anything touches the
 * kernel, and its budgets held against what this kernel loaded.
 */
#ifndef KVMWARDEN_CMD_RUN_CONFIG_H
#define KVMWARDEN_CMD_RUN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "model/features.h"

/* path_given: --config named the file. 0, or nonzero after logging why. */
int run_config_load(const char *path, bool path_given, struct config *config);

/* Logs each budget that needs a feature `features` lacks; returns how many
 * there are. */
size_t run_config_refuse_budgets(const struct enforce_config *enforce,
				 const struct features *features);

#endif
