/* SPDX-License-Identifier: GPL-2.0-only */
/* Subcommand entry points; main.c only dispatches to them. Each returns the
 * process exit code. */
#ifndef KVMWARDEN_COMMANDS_H
#define KVMWARDEN_COMMANDS_H

#include <stdint.h>

/* Shown by `kvmwarden version` and in kvmwarden_build_info. */
#ifndef KVMWARDEN_VERSION
#define KVMWARDEN_VERSION "0.1.0"
#endif

int cmd_dump(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_check_config(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_status(int argc, char **argv);

/* Shared by commands: a loaded loader and a primed tracker, or an exit code
 * after printing one line. */
struct loader;
struct tracker;
int session_open(struct loader **loader, struct tracker *tracker,
		 const char *proc_root, uint64_t retain_ns);
void session_close(struct loader *loader, struct tracker *tracker);

#endif
