/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `kvmwarden top`'s command line: what the view shows (sort, filter,
 * width, interval, frames) and where it reads from (socket, --local,
 * --agent). Parsed here, beside the columns it names; the command acts on
 * the source choice and the view on the rest.
 */
#ifndef KVMWARDEN_TOP_OPTIONS_H
#define KVMWARDEN_TOP_OPTIONS_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>

#include "top/top_model.h"

/* The interval between frames, on the command line and the 'd' key. */
#define TOP_MIN_DELAY_S 0.2
#define TOP_MAX_DELAY_S 3600.0

struct top_options {
	bool batch;
	bool json;
	bool expand_all;
	bool local;
	bool agent_only;
	long iterations; /* 0: until stopped */
	double delay_s;
	int width;
	enum top_column sort;
	bool reverse;
	char filter[TOP_NAME_LEN];
	char socket_path[108];
};

/* 0 to go on, -1 after printing the help (exit 0), else the exit code
 * after one line on stderr. */
int top_options_parse(int argc, char **argv, struct top_options *opts);

#endif
