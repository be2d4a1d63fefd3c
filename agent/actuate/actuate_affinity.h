/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * CPU separation through sched_setaffinity: the other actuator, for
 * keeping a culprit's tasks off the CPUs a victim's vCPUs run on. A task
 * is named "affinity:TID:START" (START: /proc/TID/stat field 22), so a
 * recycled tid is never mistaken for the task we changed. Each set is
 * read back. CPU lists are text as the kernel prints them ("0-3,6").
 */
#ifndef KVMWARDEN_ACTUATE_AFFINITY_H
#define KVMWARDEN_ACTUATE_AFFINITY_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AFFINITY_PREFIX "affinity:"
#define AFFINITY_MAX_CPUS 1024

/* A CPU mask as the sched_*affinity system calls take it. Our own type:
 * -Ibpf makes <sched.h> the BPF contract, not glibc's cpu_set_t. */
struct cpu_mask {
	uint64_t bits[AFFINITY_MAX_CPUS / 64];
};

static inline bool cpu_mask_has(const struct cpu_mask *mask, int cpu)
{
	return mask->bits[cpu / 64] >> (cpu % 64) & 1;
}

static inline void cpu_mask_add(struct cpu_mask *mask, int cpu)
{
	mask->bits[cpu / 64] |= 1ULL << (cpu % 64);
}

int affinity_format(const struct cpu_mask *mask, char *text, size_t size);
/* "0-3,6" -> mask; -EINVAL on anything else (an empty list included). */
int affinity_parse(const char *text, struct cpu_mask *mask);
/* The task's mask by tid (no name check): for the victim's vCPUs. */
int affinity_get_tid(int tid, struct cpu_mask *mask);
/* The CPUs any of the `count` tasks may run on (a task gone meanwhile is
 * skipped), and the online CPUs: where a victim's vCPUs may be, and where
 * else work can go. -ENOENT when none of the tasks is left or the online
 * list does not parse; another negative errno when it cannot be read. */
int affinity_tids_cpus(const int *tids, size_t count,
		       struct cpu_mask *tids_cpus, struct cpu_mask *online);

/* The name for tid as it is now; -ENOENT when it is gone. */
int affinity_task_name(int tid, char *name, size_t size);
/* The task's CPUs as text, through its name: -ENOENT when the task is
 * gone or the tid now belongs to another task. */
int affinity_read(const char *name, char *text, size_t size);
/* Sets and reads back; -EIO when the kernel narrowed it (a cpuset). */
int affinity_write(const char *name, const char *text);

/* The tids in the cgroup directory (v1 "tasks", v2 "cgroup.threads").
 * Returns how many (at most max), or a negative errno. */
int affinity_cgroup_tids(const char *cgroup_dir, int *tids, int max);

#endif
