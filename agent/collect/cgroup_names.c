// SPDX-License-Identifier: GPL-2.0-only
/* cgroup id -> path, by walking the hierarchy with nftw and caching. */
#include <errno.h>
#include <ftw.h>
#include <linux/magic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "collect/cgroup_names.h"
#include "collect/procfs.h"

#define REWALK_AFTER_NS (3ULL * 1000000000ULL)
#define MAX_CACHED 65536

struct cgroup_entry {
	uint64_t id;
	char *path;
};

struct cgroup_names {
	char root[256];
	struct cgroup_entry *entries;
	size_t count;
	size_t cap;
	uint64_t walked_at_ns;
	bool walked;
};

/* nftw has no context argument: the walk in progress. One at a time. */
static struct cgroup_names *walking;

static void clear(struct cgroup_names *names)
{
	for (size_t i = 0; i < names->count; i++)
		free(names->entries[i].path);
	names->count = 0;
}

static int visit(const char *path, const struct stat *st, int type,
		 struct FTW *where)
{
	struct cgroup_names *names = walking;
	size_t root_len = strlen(names->root);
	const char *below = path + root_len;

	if (type != FTW_D)
		return 0;
	if (names->count == names->cap) {
		size_t cap = names->cap ? names->cap * 2 : 256;
		struct cgroup_entry *bigger;

		if (cap > MAX_CACHED)
			return 1; /* stop: enough for any real host */
		bigger = realloc(names->entries, cap * sizeof(*bigger));
		if (!bigger)
			return 1;
		names->entries = bigger;
		names->cap = cap;
	}
	names->entries[names->count].id = (uint64_t)st->st_ino;
	names->entries[names->count].path = strdup(*below ? below : "/");
	if (names->entries[names->count].path)
		names->count++;
	return 0;
}

static void pick_root(struct cgroup_names *names)
{
	static const char *const v1_cpu[] = { "/sys/fs/cgroup/cpu,cpuacct",
					      "/sys/fs/cgroup/cpu" };
	struct statfs fs;

	snprintf(names->root, sizeof(names->root), "/sys/fs/cgroup");
	if (statfs("/sys/fs/cgroup", &fs) == 0 &&
	    fs.f_type == CGROUP2_SUPER_MAGIC)
		return;
	for (size_t i = 0; i < sizeof(v1_cpu) / sizeof(v1_cpu[0]); i++) {
		if (statfs(v1_cpu[i], &fs) == 0 &&
		    fs.f_type == CGROUP_SUPER_MAGIC) {
			snprintf(names->root, sizeof(names->root), "%s",
				 v1_cpu[i]);
			return;
		}
	}
}

struct cgroup_names *cgroup_names_new(const char *root)
{
	struct cgroup_names *names = calloc(1, sizeof(*names));

	if (!names)
		return NULL;
	if (root)
		snprintf(names->root, sizeof(names->root), "%s", root);
	else
		pick_root(names);
	return names;
}

void cgroup_names_free(struct cgroup_names *names)
{
	if (!names)
		return;
	clear(names);
	free(names->entries);
	free(names);
}

static int find(const struct cgroup_names *names, uint64_t id, char *path,
		size_t size)
{
	for (size_t i = 0; i < names->count; i++) {
		if (names->entries[i].id != id)
			continue;
		/* A tenant names its own cgroups: a culprit's path reaches
		 * the log, top's terminal and metrics, so no control
		 * character gets through (and no cgroup write accepts the
		 * escaped form: enforce_config_path_allowed refuses control
		 * characters, and the escaped path names no such cgroup). */
		procfs_escape_control(names->entries[i].path, path, size);
		return 0;
	}
	return -ENOENT;
}

int cgroup_names_lookup(struct cgroup_names *names, uint64_t id,
			uint64_t now_ns, char *path, size_t size)
{
	if (find(names, id, path, size) == 0)
		return 0;
	/* A miss means a new cgroup, or one already gone: walk again, but
	 * not on every miss, since a gone cgroup misses forever. */
	if (names->walked && now_ns - names->walked_at_ns < REWALK_AFTER_NS)
		return -ENOENT;
	clear(names);
	walking = names;
	nftw(names->root, visit, 32, FTW_PHYS | FTW_MOUNT);
	walking = NULL;
	names->walked = true;
	names->walked_at_ns = now_ns;
	return find(names, id, path, size);
}
