/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The cgroupfs backend: the only code that writes cgroup files. It finds
 * the cpu controller's hierarchy (v1 or v2) at run time, turns a cgroup
 * path into a file only when the path stays under a configured root and on
 * a cgroup file system, and reads back every write. What to write comes
 * from policy.c; the previous values go to journal.c first.
 */
#ifndef KVMWARDEN_ACTUATE_CGROUP_H
#define KVMWARDEN_ACTUATE_CGROUP_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/enforce_config.h"
#include "policy/policy.h"

#define CGROUP_VALUE_LEN 256
/* The kernel's floor for a v1/v2 CPU quota is 1 ms (libvirt refuses less
 * too), and its default period 100 ms: the cgroupfs and libvirt backends'
 * quotas alike. */
#define CGROUP_MIN_QUOTA_US 1000
#define CGROUP_DEFAULT_PERIOD_US 100000

struct cgroup_fs {
	int version; /* 1 or 2; 0: no cpu controller found */
	char mount[ENFORCE_PATH_LEN]; /* the cpu hierarchy's mount point */
};

/* Finds the cpu controller: a v1 hierarchy with the cpu option, else a
 * cgroup2 mount whose root lists cpu among its controllers. `mountinfo`
 * is /proc/self/mountinfo (a parameter for the fixtures). 0 or -ENOENT. */
int cgroup_fs_detect(struct cgroup_fs *fs, const char *mountinfo);
/* The same for any controller: a v1 hierarchy mounted with `v1_option`,
 * else a cgroup2 mount whose root lists `v2_controller`. Sets *version
 * (0, 1 or 2) and the mount point; 0, -ENOENT or another negative errno. */
int cgroup_hierarchy_detect(const char *mountinfo, const char *v1_option,
			    const char *v2_controller, int *version,
			    char *mount_out, size_t mount_size);

/* The file that holds `knob` for cgroup `cgroup_path`, checked: the path
 * has no "."/".." parts, its real path lies under one of `enforce`'s
 * roots, and it is on a cgroup file system. -EPERM when outside the roots,
 * -ENOENT when the cgroup is gone, -EINVAL for a malformed path. */
int cgroup_knob_file(const struct cgroup_fs *fs,
		     const struct enforce_config *enforce,
		     const char *cgroup_path, enum policy_knob knob, char *file,
		     size_t size);
/* The real path of cgroup `cgroup_path` in the hierarchy mounted at
 * `mount`, with cgroup_knob_file's checks (the I/O backend's too). */
int cgroup_dir_checked(const char *mount,
		       const struct enforce_config *enforce,
		       const char *cgroup_path, char *dir, size_t size);
/* The text to write for `value` of `knob` (a percent of one CPU for the
 * quota, a v2 weight for the weight), given the file's current text
 * (which holds v2's period). -EINVAL if the current text is malformed. */
int cgroup_knob_text(const struct cgroup_fs *fs, const char *cgroup_file,
		     enum policy_knob knob, uint32_t value, const char *current,
		     char *text, size_t size);

/* One line, trailing newline removed. Negative errno. */
int cgroup_file_read(const char *file, char *value, size_t size);
/* Writes `value`, then reads it back: -EIO when what reads back differs
 * (the kernel rounded or refused it silently). Refuses (-EPERM) a file
 * not on a cgroup file system or reached through a symlink. */
int cgroup_file_write(const char *file, const char *value);

/* cpu.stat's nr_throttled in the cgroup directory `dir` (v1 and v2
 * alike), 0 when unreadable: how often the kernel held it to its quota. */
unsigned long long cgroup_nr_throttled(const char *dir);
/* The sum of cgroup_nr_throttled over `dir`'s child cgroups. */
unsigned long long cgroup_nr_throttled_children(const char *dir);

#endif
