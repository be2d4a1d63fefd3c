/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `kvmwarden top`'s view: the live terminal screen (top_screen.h), or
 * batch and JSON frames for pipes, drawn from the window documents of a
 * top_source. Rows, sorting and history live in top_model.h, the text
 * layout in top_format.h. The command (cmd/top.c) parses the options and
 * opens the source: the agent's socket, or its own measurement.
 */
#ifndef KVMWARDEN_TOP_H
#define KVMWARDEN_TOP_H

#ifdef __bpf__
#error "userspace-only header"
#endif

struct top_options;
struct top_source;

/* Shows windows from `src` until -n frames, q, SIGINT or SIGTERM; the
 * screen unless opts->batch. Returns the exit code: 1 when a batch frame
 * failed or stdout's reader went away. */
int top_run(struct top_source *src, const struct top_options *opts);

#endif
