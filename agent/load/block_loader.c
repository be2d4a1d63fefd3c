// SPDX-License-Identifier: GPL-2.0-only
/*
 * The block-layer BPF object: probe which tracepoints the kernel has, load,
 * attach, and read its maps into plain snapshots. Kept apart from loader.c
 * so that I/O can fail to load while steal measurement goes on.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "load/block_loader.h"
#include "block.skel.h"
#include "load/bpf_maps.h"
#include "model/features.h"
#include "load/prog_load.h"

struct block_loader {
	struct block_bpf *skel;
	int cpu_count;
};

/* Whether the kernel's BTF has the tracepoint (btf_trace_NAME), which is
 * what tp_btf attaches by: a probe, not a kernel version check. */
static bool has_tracepoint(const char *name)
{
	return libbpf_find_vmlinux_btf_id(name, BPF_TRACE_RAW_TP) > 0;
}

/*
 * The ends of a request's life before its beginnings. The other way round
 * (the skeleton's order), a request issued after block_issue was attached
 * that completed before block_complete was stayed in the table as in
 * flight and read as `lost` when its struct came back (a tracer attached
 * that way saw dozens, on consecutive tags, in its first milliseconds).
 * In this order a request begun before the agent is only ever `unmatched`
 * at its completion; what `lost` still counts is the kernel's (README).
 */
static int attach_in_order(struct block_bpf *skel)
{
	struct {
		struct bpf_program *program;
		struct bpf_link **link;
	} order[] = {
		{ skel->progs.block_complete, &skel->links.block_complete },
		{ skel->progs.block_merge, &skel->links.block_merge },
		{ skel->progs.block_requeue, &skel->links.block_requeue },
		{ skel->progs.block_issue, &skel->links.block_issue },
		{ skel->progs.block_insert, &skel->links.block_insert },
		{ skel->progs.block_start, &skel->links.block_start },
	};

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (!bpf_program__autoload(order[i].program))
			continue;
		*order[i].link = bpf_program__attach(order[i].program);
		if (!*order[i].link)
			return -errno;
	}
	return 0;
}

/* The skeleton's own load, which also maps its global data. */
static int load_skel(void *skel)
{
	return block_bpf__load(skel);
}

/* The block object as the agent loads it on this kernel. */
static struct block_bpf *open_block(void)
{
	struct block_bpf *skel = block_bpf__open();
	bool with_io_start;

	if (!skel)
		return NULL;
	/* block_io_start (6.5+) sees the submitter earlier; older kernels
	 * catch it at insert or issue, and only they need the insert program.
	 * Merges and requeues only tidy up. */
	with_io_start = has_tracepoint("block_io_start");
	bpf_program__set_autoload(skel->progs.block_start, with_io_start);
	bpf_program__set_autoload(skel->progs.block_insert, !with_io_start);
	bpf_program__set_autoload(skel->progs.block_merge,
				  has_tracepoint("block_rq_merge"));
	bpf_program__set_autoload(skel->progs.block_requeue,
				  has_tracepoint("block_rq_requeue"));
	return skel;
}

static struct bpf_object *check_open(void *ctx, void **skel_out)
{
	struct block_bpf *skel = open_block();

	*skel_out = skel;
	return skel ? skel->obj : NULL;
}

static void check_close(void *skel)
{
	block_bpf__destroy(skel);
}

int block_loader_check(struct prog_check *rows, size_t max)
{
	struct prog_check_target target = {
		.object = "block",
		.open = check_open,
		.load = load_skel,
		.close = check_close,
	};

	return prog_check_target(&target, rows, max);
}

int block_loader_open(struct block_loader **out, char *why, size_t why_size)
{
	static const char *const required[] = { "block_rq_insert",
						"block_rq_issue",
						"block_rq_complete" };
	struct block_loader *loader;
	int err;

	*out = NULL;
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		if (!has_tracepoint(required[i])) {
			snprintf(why, why_size,
				 "the kernel has no %s tracepoint in its BTF",
				 required[i]);
			return -ENOENT;
		}
	}
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
	loader->skel = open_block();
	if (!loader->skel) {
		err = -errno;
		snprintf(why, why_size, "cannot open the block BPF object: %s",
			 strerror(-err));
		goto cleanup;
	}
	/* A test keeps N sets of the request table: requests hashed to a set
	 * that is gone go unmeasured, and each must be counted. */
	bpf_maps_test_shrink(loader->skel->maps.requests,
			     "KVMWARDEN_TEST_BLOCK_SETS",
			     BLOCK_MAX_REQUESTS / 8);
	/* A test fails the load as the kernel would, through the same
	 * path and in the same words, so the agent's handling of a missing
	 * block_io is what gets tested. block_complete always loads. */
	if (features_test_forced("block_io")) {
		err = -ECANCELED;
		snprintf(why, why_size, "cannot load %s: %s",
			 bpf_program__name(loader->skel->progs.block_complete),
			 FEATURES_FORCED_REASON);
		goto cleanup;
	}
	err = prog_load_object(loader->skel->obj, load_skel, loader->skel, why,
			       why_size);
	if (err)
		goto cleanup;
	err = attach_in_order(loader->skel);
	if (err) {
		snprintf(why, why_size,
			 "cannot attach to the block tracepoints: %s",
			 strerror(-err));
		goto cleanup;
	}
	*out = loader;
	return 0;

cleanup:
	block_loader_close(loader);
	return err;
}

void block_loader_close(struct block_loader *loader)
{
	if (!loader)
		return;
	block_bpf__destroy(loader->skel);
	free(loader);
}

int block_loader_watch(struct block_loader *loader, uint32_t tgid)
{
	int fd = bpf_map__fd(loader->skel->maps.watched_tgids);
	uint32_t unused = 0;

	return bpf_map_update_elem(fd, &tgid, &unused, BPF_ANY) ? -errno : 0;
}

