// SPDX-License-Identifier: GPL-2.0-only
/*
 * BPF object lifecycle: open, load, attach, map access and the discovery
 * iterator. libbpf's own messages are shown only at warning level, since
 * its debug output is for developers, not operators.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "load/bpf_maps.h"
#include "model/features.h"
#include "base/log.h"
#include "load/loader.h"
#include "load/prog_load.h"
#include "sched.skel.h"

struct loader {
	struct sched_bpf *skel;
	struct bpf_link *iter_link;
	struct sched_thread_stats *stats; /* mmap of thread_stats */
	size_t stats_len;
	int cpu_count;
	/* Empty while attribution is loaded, else the reason it is not. */
	char attribution_why[256];
};

/* libbpf's messages (verifier logs run to hundreds of lines) are for
 * developers: shown only with KVMWARDEN_DEBUG set, so an operator gets the
 * one line loader_open() returns. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list args)
{
	static int verbose = -1;

	if (verbose < 0)
		verbose = getenv("KVMWARDEN_DEBUG") != NULL;
	if (!verbose || level == LIBBPF_DEBUG)
		return 0;
	log_vline(LOG_PRIO_DEBUG, fmt, args);
	return 0;
}

static int map_stats(struct loader *loader)
{
	int fd = bpf_map__fd(loader->skel->maps.thread_stats);
	long page = sysconf(_SC_PAGESIZE);
	size_t len = sizeof(struct sched_thread_stats) * SCHED_MAX_THREADS;
	void *mem;

	len = (len + page - 1) / page * page;
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED)
		return -errno;
	loader->stats = mem;
	loader->stats_len = len;
	return 0;
}

/* A unified (v2-only) host has cgroup2 at /sys/fs/cgroup; hybrid and v1
 * hosts keep the cpu controller in a v1 hierarchy. */
static bool cgroup_is_unified(void)
{
	struct statfs fs;

	return statfs("/sys/fs/cgroup", &fs) == 0 &&
	       fs.f_type == CGROUP2_SUPER_MAGIC;
}

/* The skeleton's own load, which also maps its global data. */
static int load_skel(void *skel)
{
	return sched_bpf__load(skel);
}

/* The scheduler object as the agent loads it: with attribution (the full
 * sched_switch program and the wakeup and migration ones) or the core
 * alone. */
static struct sched_bpf *open_sched(int cpu_count, bool with_attribution)
{
	struct sched_bpf *skel = sched_bpf__open();

	if (!skel)
		return NULL;
	/* One waiter list per possible CPU; culprits named by the cgroup
	 * hierarchy the host's CPU control lives in. */
	bpf_map__set_max_entries(skel->maps.attr_cpus, (uint32_t)cpu_count);
	skel->rodata->culprit_cgroup_v1 = !cgroup_is_unified();
	bpf_program__set_autoload(skel->progs.handle_sched_switch,
				  with_attribution);
	bpf_program__set_autoload(skel->progs.handle_sched_wakeup,
				  with_attribution);
	bpf_program__set_autoload(skel->progs.handle_sched_migrate,
				  with_attribution);
	bpf_program__set_autoload(skel->progs.handle_sched_switch_core,
				  !with_attribution);
	return skel;
}

/* Opens, loads and attaches one variant; `why` says what failed. */
static int load_sched(struct loader *loader, bool with_attribution, char *why,
		      size_t why_size)
{
	int err;

	loader->skel = open_sched(loader->cpu_count, with_attribution);
	if (!loader->skel) {
		err = -errno;
		snprintf(why, why_size, "cannot open the BPF object: %s",
			 strerror(-err));
		return err;
	}
	if (with_attribution)
		bpf_maps_test_shrink(loader->skel->maps.attribution,
				     "KVMWARDEN_TEST_ATTR_ENTRIES",
				     ATTR_MAX_ENTRIES);
	if (with_attribution && features_test_forced("attribution")) {
		snprintf(why, why_size, "cannot load handle_sched_switch: %s",
			 FEATURES_FORCED_REASON);
		return -ECANCELED;
	}
	err = prog_load_object(loader->skel->obj, load_skel, loader->skel, why,
			       why_size);
	if (err)
		return err;
	err = sched_bpf__attach(loader->skel);
	if (err)
		snprintf(why, why_size,
			 "cannot attach to the scheduler tracepoints: %s",
			 strerror(-err));
	return err;
}

