/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Names for the cgroup ids BPF reports as culprits: a cgroup's kernfs id is
 * its directory's inode number, so a walk of the hierarchy maps ids to
 * paths. The walk is cached and redone on a miss at most every few seconds.
 */
#ifndef KVMWARDEN_CGROUP_NAMES_H
#define KVMWARDEN_CGROUP_NAMES_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stddef.h>
#include <stdint.h>

struct cgroup_names;

/* `root` is the hierarchy to walk; NULL picks the one culprits come from:
 * /sys/fs/cgroup when it is cgroup2, else the v1 cpu hierarchy. */
struct cgroup_names *cgroup_names_new(const char *root);
void cgroup_names_free(struct cgroup_names *names);
/* The path below the root ("/" for the root), or -ENOENT. */
int cgroup_names_lookup(struct cgroup_names *names, uint64_t id,
			uint64_t now_ns, char *path, size_t size);

#endif
