// SPDX-License-Identifier: GPL-2.0-only
/*
 * Deltas of the BPF I/O counters, which guest owns them, and merging the
 * (cgroup, tgid) pairs of one guest or host cgroup into one entry per
 * device. Pure: names come from the caller's callbacks.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/io_model.h"

static uint64_t minus(uint64_t after, uint64_t before)
{
	return after > before ? after - before : 0;
}

void io_snapshot_free(struct io_snapshot *snapshot)
{
	if (!snapshot)
		return;
	free(snapshot->owners);
	free(snapshot->blocked);
	memset(snapshot, 0, sizeof(*snapshot));
}

void io_guest_refs_settle(struct io_guest_ref *refs, size_t count,
			  uint64_t root_id)
{
	/* Decide on a copy of the ids: zeroing while scanning would hide a
	 * third guest's share of the same cgroup. */
	uint64_t *ids = malloc(count * sizeof(*ids) + 1);

	if (!ids) {
		for (size_t i = 0; i < count; i++)
			refs[i].cgroup_id = 0; /* tgids still tell them apart */
		return;
	}
	for (size_t i = 0; i < count; i++)
		ids[i] = refs[i].cgroup_id;
	for (size_t i = 0; i < count; i++) {
		bool shared = ids[i] == root_id;

		for (size_t j = 0; j < count && !shared; j++)
			shared = j != i && ids[j] == ids[i];
		if (shared)
			refs[i].cgroup_id = 0;
	}
	free(ids);
}

int io_owner_guest(const struct io_guest_ref *refs, size_t count,
		   uint64_t cgroup_id, uint32_t tgid)
{
	if (cgroup_id) {
		for (size_t i = 0; i < count; i++)
			if (refs[i].cgroup_id == cgroup_id)
				return (int)i;
	}
	if (tgid) {
		for (size_t i = 0; i < count; i++)
			if (refs[i].pid > 0 && (uint32_t)refs[i].pid == tgid)
				return (int)i;
	}
	return -1;
}

void io_figures_delta(struct io_figures *out,
		      const struct block_owner_stats *after,
		      const struct block_owner_stats *before)
{
	static const struct block_owner_stats zero;

	if (!before)
		before = &zero;
	for (int op = 0; op < BLOCK_OP_COUNT; op++) {
		out->ops[op] = minus(after->ops[op], before->ops[op]);
		out->bytes[op] = minus(after->bytes[op], before->bytes[op]);
	}
	out->queue_ns = minus(after->queue_ns, before->queue_ns);
	out->device_ns = minus(after->device_ns, before->device_ns);
	out->queue_max_ns = after->queue_max_ns;
	out->device_max_ns = after->device_max_ns;
	out->issued = minus(after->issued, before->issued);
	out->retired = minus(after->retired, before->retired);
	for (int slot = 0; slot < BLOCK_HIST_SLOTS; slot++) {
		out->queue_hist[slot] = minus(after->queue_hist[slot],
					      before->queue_hist[slot]);
		out->device_hist[slot] = minus(after->device_hist[slot],
					       before->device_hist[slot]);
	}
}

void io_figures_add(struct io_figures *sum, const struct io_figures *add)
{
	for (int op = 0; op < BLOCK_OP_COUNT; op++) {
		sum->ops[op] += add->ops[op];
		sum->bytes[op] += add->bytes[op];
	}
	sum->queue_ns += add->queue_ns;
	sum->device_ns += add->device_ns;
	if (add->queue_max_ns > sum->queue_max_ns)
		sum->queue_max_ns = add->queue_max_ns;
	if (add->device_max_ns > sum->device_max_ns)
		sum->device_max_ns = add->device_max_ns;
	sum->issued += add->issued;
	sum->retired += add->retired;
	for (int slot = 0; slot < BLOCK_HIST_SLOTS; slot++) {
		sum->queue_hist[slot] += add->queue_hist[slot];
		sum->device_hist[slot] += add->device_hist[slot];
	}
}

void io_owner_stats_fold(struct block_owner_stats *total,
			 const struct block_owner_stats *per_cpu,
			 size_t cpu_count)
{
	memset(total, 0, sizeof(*total));
	for (size_t cpu = 0; cpu < cpu_count; cpu++) {
		const struct block_owner_stats *one = &per_cpu[cpu];

		for (int op = 0; op < BLOCK_OP_COUNT; op++) {
			total->ops[op] += one->ops[op];
			total->bytes[op] += one->bytes[op];
		}
		total->queue_ns += one->queue_ns;
		total->device_ns += one->device_ns;
		if (one->queue_max_ns > total->queue_max_ns)
			total->queue_max_ns = one->queue_max_ns;
		if (one->device_max_ns > total->device_max_ns)
			total->device_max_ns = one->device_max_ns;
		total->issued += one->issued;
		total->retired += one->retired;
		for (int slot = 0; slot < BLOCK_HIST_SLOTS; slot++) {
			total->queue_hist[slot] += one->queue_hist[slot];
			total->device_hist[slot] += one->device_hist[slot];
		}
	}
}