int loader_open(struct loader **out, char *why, size_t why_size)
{
	struct loader *loader;
	int err;

	*out = NULL;
	libbpf_set_print(libbpf_print);
	loader = calloc(1, sizeof(*loader));
	if (!loader) {
		snprintf(why, why_size, "out of memory");
		return -ENOMEM;
	}
	loader->cpu_count = bpf_maps_possible_cpus(why, why_size);
	if (loader->cpu_count < 0) {
		err = loader->cpu_count;
		goto cleanup;
	}
	/* Attribution is a feature: when its programs cannot load or
	 * attach, steal is measured by the core alone and the reason kept.
	 * A core that fails too is the one failure that stops the agent. */
	err = load_sched(loader, true, loader->attribution_why,
			 sizeof(loader->attribution_why));
	if (err) {
		sched_bpf__destroy(loader->skel);
		loader->skel = NULL;
		if (!loader->attribution_why[0])
			snprintf(loader->attribution_why,
				 sizeof(loader->attribution_why), "%s",
				 strerror(-err));
		err = load_sched(loader, false, why, why_size);
		if (err)
			goto cleanup;
	}
	loader->iter_link = bpf_program__attach_iter(
		loader->skel->progs.discover_threads, NULL);
	if (!loader->iter_link) {
		err = -errno;
		snprintf(why, why_size, "cannot attach the task iterator: %s",
			 strerror(-err));
		goto cleanup;
	}
	err = map_stats(loader);
	if (err) {
		snprintf(why, why_size, "cannot map the thread counters: %s",
			 strerror(-err));
		goto cleanup;
	}
	*out = loader;
	return 0;

cleanup:
	loader_close(loader);
	return err;
}

static struct bpf_object *check_open(void *ctx, void **skel_out)
{
	struct sched_bpf *skel = open_sched(*(int *)ctx, true);

	*skel_out = skel;
	return skel ? skel->obj : NULL;
}

static void check_close(void *skel)
{
	sched_bpf__destroy(skel);
}

int loader_check(struct prog_check *rows, size_t max, char *why,
		 size_t why_size)
{
	int cpu_count = bpf_maps_possible_cpus(why, why_size);
	struct prog_check_target target = {
		.object = "sched",
		.open = check_open,
		.load = load_skel,
		.close = check_close,
		.ctx = &cpu_count,
	};
	int count;

	if (cpu_count < 0)
		return cpu_count;
	libbpf_set_print(libbpf_print);
	count = prog_check_target(&target, rows, max);
	if (count < 0) {
		snprintf(why, why_size, "cannot open the BPF object: %s",
			 strerror(-count));
		return count;
	}
	/* The core replaces the full sched_switch program only when
	 * attribution cannot load: then the agent needs it. */
	for (int i = 0; i < count; i++) {
		if (strcmp(rows[i].name, "handle_sched_switch") == 0 &&
		    !prog_check_passes(&rows[i]))
			for (int j = 0; j < count; j++)
				if (strcmp(rows[j].name,
					   "handle_sched_switch_core") == 0)
					rows[j].needed = true;
	}
	return count;
}

void loader_close(struct loader *loader)
{
	if (!loader)
		return;
	if (loader->stats)
		munmap(loader->stats, loader->stats_len);
	bpf_link__destroy(loader->iter_link);
	sched_bpf__destroy(loader->skel);
	free(loader);
}

bool loader_attribution_available(const struct loader *loader)
{
	return loader && !loader->attribution_why[0];
}

const char *loader_attribution_why(const struct loader *loader)
{
	return loader ? loader->attribution_why : "not loaded";
}

const struct sched_thread_stats *loader_thread_stats(struct loader *loader,
						     uint32_t slot)
{
	if (slot >= SCHED_MAX_THREADS)
		return NULL;
	return &loader->stats[slot];
}

void loader_reset_slot(struct loader *loader, uint32_t slot)
{
	if (slot < SCHED_MAX_THREADS)
		memset(&loader->stats[slot], 0, sizeof(loader->stats[slot]));
}

int loader_register(struct loader *loader, uint32_t tid,
		    const struct sched_registration *reg)
{
	int fd = bpf_map__fd(loader->skel->maps.registrations);

	return bpf_map_update_elem(fd, &tid, reg, BPF_ANY) ? -errno : 0;
}

int loader_cancel_registration(struct loader *loader, uint32_t tid,
			       uint32_t slot)
{
	int fd = bpf_map__fd(loader->skel->maps.registrations);
	struct sched_registration reg;

	if (bpf_map_lookup_elem(fd, &tid, &reg))
		return errno == ENOENT ? 0 : -errno;
	if (reg.slot != slot)
		return 0; /* another thread's, under a recycled tid */
	if (bpf_map_delete_elem(fd, &tid) && errno != ENOENT)
		return -errno;
	return 0;
}

