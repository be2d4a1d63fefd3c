// SPDX-License-Identifier: GPL-2.0-only
/*
 * The KVM telemetry programs: which program of each pair to load (from
 * what kvm_tracefs.c found), attaching them, and reading their maps. Classic tracepoints are attached through a
 * perf event opened with the id tracefs gives, so tracefs may be mounted
 * anywhere; without it the scalar events fall back to raw tracepoints and
 * the exit figures are unavailable.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kvm.skel.h"
#include "load/bpf_maps.h"
#include "model/features.h"
#include "load/prog_load.h"
#include "load/kvm_tracefs.h"
#include "load/kvm_loader.h"

struct kvm_loader {
	struct kvm_bpf *skel;
	struct bpf_link *links[KVM_EVENT_COUNT];
	struct bpf_link *note_links[KVM_NOTE_EVENTS];
	struct kvm_attach_status status;
	int cpu_count;
};

/* One perf event on CPU 0 suffices: a BPF program attached to a tracepoint
 * runs wherever the tracepoint fires. The link owns the perf fd. */
static struct bpf_link *attach_classic(struct bpf_program *prog, uint64_t id)
{
	struct perf_event_attr attr;
	struct bpf_link *link;
	int pfd;

	memset(&attr, 0, sizeof(attr));
	attr.type = PERF_TYPE_TRACEPOINT;
	attr.size = sizeof(attr);
	attr.config = id;
	attr.sample_period = 1;
	pfd = (int)syscall(__NR_perf_event_open, &attr, -1, 0, -1,
			   PERF_FLAG_FD_CLOEXEC);
	if (pfd < 0)
		return NULL;
	link = bpf_program__attach_perf_event(prog, pfd);
	if (!link) {
		int err = errno;

		close(pfd);
		errno = err;
	}
	return link;
}

static struct bpf_program *classic_prog(struct kvm_bpf *skel,
					enum kvm_event event)
{
	switch (event) {
	case KVM_EVENT_EXIT:
		return skel->progs.kvm_exit;
	case KVM_EVENT_ENTRY:
		return skel->progs.kvm_entry;
	case KVM_EVENT_USERSPACE_EXIT:
		return skel->progs.kvm_userspace_exit;
	default:
		return skel->progs.kvm_vcpu_wakeup;
	}
}

/* The raw twin, for the events that have one. */
static struct bpf_program *raw_prog(struct kvm_bpf *skel, enum kvm_event event)
{
	if (event == KVM_EVENT_USERSPACE_EXIT)
		return skel->progs.raw_kvm_userspace_exit;
	if (event == KVM_EVENT_VCPU_WAKEUP)
		return skel->progs.raw_kvm_vcpu_wakeup;
	return NULL;
}

static uint32_t kvm_counts_entries(int cpu_count)
{
	uint64_t entries =
		(8ULL << 20) / (sizeof(uint64_t) * (uint64_t)cpu_count);

	if (entries > KVM_MAX_COUNTS)
		entries = KVM_MAX_COUNTS;
	if (entries < 1024)
		entries = 1024;
	return (uint32_t)entries;
}

static void fail_all(struct kvm_attach_status *status, const char *why)
{
	for (int part = 0; part < KVM_PART_COUNT; part++) {
		status->attached[part] = false;
		snprintf(status->why[part], sizeof(status->why[part]), "%s",
			 why);
	}
	snprintf(status->notes_why, sizeof(status->notes_why), "%s", why);
}

/* The vCPU notes (bpf/kvm.h): each on its own, since a kernel may lack
 * either tracepoint. */
static void attach_notes(struct kvm_loader *loader)
{
	static const char *const events[KVM_NOTE_EVENTS] = { "kvm_pio",
							     "kvm_mmio" };
	struct bpf_program *programs[KVM_NOTE_EVENTS] = {
		loader->skel->progs.note_kvm_pio,
		loader->skel->progs.note_kvm_mmio,
	};
	struct kvm_attach_status *status = &loader->status;
	size_t used = 0;

	for (int i = 0; i < KVM_NOTE_EVENTS; i++) {
		/* A test fails the attach as a kernel without the tracepoint
		 * would: the notes are off, the rest of KVM stays. */
		if (features_test_forced("kvm_io_notes")) {
			snprintf(status->notes_why, sizeof(status->notes_why),
				 "cannot attach to %s: %s", events[i],
				 FEATURES_FORCED_REASON);
			continue;
		}
		loader->note_links[i] = bpf_program__attach_raw_tracepoint(
			programs[i], events[i]);
		if (!loader->note_links[i]) {
			snprintf(status->notes_why, sizeof(status->notes_why),
				 "cannot attach to %s: %s%s", events[i],
				 strerror(errno),
				 errno == ENOENT ? " (KVM is not loaded)" : "");
			continue;
		}
		used += (size_t)snprintf(status->notes + used,
					 sizeof(status->notes) - used, "%s%s",
					 used ? ", " : "", events[i]);
	}
	if (used)
		status->notes_why[0] = '\0';
}