/* Grows *items (of `size` bytes each) to hold one more; the new element is
 * zeroed. NULL on allocation failure. */
static void *append(void **items, size_t *count, size_t size)
{
	char *bigger = realloc(*items, (*count + 1) * size);

	if (!bigger)
		return NULL;
	*items = bigger;
	memset(bigger + *count * size, 0, size);
	return bigger + (*count)++ * size;
}

static const struct io_owner_sample *
find_owner(const struct io_snapshot *snapshot,
	   const struct block_owner_key *key)
{
	if (!snapshot)
		return NULL;
	for (size_t i = 0; i < snapshot->owner_count; i++)
		if (!memcmp(&snapshot->owners[i].key, key, sizeof(*key)))
			return &snapshot->owners[i];
	return NULL;
}

static uint64_t blocked_before(const struct io_snapshot *snapshot,
			       const struct block_blocked_key *key)
{
	if (!snapshot)
		return 0;
	for (size_t i = 0; i < snapshot->blocked_count; i++)
		if (!memcmp(&snapshot->blocked[i].key, key, sizeof(*key)))
			return snapshot->blocked[i].blocked_ns;
	return 0;
}

struct build {
	struct io_report *out;
	const struct io_guest_ref *refs;
	size_t ref_count;
	const struct io_namer *namer;
	struct io_owner *by_ref; /* one per ref, compacted at the end */
};

static void host_cgroup_name(const struct build *build, uint64_t cgroup_id,
			     char *path, size_t size)
{
	if (!cgroup_id) {
		snprintf(path, size, "(none)"); /* flushes, bio-less requests */
		return;
	}
	if (!build->namer || !build->namer->cgroup_path ||
	    build->namer->cgroup_path(build->namer->ctx, cgroup_id, path, size))
		snprintf(path, size, "cgroup-%llu",
			 (unsigned long long)cgroup_id);
}

/* The report entry of an owner: its guest's, or its host cgroup's. */
static struct io_owner *owner_entry(struct build *build, uint64_t cgroup_id,
				    uint32_t tgid)
{
	int guest =
		io_owner_guest(build->refs, build->ref_count, cgroup_id, tgid);
	char path[PROCFS_PATH_LEN];
	struct io_owner *host;

	if (guest >= 0)
		return &build->by_ref[guest];
	host_cgroup_name(build, cgroup_id, path, sizeof(path));
	for (size_t i = 0; i < build->out->host_count; i++)
		if (!strcmp(build->out->hosts[i].cgroup, path))
			return &build->out->hosts[i];
	host = append((void **)&build->out->hosts, &build->out->host_count,
		      sizeof(*host));
	if (host)
		snprintf(host->cgroup, sizeof(host->cgroup), "%s", path);
	return host;
}

static struct io_device *device_entry(const struct build *build,
				      struct io_owner *owner, uint32_t dev)
{
	struct io_device *device;

	for (size_t i = 0; i < owner->device_count; i++)
		if (owner->devices[i].dev == dev)
			return &owner->devices[i];
	device = append((void **)&owner->devices, &owner->device_count,
			sizeof(*device));
	if (!device)
		return NULL;
	device->dev = dev;
	snprintf(device->device, sizeof(device->device), "%u:%u",
		 block_dev_major(dev), block_dev_minor(dev));
	if (build->namer && build->namer->device_name &&
	    build->namer->device_name(build->namer->ctx, dev, device->name,
				      sizeof(device->name)))
		device->name[0] = '\0';
	return device;
}

static int add_owner_sample(struct build *build,
			    const struct io_owner_sample *sample,
			    const struct io_snapshot *before)
{
	const struct io_owner_sample *old = find_owner(before, &sample->key);
	struct io_figures delta;
	struct io_device *device;
	struct io_owner *owner;
	uint64_t in_flight;
	bool any = false;

	io_figures_delta(&delta, &sample->stats, old ? &old->stats : NULL);
	in_flight = minus(sample->stats.issued, sample->stats.retired);
	for (int op = 0; op < BLOCK_OP_COUNT; op++)
		any = any || delta.ops[op] || delta.bytes[op];
	if (!any && !delta.issued && !in_flight)
		return 0;
	owner = owner_entry(build, sample->key.cgroup_id, sample->key.tgid);
	if (!owner)
		return -ENOMEM;
	device = device_entry(build, owner, sample->key.dev);
	if (!device)
		return -ENOMEM;
	io_figures_add(&device->delta, &delta);
	device->in_flight += in_flight;
	return 0;
}

