// SPDX-License-Identifier: GPL-2.0-only
/*
 * Block I/O collection: which guest each BPF owner is, and what cgroups
 * and devices are called. Touches /proc and /sys only to name things; the
 * merging and deltas are io_model.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "collect/cgroup_names.h"
#include "collect/block_collector.h"
#include "load/block_loader.h"
#include "load/collect_source.h"

#define DEVICE_NAMES 64

struct device_name {
	uint32_t dev;
	char name[64];
};

struct block_collector {
	struct block_loader *loader; /* NULL: I/O unavailable */
	const struct block_source *source; /* how loader is reached */
	char why[256];
	const char *proc_root;
	bool v1; /* blkio is a v1 hierarchy (hybrid or v1 host) */
	char root[256]; /* the blk-cgroup hierarchy's mount, "" if none */
	struct cgroup_names *names; /* ids of root's cgroups -> paths */
	struct device_name devices[DEVICE_NAMES];
	size_t device_count;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* The hierarchy the kernel charges I/O in: cgroup2 when /sys/fs/cgroup is
 * one, else the v1 blkio hierarchy. */
static void pick_root(struct block_collector *collector)
{
	static const char *const v1_blkio[] = { "/sys/fs/cgroup/blkio",
						"/sys/fs/cgroup/blkio,io" };
	struct statfs fs;

	if (statfs("/sys/fs/cgroup", &fs) == 0 &&
	    fs.f_type == CGROUP2_SUPER_MAGIC) {
		snprintf(collector->root, sizeof(collector->root),
			 "/sys/fs/cgroup");
		return;
	}
	for (size_t i = 0; i < sizeof(v1_blkio) / sizeof(v1_blkio[0]); i++) {
		if (statfs(v1_blkio[i], &fs) == 0 &&
		    fs.f_type == CGROUP_SUPER_MAGIC) {
			snprintf(collector->root, sizeof(collector->root), "%s",
				 v1_blkio[i]);
			collector->v1 = true;
			return;
		}
	}
}

struct block_collector *
block_collector_open_source(const char *proc_root,
			    const struct block_source *source,
			    struct block_loader *loader, const char *why)
{
	struct block_collector *collector = calloc(1, sizeof(*collector));

	if (!collector)
		return NULL;
	collector->proc_root = proc_root ? proc_root : "/proc";
	collector->source = source;
	collector->loader = loader;
	snprintf(collector->why, sizeof(collector->why), "%s", why ? why : "");
	pick_root(collector);
	if (collector->root[0]) {
		collector->names = cgroup_names_new(collector->root);
		if (!collector->names) {
			free(collector);
			return NULL;
		}
	}
	return collector;
}

struct block_collector *block_collector_open(const char *proc_root)
{
	struct block_collector *collector;
	struct block_loader *loader = NULL;
	char why[256] = "";

	/* Opened before the collector exists, as before: the one line the
	 * caller shows comes from the loader. */
	if (block_loader_open(&loader, why, sizeof(why)))
		loader = NULL;
	collector = block_collector_open_source(
		proc_root, &collect_source_block, loader, why);
	if (!collector)
		block_loader_close(loader);
	return collector;
}

void block_collector_close(struct block_collector *collector)
{
	if (!collector)
		return;
	if (collector->loader)
		collector->source->close(collector->loader);
	cgroup_names_free(collector->names);
	free(collector);
}

bool block_collector_available(const struct block_collector *collector)
{
	return collector && collector->loader;
}

const char *block_collector_why(const struct block_collector *collector)
{
	return collector ? collector->why : "out of memory";
}

static bool table_has_pid(const struct guest_table *table, int pid)
{
	for (size_t i = 0; i < table->guest_count; i++)
		if (table->guests[i].pid == pid)
			return true;
	return false;
}

int block_collector_sync(struct block_collector *collector,
			 const struct guest_table *table)
{
	uint32_t *watched;
	size_t count;
	int err = 0;

	if (!block_collector_available(collector))
		return 0;
	/* Pruned guests: their pid may be reused, so stop telling it apart
	 * and drop its counters, as the table dropped the guest. */
	if (collector->source->watched(collector->loader, &watched, &count) ==
	    0) {
		for (size_t i = 0; i < count; i++) {
			if (table_has_pid(table, (int)watched[i]))
				continue;
			collector->source->unwatch(collector->loader,
						   watched[i]);
			collector->source->forget_tgid(collector->loader,
						       watched[i]);
		}
		free(watched);
	}
	for (size_t i = 0; i < table->guest_count && !err; i++) {
		const struct guest *guest = &table->guests[i];

		if (!guest->exited)
			err = collector->source->watch(collector->loader,
						       (uint32_t)guest->pid);
	}
	return err;
}

