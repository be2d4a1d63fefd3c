/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * top's interactive screen (ncurses): the frame, the selection, expanded
 * guests, the help page and every key. Apart from the batch frames
 * (top.c) because only this part knows the terminal.
 */
#ifndef KVMWARDEN_TOP_SCREEN_H
#define KVMWARDEN_TOP_SCREEN_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <signal.h>

struct top_model;
struct top_options;
struct top_source;

/* Draws a window every opts->delay_s until q, opts->iterations frames, or
 * *stop (set by a signal). Returns the exit code, 0. */
int top_screen_run(struct top_source *src, struct top_model *model,
		   const struct top_options *opts,
		   const volatile sig_atomic_t *stop);

#endif