/* A culprit's name, or false when it is the victim itself. */
static bool culprit_name(struct build *build, const struct io_owner *victim,
			 uint64_t cgroup_id, uint32_t tgid,
			 struct io_culprit *culprit)
{
	int guest =
		io_owner_guest(build->refs, build->ref_count, cgroup_id, tgid);

	if (guest >= 0) {
		if (victim == &build->by_ref[guest])
			return false;
		culprit->kind = IO_CULPRIT_GUEST;
		snprintf(culprit->name, sizeof(culprit->name), "%s",
			 build->refs[guest].name);
		return true;
	}
	culprit->kind = IO_CULPRIT_CGROUP;
	host_cgroup_name(build, cgroup_id, culprit->name,
			 sizeof(culprit->name));
	return victim->pid || strcmp(victim->cgroup, culprit->name);
}

static int add_blocked_sample(struct build *build,
			      const struct io_blocked_sample *sample,
			      const struct io_snapshot *before)
{
	uint64_t ns =
		minus(sample->blocked_ns, blocked_before(before, &sample->key));
	const struct block_blocked_key *key = &sample->key;
	struct io_culprit named, *culprit;
	struct io_device *device;
	struct io_owner *victim;

	if (!ns)
		return 0;
	victim = owner_entry(build, key->victim_cgroup_id, key->victim_tgid);
	if (!victim)
		return -ENOMEM;
	memset(&named, 0, sizeof(named));
	if (!culprit_name(build, victim, key->culprit_cgroup_id,
			  key->culprit_tgid, &named))
		return 0;
	device = device_entry(build, victim, key->dev);
	if (!device)
		return -ENOMEM;
	for (size_t i = 0; i < device->blocked_count; i++) {
		culprit = &device->blocked_behind[i];
		if (culprit->kind == named.kind &&
		    !strcmp(culprit->name, named.name)) {
			culprit->blocked_ns += ns;
			return 0;
		}
	}
	culprit = append((void **)&device->blocked_behind,
			 &device->blocked_count, sizeof(*culprit));
	if (!culprit)
		return -ENOMEM;
	*culprit = named;
	culprit->blocked_ns = ns;
	return 0;
}

static int by_dev(const void *a, const void *b)
{
	const struct io_device *x = a, *y = b;

	return (x->dev > y->dev) - (x->dev < y->dev);
}

static int by_blocked_desc(const void *a, const void *b)
{
	const struct io_culprit *x = a, *y = b;

	if (x->blocked_ns != y->blocked_ns)
		return x->blocked_ns < y->blocked_ns ? 1 : -1;
	return strcmp(x->name, y->name);
}

static int by_cgroup(const void *a, const void *b)
{
	const struct io_owner *x = a, *y = b;

	return strcmp(x->cgroup, y->cgroup);
}

/* qsort wants a non-NULL base even for no elements. */
static void sort(void *items, size_t count, size_t size,
		 int (*compare)(const void *, const void *))
{
	if (count > 1)
		qsort(items, count, size, compare);
}

static void sort_owner(struct io_owner *owner)
{
	sort(owner->devices, owner->device_count, sizeof(*owner->devices),
	     by_dev);
	for (size_t i = 0; i < owner->device_count; i++)
		sort(owner->devices[i].blocked_behind,
		     owner->devices[i].blocked_count,
		     sizeof(*owner->devices[i].blocked_behind),
		     by_blocked_desc);
}

static void free_owner(struct io_owner *owner)
{
	for (size_t i = 0; i < owner->device_count; i++)
		free(owner->devices[i].blocked_behind);
	free(owner->devices);
}

int io_report_build(struct io_report *out, const struct io_snapshot *before,
		    const struct io_snapshot *after,
		    const struct io_guest_ref *refs, size_t ref_count,
		    const struct io_namer *namer)
{
	struct build build = {
		.out = out, .refs = refs, .ref_count = ref_count, .namer = namer
	};
	size_t kept = 0;
	int err = 0;

	memset(out, 0, sizeof(*out));
	out->available = true;
	build.by_ref = calloc(ref_count + 1, sizeof(*build.by_ref));
	if (!build.by_ref)
		return -ENOMEM;
	for (size_t i = 0; i < ref_count; i++) {
		build.by_ref[i].pid = refs[i].pid;
		snprintf(build.by_ref[i].name, sizeof(build.by_ref[i].name),
			 "%s", refs[i].name);
	}
	for (int i = 0; i < BLOCK_ERR_COUNT; i++)
		out->errors[i] =
			minus(after->errors[i], before ? before->errors[i] : 0);
	for (size_t i = 0; i < after->owner_count && !err; i++)
		err = add_owner_sample(&build, &after->owners[i], before);
	for (size_t i = 0; i < after->blocked_count && !err; i++)
		err = add_blocked_sample(&build, &after->blocked[i], before);
	/* Guests that did no I/O have no entry; the rest keep ref order. */
	for (size_t i = 0; i < ref_count; i++) {
		if (err || !build.by_ref[i].device_count) {
			free_owner(&build.by_ref[i]);
			continue;
		}
		sort_owner(&build.by_ref[i]);
		build.by_ref[kept++] = build.by_ref[i];
	}
	out->guests = build.by_ref;
	out->guest_count = kept;
	for (size_t i = 0; i < out->host_count; i++)
		sort_owner(&out->hosts[i]);
	sort(out->hosts, out->host_count, sizeof(*out->hosts), by_cgroup);
	if (err) {
		io_report_free(out);
		return err;
	}
	return 0;
}

