/* SPDX-License-Identifier: GPL-2.0-only */
/* Subcommand entry points; main.c only dispatches to them. Each returns the
 * process exit code. */
#ifndef KVMWARDEN_COMMANDS_H
#define KVMWARDEN_COMMANDS_H

#include <stdint.h>

#include "base/version.h"

int cmd_dump(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_check_config(int argc, char **argv);
int cmd_restore(int argc, char **argv);
/* Writes the unit's drop-in for steering when a hidden-steal budget is
 * configured (the systemd generator's work). */
int cmd_steering_dropin(int argc, char **argv);
/* Loads every BPF program on this kernel and reports the verifier's
 * verdict and budget; exits 0 when every needed one fits. */
int cmd_check_kernel(int argc, char **argv);
/* The agent's answer on its socket and the enforcement actions in force. */
int cmd_status(int argc, char **argv);
/* The enforcement state file: `state` when given, else the configuration's
 * (the default when it is missing or broken; restore.c). Returns 0. */
#include <stdbool.h>
#include <stddef.h>
int restore_state_path(const char *config_path, bool config_given,
		       const char *state, char *out, size_t size);

/* Shared by commands: a loaded loader and a primed tracker, or an exit code
 * after printing one line. */
struct loader;
struct tracker;
int session_open(struct loader **loader, struct tracker *tracker,
		 const char *proc_root, uint64_t retain_ns);
void session_close(struct loader *loader, struct tracker *tracker);
/* One warning per unavailable feature (its programs and the reason), and
 * one per name in the test switch that is not a feature that can fail. */
struct features;
void session_log_features(const struct features *features);

#endif
