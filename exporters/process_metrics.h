/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's own process figures behind the standard process_* metrics
 * (CPU, memory, descriptors, start time), read from PROC_ROOT/self. The
 * parser is pure; writing them out is prometheus.c's job.
 */
#ifndef KVMWARDEN_PROCESS_METRICS_H
#define KVMWARDEN_PROCESS_METRICS_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stdint.h>

struct process_figures {
	bool have_stat; /* the four fields below */
	uint64_t cpu_ns; /* user + system */
	uint64_t resident_bytes;
	uint64_t virtual_bytes;
	uint64_t start_ticks; /* since boot, in clock ticks */
	bool have_start_time;
	uint64_t start_time_unix_ns;
	bool have_open_fds;
	uint64_t open_fds;
	bool have_max_fds; /* false as well when the limit is unlimited */
	uint64_t max_fds;
	/* Bytes the C library's allocator has handed out and not had back
	 * (mallinfo2: uordblks + hblkhd). Against the resident size it tells
	 * a leak from freed pages the allocator keeps. */
	bool have_heap;
	uint64_t heap_inuse_bytes;
};

/* Parses a /proc/PID/stat line: utime and stime (fields 14, 15), vsize
 * (23) and rss (24, in pages). Returns 0 or -EINVAL. */
int process_parse_stat(const char *line, uint64_t ticks_per_s,
		       uint64_t page_bytes, struct process_figures *out);
/* The soft "Max open files" of a /proc/PID/limits text. Returns 0, -ERANGE
 * when unlimited, -EINVAL when absent or malformed. */
int process_parse_max_fds(const char *limits, uint64_t *max_fds);

/* Reads whatever PROC_ROOT/self offers; a figure it cannot read is left
 * out (its have_* flag stays false), since a scrape must not fail on it. */
void process_read_figures(const char *proc_root, struct process_figures *out);

#endif
