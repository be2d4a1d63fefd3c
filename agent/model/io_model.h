/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The I/O model: raw per-(owner, device) samples from BPF, which owner is
 * which guest, and the window report (deltas) that dump, JSON and
 * Prometheus read. Pure data: no I/O, no BPF; names of cgroups and devices
 * come in through callbacks so unit tests need no /sys.
 */
#ifndef KVMWARDEN_IO_MODEL_H
#define KVMWARDEN_IO_MODEL_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block.h"
#include "model/vmm_identity.h"

struct io_owner_sample {
	struct block_owner_key key;
	struct block_owner_stats stats;
};

struct io_blocked_sample {
	struct block_blocked_key key;
	uint64_t blocked_ns;
};

/* Everything BPF counted, cumulative, at one instant. */
struct io_snapshot {
	struct io_owner_sample *owners;
	size_t owner_count;
	struct io_blocked_sample *blocked;
	size_t blocked_count;
	uint64_t errors[BLOCK_ERR_COUNT];
};

void io_snapshot_free(struct io_snapshot *snapshot);

/* A guest as the I/O side knows it: its VMM's pid and, when the guest has
 * a blk-cgroup of its own, that cgroup's id (0 otherwise). */
struct io_guest_ref {
	int pid;
	uint64_t cgroup_id;
	char name[PROCFS_NAME_LEN];
};

/* Zeroes cgroup_id of refs whose cgroup another ref shares, or that is
 * the hierarchy's root (`root_id`): such a cgroup does not tell guests
 * apart, so their I/O is told apart by tgid instead. */
void io_guest_refs_settle(struct io_guest_ref *refs, size_t count,
			  uint64_t root_id);

/* The index of the guest that owns (cgroup_id, tgid), or -1 for the host:
 * the charged cgroup when it is a guest's own, else the submitting tgid. */
int io_owner_guest(const struct io_guest_ref *refs, size_t count,
		   uint64_t cgroup_id, uint32_t tgid);

/* Names supplied by the caller: a cgroup id's path below the hierarchy
 * root, a device's kernel name ("vda"). Either returns 0 or -errno. */
struct io_namer {
	int (*cgroup_path)(void *ctx, uint64_t cgroup_id, char *path,
			   size_t size);
	int (*device_name)(void *ctx, uint32_t dev, char *name, size_t size);
	void *ctx;
};

enum io_culprit_kind { IO_CULPRIT_GUEST = 0, IO_CULPRIT_CGROUP = 1 };

struct io_culprit {
	uint32_t kind; /* enum io_culprit_kind */
	char name[PROCFS_PATH_LEN]; /* a guest name or a cgroup path */
	uint64_t blocked_ns;
};

/* Counters of one owner on one device, in the agent's types. */
struct io_figures {
	uint64_t ops[BLOCK_OP_COUNT];
	uint64_t bytes[BLOCK_OP_COUNT];
	uint64_t queue_ns;
	uint64_t device_ns;
	uint64_t queue_max_ns;
	uint64_t device_max_ns;
	uint64_t issued;
	uint64_t retired;
	uint64_t queue_hist[BLOCK_HIST_SLOTS];
	uint64_t device_hist[BLOCK_HIST_SLOTS];
};

/* after - before, clamped at 0 per field; the maxima are after's. */
void io_figures_delta(struct io_figures *out,
		      const struct block_owner_stats *after,
		      const struct block_owner_stats *before);
/* sum += add; maxima are the larger. */
void io_figures_add(struct io_figures *sum, const struct io_figures *add);

/* One owner's counters from the copies of a per-CPU map entry (cpu_count
 * of them, as the kernel lays them out): sums, maxima the largest. */
void io_owner_stats_fold(struct block_owner_stats *total,
			 const struct block_owner_stats *per_cpu,
			 size_t cpu_count);

/* One owner's I/O on one device in the window. */
struct io_device {
	uint32_t dev;
	char device[24]; /* "MAJ:MIN" */
	char name[64]; /* "vda", or "" when unknown */
	struct io_figures delta; /* queue_max/device_max: after's */
	uint64_t in_flight; /* at the window's end */
	struct io_culprit *blocked_behind; /* largest first */
	size_t blocked_count;
};

/* A guest (pid > 0) or a host cgroup (pid 0, cgroup set). */
struct io_owner {
	int pid;
	char name[PROCFS_NAME_LEN]; /* the guest's; "" for host */
	char cgroup[PROCFS_PATH_LEN]; /* host: the charged cgroup's path */
	struct io_device *devices; /* sorted by dev */
	size_t device_count;
};

struct io_report {
	bool available;
	char why[256]; /* when not available: one line for the operator */
	struct io_owner *guests; /* one per ref that did I/O, in ref order */
	size_t guest_count;
	struct io_owner *hosts; /* sorted by cgroup path */
	size_t host_count;
	uint64_t errors[BLOCK_ERR_COUNT]; /* in the window */
};

/* The figures of [before, after] (before may be NULL: since load). Owners
 * with nothing issued, completed or in flight are left out. Returns 0 or
 * -ENOMEM (out is then empty). */
int io_report_build(struct io_report *out, const struct io_snapshot *before,
		    const struct io_snapshot *after,
		    const struct io_guest_ref *refs, size_t ref_count,
		    const struct io_namer *namer);
void io_report_free(struct io_report *report);
/* The owner entry of guest `pid`, or NULL. */
const struct io_owner *io_report_guest(const struct io_report *report, int pid);

/* "requests_full", "merged", ...: the names every output gives them. */
const char *io_error_name(int which);
/* "read", "write", "other". */
const char *io_op_name(int op);

/* The value of DEVNAME= in a /sys/dev/block/M:m/uevent text: 0, -ENOENT
 * without one, -EINVAL on bad arguments or a name too long for `size`. */
int io_parse_uevent_devname(const char *uevent, char *name, size_t size);
/* The cgroup path of the blkio hierarchy in a /proc/PID/cgroup text: the
 * v1 line whose controllers include "blkio" when v1 is true, else the
 * "0::" line. 0, -ENOENT without such a line, -EINVAL when malformed. */
int io_parse_blkio_cgroup(const char *contents, bool v1, char *path,
			  size_t size);

#endif