int block_collector_snapshot(struct block_collector *collector,
			     struct io_snapshot *out)
{
	memset(out, 0, sizeof(*out));
	if (!block_collector_available(collector))
		return 0;
	return collector->source->read(collector->loader, out);
}

static int read_small_file(const char *path, char *buf, size_t size)
{
	ssize_t got;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	got = read(fd, buf, size - 1);
	close(fd);
	if (got < 0)
		return -errno;
	buf[got] = '\0';
	return 0;
}

/* The id of the guest's own blk-cgroup: the directory's inode number, which
 * is the kernfs id BPF reads. 0 when it cannot be told. */
static uint64_t guest_cgroup_id(const struct block_collector *collector,
				int pid)
{
	char path[PROCFS_PATH_LEN + 320], text[4096], cgroup[PROCFS_PATH_LEN];
	struct stat st;

	if (!collector->root[0])
		return 0;
	snprintf(path, sizeof(path), "%s/%d/cgroup", collector->proc_root, pid);
	if (read_small_file(path, text, sizeof(text)) ||
	    io_parse_blkio_cgroup(text, collector->v1, cgroup, sizeof(cgroup)))
		return 0;
	snprintf(path, sizeof(path), "%s%s", collector->root,
		 strcmp(cgroup, "/") ? cgroup : "");
	if (stat(path, &st))
		return 0;
	return (uint64_t)st.st_ino;
}

static int name_cgroup(void *ctx, uint64_t cgroup_id, char *path, size_t size)
{
	struct block_collector *collector = ctx;

	if (!collector->names)
		return -ENOENT;
	return cgroup_names_lookup(collector->names, cgroup_id, now_ns(), path,
				   size);
}

static int name_device(void *ctx, uint32_t dev, char *name, size_t size)
{
	struct block_collector *collector = ctx;
	struct device_name *cached;
	char path[64], text[1024];
	int err;

	for (size_t i = 0; i < collector->device_count; i++) {
		if (collector->devices[i].dev != dev)
			continue;
		snprintf(name, size, "%s", collector->devices[i].name);
		return name[0] ? 0 : -ENOENT;
	}
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/uevent",
		 block_dev_major(dev), block_dev_minor(dev));
	err = read_small_file(path, text, sizeof(text));
	if (!err)
		err = io_parse_uevent_devname(text, name, size);
	/* A device that is gone stays unnamed; cache misses too, so a dead
	 * device costs one read, not one per report. */
	if (collector->device_count < DEVICE_NAMES) {
		cached = &collector->devices[collector->device_count++];
		cached->dev = dev;
		snprintf(cached->name, sizeof(cached->name), "%s",
			 err ? "" : name);
	}
	return err;
}

int block_collector_report(struct block_collector *collector,
			   const struct guest_table *table,
			   const struct io_snapshot *before,
			   const struct io_snapshot *after,
			   struct io_report *out)
{
	struct io_namer namer = { .cgroup_path = name_cgroup,
				  .device_name = name_device,
				  .ctx = collector };
	struct io_guest_ref *refs;
	uint64_t root_id = 0;
	struct stat st;
	int err;

	memset(out, 0, sizeof(*out));
	if (!block_collector_available(collector)) {
		snprintf(out->why, sizeof(out->why), "%s",
			 block_collector_why(collector));
		return 0;
	}
	refs = calloc(table->guest_count + 1, sizeof(*refs));
	if (!refs)
		return -ENOMEM;
	for (size_t i = 0; i < table->guest_count; i++) {
		const struct guest *guest = &table->guests[i];

		refs[i].pid = guest->pid;
		snprintf(refs[i].name, sizeof(refs[i].name), "%s", guest->name);
		if (!guest->exited)
			refs[i].cgroup_id =
				guest_cgroup_id(collector, guest->pid);
	}
	if (collector->root[0] && stat(collector->root, &st) == 0)
		root_id = (uint64_t)st.st_ino;
	io_guest_refs_settle(refs, table->guest_count, root_id);
	err = io_report_build(out, before, after, refs, table->guest_count,
			      &namer);
	free(refs);
	return err;
}