/* The skeleton's own load, which also maps its global data. */
static int load_skel(void *skel)
{
	return kvm_bpf__load(skel);
}

/* The KVM object as the agent loads it, given what probe_events found. */
static struct kvm_bpf *open_kvm(const bool classic[KVM_EVENT_COUNT],
				int cpu_count)
{
	struct kvm_bpf *skel = kvm_bpf__open();

	if (!skel)
		return NULL;
	for (int event = 0; event < KVM_EVENT_COUNT; event++) {
		struct bpf_program *raw = raw_prog(skel, event);

		bpf_program__set_autoload(classic_prog(skel, event),
					  classic[event]);
		if (raw)
			bpf_program__set_autoload(raw, !classic[event]);
	}
	/* A per-CPU hash preallocates every entry on every CPU: bound the
	 * values to 8 MiB however many CPUs there are. */
	if (!bpf_maps_test_shrink(skel->maps.kvm_counts,
				  "KVMWARDEN_TEST_KVM_COUNTS", KVM_MAX_COUNTS))
		bpf_map__set_max_entries(skel->maps.kvm_counts,
					 kvm_counts_entries(cpu_count));
	return skel;
}

struct kvm_check_ctx {
	bool classic[KVM_EVENT_COUNT];
	int cpu_count;
};

static struct bpf_object *check_open(void *ctx, void **skel_out)
{
	struct kvm_check_ctx *check = ctx;
	struct kvm_bpf *skel = open_kvm(check->classic, check->cpu_count);

	*skel_out = skel;
	return skel ? skel->obj : NULL;
}

static void check_close(void *skel)
{
	kvm_bpf__destroy(skel);
}

int kvm_loader_check(struct prog_check *rows, size_t max)
{
	char why[KVM_EVENT_COUNT][256];
	uint64_t ids[KVM_EVENT_COUNT] = { 0 };
	struct kvm_check_ctx check = { .cpu_count =
					       libbpf_num_possible_cpus() };
	struct prog_check_target target = {
		.object = "kvm",
		.open = check_open,
		.load = load_skel,
		.close = check_close,
		.ctx = &check,
	};

	if (check.cpu_count <= 0)
		return -EINVAL;
	kvm_tracefs_probe_events(NULL, check.classic, ids, why);
	return prog_check_target(&target, rows, max);
}

static void load_and_attach(struct kvm_loader *loader, const char *tracefs)
{
	struct kvm_attach_status *status = &loader->status;
	char why[KVM_EVENT_COUNT][256];
	uint64_t ids[KVM_EVENT_COUNT] = { 0 };
	char message[256];
	int err;

	kvm_tracefs_probe_events(tracefs, status->classic, ids, why);
	loader->skel = open_kvm(status->classic, loader->cpu_count);
	if (!loader->skel) {
		snprintf(message, sizeof(message),
			 "cannot open the KVM BPF object: %s", strerror(errno));
		fail_all(status, message);
		return;
	}
	/* A test fails the load as the kernel would, in the same words:
	 * every part and the notes unavailable with this reason. The
	 * note programs always load. */
	if (features_test_forced("kvm")) {
		snprintf(message, sizeof(message), "cannot load %s: %s",
			 bpf_program__name(loader->skel->progs.note_kvm_pio),
			 FEATURES_FORCED_REASON);
		fail_all(status, message);
		return;
	}
	err = prog_load_object(loader->skel->obj, load_skel, loader->skel,
			       message, sizeof(message));
	if (err) {
		fail_all(status, message);
		return;
	}

	for (int event = 0; event < KVM_EVENT_COUNT; event++) {
		struct bpf_program *raw = raw_prog(loader->skel, event);

		if (status->classic[event])
			loader->links[event] = attach_classic(
				classic_prog(loader->skel, event), ids[event]);
		else if (raw)
			loader->links[event] =
				bpf_program__attach_raw_tracepoint(
					raw, kvm_event_name(event));
		else
			continue; /* why[] already says so */
		if (!loader->links[event])
			snprintf(why[event], sizeof(why[event]),
				 "cannot attach to %s: %s%s",
				 kvm_event_name(event), strerror(errno),
				 errno == ENOENT ? " (KVM is not loaded)" : "");
	}

	attach_notes(loader);

	status->attached[KVM_PART_EXITS] = loader->links[KVM_EVENT_EXIT] &&
					   loader->links[KVM_EVENT_ENTRY];
	if (!loader->links[KVM_EVENT_EXIT])
		snprintf(status->why[KVM_PART_EXITS],
			 sizeof(status->why[KVM_PART_EXITS]), "%s",
			 why[KVM_EVENT_EXIT]);
	else
		snprintf(status->why[KVM_PART_EXITS],
			 sizeof(status->why[KVM_PART_EXITS]), "%s",
			 why[KVM_EVENT_ENTRY]);
	status->attached[KVM_PART_USERSPACE] =
		loader->links[KVM_EVENT_USERSPACE_EXIT] != NULL;
	snprintf(status->why[KVM_PART_USERSPACE],
		 sizeof(status->why[KVM_PART_USERSPACE]), "%s",
		 why[KVM_EVENT_USERSPACE_EXIT]);
	status->attached[KVM_PART_HALT_POLL] =
		loader->links[KVM_EVENT_VCPU_WAKEUP] != NULL;
	snprintf(status->why[KVM_PART_HALT_POLL],
		 sizeof(status->why[KVM_PART_HALT_POLL]), "%s",
		 why[KVM_EVENT_VCPU_WAKEUP]);
	for (int part = 0; part < KVM_PART_COUNT; part++)
		if (status->attached[part])
			status->why[part][0] = '\0';
}

