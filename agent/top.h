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

int cmd_top(int argc, char **argv);
/* `kvmwarden status`: the agent's status answer, readable or --json. */
int cmd_status(int argc, char **argv);

#endif
