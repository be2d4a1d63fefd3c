/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One-line kernel value files (cgroup knobs, rps_cpus,
 * smp_affinity_list): read a line, write a value, read it back. Which
 * files may be written, and what an error means for each kind, stays with
 * the backends (actuate_cgroup.c, actuate_steer.c, actuate_io.c).
 */
#ifndef KVMWARDEN_VALUE_FILE_H
#define KVMWARDEN_VALUE_FILE_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stddef.h>

/* The longest value read back to check a write (the backends' own
 * values are no longer). */
#define VALUE_FILE_LEN 256

/* The file's first line, newline cut. Never follows a symlink. Negative
 * errno (-ENOENT: the cgroup, device or IRQ went away). */
int value_file_read(const char *file, char *value, size_t size);
/* Writes all of `value` with one write(2): -EIO when the kernel took
 * only part of it, else the write's own errno. Never follows a symlink. */
int value_file_write(const char *file, const char *value);
/* Reads `file` back after a write: 0 when it holds `value`, -EIO when it
 * holds something else (the kernel rounded or silently refused it). */
int value_file_check(const char *file, const char *value);

#endif