void io_report_free(struct io_report *report)
{
	if (!report)
		return;
	for (size_t i = 0; i < report->guest_count; i++)
		free_owner(&report->guests[i]);
	for (size_t i = 0; i < report->host_count; i++)
		free_owner(&report->hosts[i]);
	free(report->guests);
	free(report->hosts);
	memset(report, 0, sizeof(*report));
}

const struct io_owner *io_report_guest(const struct io_report *report, int pid)
{
	if (!report)
		return NULL;
	for (size_t i = 0; i < report->guest_count; i++)
		if (report->guests[i].pid == pid)
			return &report->guests[i];
	return NULL;
}

const char *io_error_name(int which)
{
	static const char *const names[BLOCK_ERR_COUNT] = {
		[BLOCK_ERR_REQUESTS_FULL] = "requests_full",
		[BLOCK_ERR_OWNERS_FULL] = "owners_full",
		[BLOCK_ERR_BLOCKED_FULL] = "blocked_full",
		[BLOCK_ERR_DEVICES_FULL] = "devices_full",
		[BLOCK_ERR_MERGED] = "merged",
		[BLOCK_ERR_REQUEUED] = "requeued",
		[BLOCK_ERR_LOST] = "lost",
		[BLOCK_ERR_UNMATCHED] = "unmatched",
	};

	return which >= 0 && which < BLOCK_ERR_COUNT ? names[which] : "unknown";
}

const char *io_op_name(int op)
{
	static const char *const names[BLOCK_OP_COUNT] = { "read", "write",
							   "other" };

	return op >= 0 && op < BLOCK_OP_COUNT ? names[op] : "unknown";
}

int io_parse_uevent_devname(const char *uevent, char *name, size_t size)
{
	const char *line = uevent;

	if (!uevent || !name || !size)
		return -EINVAL;
	name[0] = '\0';
	while (*line) {
		const char *end = strchrnul(line, '\n');

		if (!strncmp(line, "DEVNAME=", 8)) {
			size_t len = (size_t)(end - line) - 8;

			if (!len)
				return -ENOENT;
			if (len >= size)
				return -EINVAL;
			memcpy(name, line + 8, len);
			name[len] = '\0';
			return 0;
		}
		line = *end ? end + 1 : end;
	}
	return -ENOENT;
}

/* Whether the comma-separated `list` of length len names `controller`. */
static bool lists_controller(const char *list, size_t len,
			     const char *controller)
{
	size_t want = strlen(controller);
	const char *pos = list, *stop = list + len;

	while (pos < stop) {
		const char *comma = memchr(pos, ',', (size_t)(stop - pos));
		const char *end = comma ? comma : stop;

		if ((size_t)(end - pos) == want &&
		    !memcmp(pos, controller, want))
			return true;
		pos = end + 1;
	}
	return false;
}

int io_parse_blkio_cgroup(const char *contents, bool v1, char *path,
			  size_t size)
{
	const char *line = contents;

	if (!contents || !path || !size)
		return -EINVAL;
	path[0] = '\0';
	while (*line) {
		const char *end = strchrnul(line, '\n');
		const char *first = memchr(line, ':', (size_t)(end - line));
		const char *second, *cgroup;
		size_t len;
		bool match;

		if (end == line) {
			line++;
			continue;
		}
		if (!first)
			return -EINVAL;
		second = memchr(first + 1, ':', (size_t)(end - first - 1));
		if (!second || second + 1 == end || second[1] != '/')
			return -EINVAL;
		cgroup = second + 1;
		if (v1)
			match = lists_controller(first + 1,
						 (size_t)(second - first - 1),
						 "blkio");
		else
			match = first - line == 1 && line[0] == '0' &&
				second == first + 1;
		if (match) {
			len = (size_t)(end - cgroup);
			if (len >= size)
				return -EINVAL;
			memcpy(path, cgroup, len);
			path[len] = '\0';
			return 0;
		}
		line = *end ? end + 1 : end;
	}
	return -ENOENT;
}