int kvm_loader_open(struct kvm_loader **out, const char *tracefs)
{
	struct kvm_loader *loader;

	*out = NULL;
	loader = calloc(1, sizeof(*loader));
	if (!loader)
		return -ENOMEM;
	loader->cpu_count = libbpf_num_possible_cpus();
	if (loader->cpu_count <= 0) {
		fail_all(&loader->status, "cannot count possible CPUs");
		*out = loader;
		return 0;
	}
	load_and_attach(loader, tracefs);
	*out = loader;
	return 0;
}

void kvm_loader_close(struct kvm_loader *loader)
{
	if (!loader)
		return;
	for (int event = 0; event < KVM_EVENT_COUNT; event++)
		bpf_link__destroy(loader->links[event]);
	for (int i = 0; i < KVM_NOTE_EVENTS; i++)
		bpf_link__destroy(loader->note_links[i]);
	kvm_bpf__destroy(loader->skel);
	free(loader);
}

const struct kvm_attach_status *kvm_loader_status(struct kvm_loader *loader)
{
	return &loader->status;
}

/* Maps exist only once the object loaded. */
static int map_fd(struct kvm_loader *loader, struct bpf_map *map)
{
	int fd = map ? bpf_map__fd(map) : -1;

	return fd >= 0 ? fd : -ENODEV;
}

/* The guest list, written by add and prune alike. */
static int guests_fd(struct kvm_loader *loader)
{
	if (!loader->skel)
		return -ENODEV;
	return map_fd(loader, loader->skel->maps.kvm_guests);
}

int kvm_loader_add_guest(struct kvm_loader *loader, uint32_t tgid,
			 uint32_t group)
{
	int fd = guests_fd(loader);

	if (fd < 0)
		return fd;
	return bpf_map_update_elem(fd, &tgid, &group, BPF_ANY) ? -errno : 0;
}

int kvm_loader_prune_guests(struct kvm_loader *loader,
			    bool (*keep)(uint32_t tgid, uint32_t group,
					 void *ctx),
			    void *ctx)
{
	uint32_t key, next, group;
	int fd = guests_fd(loader);
	bool more;

	if (fd < 0)
		return fd;
	more = bpf_map_get_next_key(fd, NULL, &next) == 0;
	while (more) {
		key = next;
		/* Take the successor first: deleting key would lose it. */
		more = bpf_map_get_next_key(fd, &key, &next) == 0;
		if (bpf_map_lookup_elem(fd, &key, &group) == 0 &&
		    !keep(key, group, ctx))
			bpf_map_delete_elem(fd, &key);
	}
	return 0;
}

void kvm_loader_guests_changed(struct kvm_loader *loader)
{
	/* The .bss is mmap'd: a store, no syscall. Only the agent writes it;
	 * release orders it after the map updates it announces. */
	if (loader->skel && loader->skel->bss)
		__atomic_store_n(&loader->skel->bss->guests_generation,
				 loader->skel->bss->guests_generation + 1,
				 __ATOMIC_RELEASE);
}

