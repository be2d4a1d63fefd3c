/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The I/O side of the cgroupfs backend: the blkio (v1) or io (v2)
 * hierarchy, and per-device entries of its files. Files like
 * blkio.throttle.read_iops_device hold one "MAJ:MIN VALUE" line per
 * device; enforcement journals and undoes one device's entry as if it were
 * a file of its own, named "FILE#MAJ:MIN". An absent entry reads as the
 * kernel's no-limit value, so restoring it writes the rule away.
 */
#ifndef KVMWARDEN_ACTUATE_IO_H
#define KVMWARDEN_ACTUATE_IO_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actuate/actuate_cgroup.h"

#define IO_ENTRY_SEP '#'
#define IO_MAX_FILES 2 /* v1 caps reads and writes in two files */

struct io_fs {
	int version; /* 1 or 2; 0: no I/O controller found */
	char mount[ENFORCE_PATH_LEN];
};

/* A v1 hierarchy with the blkio option, else a cgroup2 mount whose root
 * lists io among its controllers. 0 or -ENOENT. */
int io_fs_detect(struct io_fs *fs, const char *mountinfo);
/* Whether cgroups here have an I/O weight file: v1 blkio.weight (CFQ) or
 * blkio.bfq.weight (BFQ loaded), v2 io.weight (iocost). */
bool io_fs_has_weight(const struct io_fs *fs);

/* The journal names for `knob` of cgroup `cgroup` on device `device`
 * ("MAJ:MIN"): files[0..*count). Path checks as cgroup_knob_file; -ENOENT
 * when the cgroup or (for a weight) the weight file does not exist. */
int io_knob_files(const struct io_fs *fs,
		  const struct enforce_config *enforce, const char *cgroup,
		  const char *device, enum policy_knob knob,
		  char files[IO_MAX_FILES][ENFORCE_PATH_LEN + 32],
		  size_t *count);
/* The text for `value` in an entry that now reads `current`. */
int io_knob_text(const char *file, enum policy_knob knob, uint32_t value,
		 const char *current, char *text, size_t size);

/* Whether `file` names a device's entry ("FILE#MAJ:MIN"). */
bool io_is_entry(const char *file);
/* One device's entry (without "MAJ:MIN "), or the kernel's no-limit
 * value when the file has no line for it. Negative errno. */
int io_entry_read(const char *file, char *value, size_t size);
/* Writes "MAJ:MIN value" and reads the entry back: -EIO when it differs. */
int io_entry_write(const char *file, const char *value);
/* The text inside `contents` after "MAJ:MIN " of `device`'s line, or the
 * default `absent` when there is none (pure; for the unit tests). */
int io_entry_parse(const char *contents, const char *device,
		   const char *absent, char *value, size_t size);

#endif
