// SPDX-License-Identifier: GPL-2.0-only
/*
 * sched_setaffinity for CPU separation. Affinity belongs to a task, not to
 * a cgroup, so a separated cgroup's tasks are set one by one and tasks it
 * gains later are set on the next interval. No cgroup file is written here.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "actuate/actuate_affinity.h"
#include "collect/procfs.h"

int affinity_get_tid(int tid, struct cpu_mask *mask)
{
	memset(mask, 0, sizeof(*mask));
	/* The raw call returns the bytes it filled, not 0. */
	if (syscall(SYS_sched_getaffinity, tid, sizeof(*mask), mask) < 0)
		return errno == ESRCH ? -ENOENT : -errno;
	return 0;
}

int affinity_tids_cpus(const int *tids, size_t count,
		       struct cpu_mask *tids_cpus, struct cpu_mask *online)
{
	char text[256] = "";
	bool any = false;
	FILE *in;

	memset(tids_cpus, 0, sizeof(*tids_cpus));
	for (size_t i = 0; i < count; i++) {
		struct cpu_mask one;

		if (affinity_get_tid(tids[i], &one))
			continue; /* a task that just went */
		for (size_t w = 0; w < AFFINITY_MAX_CPUS / 64; w++)
			tids_cpus->bits[w] |= one.bits[w];
		any = true;
	}
	in = fopen("/sys/devices/system/cpu/online", "re");
	if (!in)
		return -errno;
	if (!fgets(text, sizeof(text), in))
		text[0] = '\0';
	fclose(in);
	text[strcspn(text, "\n")] = '\0';
	if (!any || affinity_parse(text, online))
		return -ENOENT;
	return 0;
}

static int set_tid(int tid, const struct cpu_mask *mask)
{
	if (syscall(SYS_sched_setaffinity, tid, sizeof(*mask), mask) < 0)
		return errno == ESRCH ? -ENOENT : -errno;
	return 0;
}

int affinity_format(const struct cpu_mask *set, char *text, size_t size)
{
	size_t used = 0;

	text[0] = '\0';
	for (int cpu = 0; cpu < AFFINITY_MAX_CPUS; cpu++) {
		int last = cpu;
		int n;

		if (!cpu_mask_has(set, cpu))
			continue;
		while (last + 1 < AFFINITY_MAX_CPUS &&
		       cpu_mask_has(set, last + 1))
			last++;
		n = last == cpu ? snprintf(text + used, size - used, "%s%d",
					   used ? "," : "", cpu) :
				  snprintf(text + used, size - used, "%s%d-%d",
					   used ? "," : "", cpu, last);
		if (n < 0 || (size_t)n >= size - used)
			return -ENAMETOOLONG;
		used += (size_t)n;
		cpu = last;
	}
	return used ? 0 : -EINVAL;
}

int affinity_parse(const char *text, struct cpu_mask *set)
{
	const char *at = text;
	bool any = false;

	memset(set, 0, sizeof(*set));
	while (*at) {
		char *end;
		long first = strtol(at, &end, 10), last;

		if (end == at || first < 0 || first >= AFFINITY_MAX_CPUS)
			return -EINVAL;
		last = first;
		if (*end == '-') {
			at = end + 1;
			last = strtol(at, &end, 10);
			if (end == at || last < first ||
			    last >= AFFINITY_MAX_CPUS)
				return -EINVAL;
		}
		for (long cpu = first; cpu <= last; cpu++)
			cpu_mask_add(set, (int)cpu);
		any = true;
		if (*end == ',')
			end++;
		else if (*end)
			return -EINVAL;
		at = end;
	}
	return any ? 0 : -EINVAL;
}

int affinity_task_name(int tid, char *name, size_t size)
{
	struct proc_stat stat;

	if (procfs_read_stat("/proc", tid, 0, &stat))
		return -ENOENT;
	snprintf(name, size, AFFINITY_PREFIX "%d:%" PRIu64, tid,
		 stat.start_ticks);
	return 0;
}

/* The tid of a name, once the task still is the one named. */
static int named_tid(const char *name)
{
	char now[64];
	int tid;

	if (sscanf(name, AFFINITY_PREFIX "%d:", &tid) != 1 || tid <= 0)
		return -EINVAL;
	if (affinity_task_name(tid, now, sizeof(now)) || strcmp(now, name))
		return -ENOENT;
	return tid;
}

int affinity_read(const char *name, char *text, size_t size)
{
	int tid = named_tid(name);
	struct cpu_mask set;
	int err;

	if (tid < 0)
		return tid;
	err = affinity_get_tid(tid, &set);
	if (err)
		return err;
	return affinity_format(&set, text, size);
}

int affinity_write(const char *name, const char *text)
{
	char back[256];
	int tid = named_tid(name);
	struct cpu_mask set;
	int err;

	if (tid < 0)
		return tid;
	err = affinity_parse(text, &set);
	if (err)
		return err;
	err = set_tid(tid, &set);
	if (err)
		return err;
	err = affinity_read(name, back, sizeof(back));
	if (err)
		return err;
	return strcmp(back, text) ? -EIO : 0;
}

int affinity_cgroup_tids(const char *cgroup_dir, int *tids, int max)
{
	static const char *const lists[] = { "tasks", "cgroup.threads" };
	char file[512];
	int count = 0, tid;
	FILE *in = NULL;

	for (size_t i = 0; i < 2 && !in; i++) {
		snprintf(file, sizeof(file), "%s/%s", cgroup_dir, lists[i]);
		in = fopen(file, "re");
	}
	if (!in)
		return -errno;
	while (count < max && fscanf(in, "%d", &tid) == 1)
		tids[count++] = tid;
	fclose(in);
	return count;
}