/* kvm_counts is per-CPU: one value per possible CPU, summed here. */
struct counts_walk {
	uint64_t *per_cpu;
	int cpu_count;
};

static int fill_count(int fd, const void *key, void *entry, void *ctx)
{
	struct counts_walk *walk = ctx;
	struct kvm_loader_count *out = entry;

	if (bpf_map_lookup_elem(fd, key, walk->per_cpu))
		return -errno;
	memcpy(&out->key, key, sizeof(out->key));
	out->value = 0;
	for (int cpu = 0; cpu < walk->cpu_count; cpu++)
		out->value += walk->per_cpu[cpu];
	return 0;
}

int kvm_loader_read_counts(struct kvm_loader *loader,
			   struct kvm_loader_count **entries, size_t *count)
{
	struct counts_walk walk = { .cpu_count = loader->cpu_count };
	int fd, err;

	*entries = NULL;
	*count = 0;
	if (!loader->skel)
		return -ENODEV;
	fd = map_fd(loader, loader->skel->maps.kvm_counts);
	if (fd < 0)
		return fd;
	walk.per_cpu = calloc(loader->cpu_count, sizeof(*walk.per_cpu));
	if (!walk.per_cpu)
		return -ENOMEM;
	err = bpf_maps_read_entries(fd, sizeof(struct kvm_count_key),
				    sizeof(**entries), fill_count, &walk,
				    (void **)entries, count);
	free(walk.per_cpu);
	return err;
}

int kvm_loader_forget_group(struct kvm_loader *loader, uint32_t group)
{
	struct kvm_loader_count *entries;
	size_t count;
	int fd, err;

	err = kvm_loader_read_counts(loader, &entries, &count);
	if (err)
		return err;
	fd = map_fd(loader, loader->skel->maps.kvm_counts);
	for (size_t i = 0; i < count; i++)
		if (entries[i].key.group == group)
			bpf_map_delete_elem(fd, &entries[i].key);
	free(entries);
	return 0;
}

int kvm_loader_vcpu_thread(struct kvm_loader *loader, uint32_t tid,
			   uint64_t start_time_ns, int *vcpu_index,
			   uint64_t *vm_id)
{
	struct kvm_vcpu_thread seen;
	int fd = map_fd(loader, loader->skel->maps.kvm_vcpu_threads);

	if (fd < 0)
		return fd;
	if (bpf_map_lookup_elem(fd, &tid, &seen))
		return -ENOENT;
	if (seen.start_time_ns != start_time_ns) {
		/* An earlier thread's, under a recycled tid. */
		bpf_map_delete_elem(fd, &tid);
		return -ENOENT;
	}
	*vcpu_index = seen.vcpu_index;
	*vm_id = seen.vm_id;
	return 0;
}

void kvm_loader_forget_vcpu_thread(struct kvm_loader *loader, uint32_t tid)
{
	int fd = map_fd(loader, loader->skel->maps.kvm_vcpu_threads);

	if (fd >= 0)
		bpf_map_delete_elem(fd, &tid);
}

int kvm_loader_read_stats(struct kvm_loader *loader,
			  uint64_t totals[KVM_STAT_COUNT])
{
	int fd;

	memset(totals, 0, KVM_STAT_COUNT * sizeof(totals[0]));
	if (!loader->skel)
		return -ENODEV;
	fd = map_fd(loader, loader->skel->maps.kvm_stats);
	if (fd < 0)
		return fd;
	return bpf_maps_sum_percpu(fd, loader->cpu_count, totals,
				   KVM_STAT_COUNT);
}

int kvm_loader_read_program_stats(struct kvm_loader *loader,
				  struct loader_program_stats *out, size_t max)
{
	if (!loader->skel)
		return 0;
	struct bpf_program *programs[] = {
		loader->skel->progs.kvm_exit,
		loader->skel->progs.kvm_entry,
		loader->skel->progs.kvm_userspace_exit,
		loader->skel->progs.kvm_vcpu_wakeup,
		loader->skel->progs.raw_kvm_userspace_exit,
		loader->skel->progs.raw_kvm_vcpu_wakeup,
		loader->skel->progs.note_kvm_pio,
		loader->skel->progs.note_kvm_mmio,
	};

	/* Of each classic and raw twin, only the loaded one has a row. */
	return prog_read_stats(programs, sizeof(programs) / sizeof(programs[0]),
			       out, max);
}