int block_loader_unwatch(struct block_loader *loader, uint32_t tgid)
{
	int fd = bpf_map__fd(loader->skel->maps.watched_tgids);

	if (bpf_map_delete_elem(fd, &tgid) && errno != ENOENT)
		return -errno;
	return 0;
}

int block_loader_watched(struct block_loader *loader, uint32_t **tgids,
			 size_t *count)
{
	return bpf_maps_read_keys(bpf_map__fd(loader->skel->maps.watched_tgids),
				  sizeof(**tgids), (void **)tgids, count);
}

/* owner_stats is a per-CPU map: each entry comes as one copy per possible
 * CPU (the stats struct is a multiple of 8 bytes, libbpf's stride). */
_Static_assert(sizeof(struct block_owner_stats) % 8 == 0,
	       "per-CPU values are laid out 8-byte aligned");

static int read_owners(struct block_loader *loader, struct io_snapshot *out)
{
	int fd = bpf_map__fd(loader->skel->maps.owner_stats);
	struct block_owner_stats *per_cpu;
	struct block_owner_key *keys;
	size_t count;
	int err;

	err = bpf_maps_read_keys(fd, sizeof(*keys), (void **)&keys, &count);
	if (err)
		return err;
	per_cpu = calloc((size_t)loader->cpu_count, sizeof(*per_cpu));
	out->owners = calloc(count + 1, sizeof(*out->owners));
	if (!out->owners || !per_cpu) {
		free(per_cpu);
		free(keys);
		return -ENOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		struct io_owner_sample *sample = &out->owners[out->owner_count];

		/* An entry deleted between the two calls is simply gone. */
		if (bpf_map_lookup_elem(fd, &keys[i], per_cpu))
			continue;
		io_owner_stats_fold(&sample->stats, per_cpu,
				    (size_t)loader->cpu_count);
		sample->key = keys[i];
		out->owner_count++;
	}
	free(per_cpu);
	free(keys);
	return 0;
}

static int read_blocked(struct block_loader *loader, struct io_snapshot *out)
{
	int fd = bpf_map__fd(loader->skel->maps.blocked_behind);
	struct block_blocked_key *keys;
	size_t count;
	int err;

	err = bpf_maps_read_keys(fd, sizeof(*keys), (void **)&keys, &count);
	if (err)
		return err;
	out->blocked = calloc(count + 1, sizeof(*out->blocked));
	if (!out->blocked) {
		free(keys);
		return -ENOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		struct io_blocked_sample *sample =
			&out->blocked[out->blocked_count];
		__u64 ns;

		if (bpf_map_lookup_elem(fd, &keys[i], &ns))
			continue;
		sample->key = keys[i];
		sample->blocked_ns = ns;
		out->blocked_count++;
	}
	free(keys);
	return 0;
}

static int read_errors(struct block_loader *loader,
		       uint64_t totals[BLOCK_ERR_COUNT])
{
	int fd = bpf_map__fd(loader->skel->maps.block_errors);
	uint64_t *per_cpu;
	int err = 0;

	per_cpu = calloc(loader->cpu_count, sizeof(*per_cpu));
	if (!per_cpu)
		return -ENOMEM;
	for (uint32_t which = 0; which < BLOCK_ERR_COUNT; which++) {
		totals[which] = 0;
		if (bpf_map_lookup_elem(fd, &which, per_cpu)) {
			err = -errno;
			break;
		}
		for (int cpu = 0; cpu < loader->cpu_count; cpu++)
			totals[which] += per_cpu[cpu];
	}
	free(per_cpu);
	return err;
}

int block_loader_read(struct block_loader *loader, struct io_snapshot *out)
{
	int err;

	memset(out, 0, sizeof(*out));
	err = read_owners(loader, out);
	if (!err)
		err = read_blocked(loader, out);
	if (!err)
		err = read_errors(loader, out->errors);
	if (err)
		io_snapshot_free(out);
	return err;
}

int block_loader_forget_tgid(struct block_loader *loader, uint32_t tgid)
{
	int owners_fd = bpf_map__fd(loader->skel->maps.owner_stats);
	int blocked_fd = bpf_map__fd(loader->skel->maps.blocked_behind);
	struct block_owner_key *owners;
	struct block_blocked_key *blocked;
	size_t count;
	int err;

	err = bpf_maps_read_keys(owners_fd, sizeof(*owners), (void **)&owners,
				 &count);
	if (err)
		return err;
	for (size_t i = 0; i < count; i++)
		if (owners[i].tgid == tgid)
			bpf_map_delete_elem(owners_fd, &owners[i]);
	free(owners);
	err = bpf_maps_read_keys(blocked_fd, sizeof(*blocked),
				 (void **)&blocked, &count);
	if (err)
		return err;
	for (size_t i = 0; i < count; i++)
		if (blocked[i].victim_tgid == tgid ||
		    blocked[i].culprit_tgid == tgid)
			bpf_map_delete_elem(blocked_fd, &blocked[i]);
	free(blocked);
	return 0;
}

int block_loader_read_program_stats(struct block_loader *loader,
				    struct loader_program_stats *out,
				    size_t max)
{
	struct bpf_program *programs[BLOCK_LOADER_PROGRAMS] = {
		loader->skel->progs.block_start,
		loader->skel->progs.block_insert,
		loader->skel->progs.block_issue,
		loader->skel->progs.block_complete,
		loader->skel->progs.block_requeue,
		loader->skel->progs.block_merge,
	};

	/* A program not loaded on this kernel has no row. */
	return prog_read_stats(programs, BLOCK_LOADER_PROGRAMS, out, max);
}