int loader_discover(struct loader *loader, struct sched_vcpu_record **records,
		    size_t *count)
{
	size_t cap_bytes = 64 * sizeof(**records), used_bytes = 0;
	char *buf;
	int iter_fd, err = 0;
	ssize_t got;

	*records = NULL;
	*count = 0;
	iter_fd = bpf_iter_create(bpf_link__fd(loader->iter_link));
	if (iter_fd < 0)
		return -errno;
	buf = malloc(cap_bytes);
	if (!buf) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (;;) {
		if (used_bytes == cap_bytes) {
			char *bigger = realloc(buf, 2 * cap_bytes);

			if (!bigger) {
				err = -ENOMEM;
				goto cleanup;
			}
			buf = bigger;
			cap_bytes *= 2;
		}
		got = read(iter_fd, buf + used_bytes, cap_bytes - used_bytes);
		if (got < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			err = -errno;
			goto cleanup;
		}
		if (got == 0)
			break;
		used_bytes += (size_t)got;
	}
	*records = (struct sched_vcpu_record *)buf;
	*count = used_bytes / sizeof(**records);
	buf = NULL;
cleanup:
	free(buf);
	close(iter_fd);
	return err;
}

int loader_probe_map_fd(struct loader *loader)
{
	return bpf_map__fd(loader->skel->maps.sched_errors);
}

int loader_thread_state_fd(struct loader *loader)
{
	int fd;

	if (!loader || !loader->skel)
		return -ENODEV;
	fd = bpf_map__fd(loader->skel->maps.thread_state);
	return fd >= 0 ? fd : -ENODEV;
}

int loader_read_errors(struct loader *loader, uint64_t totals[SCHED_ERR_COUNT])
{
	return bpf_maps_sum_percpu(bpf_map__fd(loader->skel->maps.sched_errors),
				   loader->cpu_count, totals, SCHED_ERR_COUNT);
}

int loader_read_program_stats(struct loader *loader,
			      struct loader_program_stats *out, size_t max)
{
	struct bpf_program *programs[LOADER_PROGRAMS] = {
		loader_attribution_available(loader) ?
			loader->skel->progs.handle_sched_switch :
			loader->skel->progs.handle_sched_switch_core,
		loader->skel->progs.discover_threads,
	};

	/* Both are loaded: the sched_switch program the agent runs and the
	 * iterator, so each has a row. */
	return prog_read_stats(programs, LOADER_PROGRAMS, out, max);
}

static int fill_attribution(int fd, const void *key, void *entry, void *ctx)
{
	struct loader_attribution *out = entry;

	if (bpf_map_lookup_elem(fd, key, &out->steal_ns))
		return -errno;
	memcpy(&out->key, key, sizeof(out->key));
	return 0;
}

int loader_read_attribution(struct loader *loader,
			    struct loader_attribution **entries, size_t *count)
{
	return bpf_maps_read_entries(
		bpf_map__fd(loader->skel->maps.attribution),
		sizeof(struct attr_key), sizeof(**entries), fill_attribution,
		NULL, (void **)entries, count);
}

int loader_forget_group(struct loader *loader, uint32_t group)
{
	struct loader_attribution *entries;
	int fd = bpf_map__fd(loader->skel->maps.attribution);
	size_t count;
	int err;

	err = loader_read_attribution(loader, &entries, &count);
	if (err)
		return err;
	for (size_t i = 0; i < count; i++) {
		const struct attr_key *key = &entries[i].key;

		if (key->victim_group == group ||
		    (key->kind == ATTR_CULPRIT_GUEST && key->id == group))
			bpf_map_delete_elem(fd, key);
	}
	free(entries);
	return 0;
}

int loader_read_cpu_waits(struct loader *loader, uint64_t *vcpu_wait_ns,
			  int max_cpus)
{
	int fd = bpf_map__fd(loader->skel->maps.attr_cpus);
	struct attr_cpu cpu;
	int filled = 0;

	for (uint32_t id = 0;
	     id < (uint32_t)loader->cpu_count && (int)id < max_cpus; id++) {
		if (bpf_map_lookup_elem(fd, &id, &cpu))
			return filled ? filled : -errno;
		vcpu_wait_ns[id] = cpu.vcpu_wait_ns;
		filled++;
	}
	return filled;
}
