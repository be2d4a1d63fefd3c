/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `kvmwarden top`: the live terminal view (ncurses), with batch and JSON
 * modes for pipes. The figures come from the running agent's socket
 * (api.h) when it answers, else from an in-process measurement that
 * builds the same window document (snapshot.h). Rows, sorting and layout
 * live in top_model.c; this module owns the terminal and the data source.
 */
#ifndef KVMWARDEN_TOP_H
#define KVMWARDEN_TOP_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>

int cmd_top(int argc, char **argv);

/* The agent's socket_path from the configuration at `path` (the default
 * socket when the file is missing and was not named, or is broken and was
 * not named). Returns 0, or -EINVAL for a named file that is broken. */
int top_socket_from_config(const char *path, bool explicit_path, char *out,
			   size_t size);

#endif
