// SPDX-License-Identifier: GPL-2.0-only
/*
 * The interrupt programs (bpf/irq.bpf.c): which of them this kernel has,
 * loading them on the scheduler's task storage, attaching exits before
 * entries, and reading their maps. Owns no policy on what the counts mean.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "irq.skel.h"
#include "load/bpf_maps.h"
#include "load/irq_loader.h"
#include "load/prog_load.h"
#include "model/features.h"

/* Entry and exit tracepoints, in pairs: the two core ones, then x86's
 * system vectors, each of which a kernel may lack. */
enum irq_pair {
	PAIR_IRQ_HANDLER = 0,
	PAIR_SOFTIRQ = 1,
	PAIR_FIRST_VECTOR = 2,
	PAIR_COUNT = 11,
};

static const char *const pair_events[PAIR_COUNT] = {
	"irq_handler",	 "softirq",	   "local_timer",   "reschedule",
	"call_function", "call_function_single", "irq_work",
	"x86_platform_ipi", "error_apic", "spurious_apic", "thermal_apic",
};

struct irq_loader {
	struct irq_bpf *skel;
	struct bpf_link *entry_links[PAIR_COUNT];
	struct bpf_link *exit_links[PAIR_COUNT];
	struct bpf_link *netif_link;
	struct irq_counts *thread_counts; /* mmap of irq_thread_counts */
	size_t thread_counts_len;
	int cpu_count;
	bool available;
	char why[256];
	char vectors[256]; /* the system vectors attached, ", "-separated */
	bool devices;
	char devices_why[256];
};

static void pair_programs(struct irq_bpf *skel, int pair,
			  struct bpf_program **entry, struct bpf_program **exit)
{
	struct bpf_program *programs[PAIR_COUNT][2] = {
		{ skel->progs.handle_irq_entry, skel->progs.handle_irq_exit },
		{ skel->progs.handle_softirq_entry,
		  skel->progs.handle_softirq_exit },
		{ skel->progs.vector_local_timer_entry,
		  skel->progs.vector_local_timer_exit },
		{ skel->progs.vector_reschedule_entry,
		  skel->progs.vector_reschedule_exit },
		{ skel->progs.vector_call_function_entry,
		  skel->progs.vector_call_function_exit },
		{ skel->progs.vector_call_function_single_entry,
		  skel->progs.vector_call_function_single_exit },
		{ skel->progs.vector_irq_work_entry,
		  skel->progs.vector_irq_work_exit },
		{ skel->progs.vector_x86_platform_ipi_entry,
		  skel->progs.vector_x86_platform_ipi_exit },
		{ skel->progs.vector_error_apic_entry,
		  skel->progs.vector_error_apic_exit },
		{ skel->progs.vector_spurious_apic_entry,
		  skel->progs.vector_spurious_apic_exit },
		{ skel->progs.vector_thermal_apic_entry,
		  skel->progs.vector_thermal_apic_exit },
	};

	*entry = programs[pair][0];
	*exit = programs[pair][1];
}

/* What this kernel's BTF has: a tp_btf program loads only against its
 * tracepoint's btf_trace_ typedef, so a missing one is left out rather
 * than failing the whole object. Without BTF every pair is tried and the
 * load says what is wrong. */
struct irq_plan {
	bool pairs[PAIR_COUNT];
	bool devices;
};

static bool btf_has_event(const struct btf *btf, const char *event)
{
	char name[128];

	snprintf(name, sizeof(name), "btf_trace_%s", event);
	return btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF) >= 0;
}

static void plan_probe(struct irq_plan *plan)
{
	struct btf *btf = btf__load_vmlinux_btf();
	char event[96];

	for (int pair = 0; pair < PAIR_COUNT; pair++) {
		bool both = true;

		if (btf) {
			snprintf(event, sizeof(event), "%s_entry",
				 pair_events[pair]);
			both = btf_has_event(btf, event);
			snprintf(event, sizeof(event), "%s_exit",
				 pair_events[pair]);
			both = both && btf_has_event(btf, event);
		}
		plan->pairs[pair] = both;
	}
	plan->devices = !btf || btf_has_event(btf, "netif_receive_skb");
	btf__free(btf);
}

/* The core alone: what a load that failed with the optional parts is
 * retried with. */
static void plan_core(struct irq_plan *plan)
{
	for (int pair = PAIR_FIRST_VECTOR; pair < PAIR_COUNT; pair++)
		plan->pairs[pair] = false;
	plan->devices = false;
}

static struct irq_bpf *open_irq(const struct irq_plan *plan)
{
	struct irq_bpf *skel = irq_bpf__open();

	if (!skel)
		return NULL;
	for (int pair = 0; pair < PAIR_COUNT; pair++) {
		struct bpf_program *entry, *exit;

		pair_programs(skel, pair, &entry, &exit);
		bpf_program__set_autoload(entry, plan->pairs[pair]);
		bpf_program__set_autoload(exit, plan->pairs[pair]);
	}
	bpf_program__set_autoload(skel->progs.note_netif_receive_skb,
				  plan->devices);
	return skel;
}

/* The skeleton's own load, which also maps its global data. */
static int load_skel(void *skel)
{
	return irq_bpf__load(skel);
}

static struct bpf_object *check_open(void *ctx, void **skel_out)
{
	struct irq_bpf *skel = open_irq(ctx);

	*skel_out = skel;
	return skel ? skel->obj : NULL;
}

static void check_close(void *skel)
{
	irq_bpf__destroy(skel);
}

int irq_loader_check(struct prog_check *rows, size_t max)
{
	struct irq_plan plan;
	struct prog_check_target target = {
		.object = "irq",
		.open = check_open,
		.load = load_skel,
		.close = check_close,
		.ctx = &plan,
	};

	/* Alone, each program gets a task storage map of its own: the
	 * verifier sees the same map type either way. */
	plan_probe(&plan);
	return prog_check_target(&target, rows, max);
}

/* Opens the object for `plan` on the scheduler's task storage and loads
 * it; `why` says what failed. */
static int load_plan(struct irq_loader *loader, const struct irq_plan *plan,
		     int thread_state_fd, char *why, size_t why_size)
{
	int err;

	loader->skel = open_irq(plan);
	if (!loader->skel) {
		err = -errno;
		snprintf(why, why_size, "cannot open the interrupt BPF object: %s",
			 strerror(-err));
		return err;
	}
	err = bpf_map__reuse_fd(loader->skel->maps.thread_state,
				thread_state_fd);
	if (err) {
		snprintf(why, why_size,
			 "cannot share the scheduler's task storage: %s",
			 strerror(-err));
		return err;
	}
	return prog_load_object(loader->skel->obj, load_skel, loader->skel,
				why, why_size);
}

static void drop_skel(struct irq_loader *loader)
{
	irq_bpf__destroy(loader->skel);
	loader->skel = NULL;
}

/* Exits first: an entry seen without its exit would leave a CPU's
 * hardirq depth raised, and every later hardirq there taken as nested. */
static int attach_pairs(struct irq_loader *loader, const struct irq_plan *plan)
{
	size_t used = 0;

	for (int pair = 0; pair < PAIR_COUNT; pair++) {
		struct bpf_program *entry, *exit;

		if (!plan->pairs[pair])
			continue;
		pair_programs(loader->skel, pair, &entry, &exit);
		loader->exit_links[pair] = bpf_program__attach(exit);
		if (!loader->exit_links[pair]) {
			if (pair < PAIR_FIRST_VECTOR)
				goto core_failed;
			continue;
		}
	}
	if (plan->devices) {
		loader->netif_link = bpf_program__attach(
			loader->skel->progs.note_netif_receive_skb);
		loader->devices = loader->netif_link != NULL;
		if (!loader->devices)
			snprintf(loader->devices_why,
				 sizeof(loader->devices_why),
				 "cannot attach to netif_receive_skb: %s",
				 strerror(errno));
	}
	for (int pair = 0; pair < PAIR_COUNT; pair++) {
		struct bpf_program *entry, *exit;

		if (!loader->exit_links[pair])
			continue;
		pair_programs(loader->skel, pair, &entry, &exit);
		loader->entry_links[pair] = bpf_program__attach(entry);
		if (!loader->entry_links[pair]) {
			if (pair < PAIR_FIRST_VECTOR)
				goto core_failed;
			bpf_link__destroy(loader->exit_links[pair]);
			loader->exit_links[pair] = NULL;
			continue;
		}
		if (pair >= PAIR_FIRST_VECTOR && used < sizeof(loader->vectors))
			used += (size_t)snprintf(
				loader->vectors + used,
				sizeof(loader->vectors) - used, "%s%s",
				used ? ", " : "", pair_events[pair]);
	}
	return 0;

core_failed:
	return -errno;
}

static void detach_all(struct irq_loader *loader)
{
	/* Entries first, the reverse of attaching. */
	for (int pair = 0; pair < PAIR_COUNT; pair++) {
		bpf_link__destroy(loader->entry_links[pair]);
		loader->entry_links[pair] = NULL;
	}
	bpf_link__destroy(loader->netif_link);
	loader->netif_link = NULL;
	for (int pair = 0; pair < PAIR_COUNT; pair++) {
		bpf_link__destroy(loader->exit_links[pair]);
		loader->exit_links[pair] = NULL;
	}
}

static int map_thread_counts(struct irq_loader *loader)
{
	int fd = bpf_map__fd(loader->skel->maps.irq_thread_counts);
	long page = sysconf(_SC_PAGESIZE);
	size_t len = sizeof(struct irq_counts) * SCHED_MAX_THREADS;
	void *mem;

	len = (len + page - 1) / page * page;
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED)
		return -errno;
	loader->thread_counts = mem;
	loader->thread_counts_len = len;
	return 0;
}

static void load_and_attach(struct irq_loader *loader, struct loader *sched)
{
	int thread_state_fd = loader_thread_state_fd(sched);
	struct irq_plan plan;
	char first_why[256] = "";
	int err;

	if (thread_state_fd < 0) {
		snprintf(loader->why, sizeof(loader->why),
			 "the scheduler programs are not loaded");
		return;
	}
	/* A test fails the load as the kernel would, in the same words. */
	if (features_test_forced("hidden_steal")) {
		snprintf(loader->why, sizeof(loader->why),
			 "cannot load handle_softirq_entry: %s",
			 FEATURES_FORCED_REASON);
		return;
	}
	plan_probe(&plan);
	err = load_plan(loader, &plan, thread_state_fd, first_why,
			sizeof(first_why));
	if (err) {
		/* An optional program refused: the core alone, and the
		 * optional parts say why they are missing. */
		drop_skel(loader);
		plan_core(&plan);
		err = load_plan(loader, &plan, thread_state_fd, loader->why,
				sizeof(loader->why));
		if (err) {
			drop_skel(loader);
			return;
		}
		snprintf(loader->devices_why, sizeof(loader->devices_why),
			 "%s", first_why);
	}
	if (!plan.devices && !loader->devices_why[0])
		snprintf(loader->devices_why, sizeof(loader->devices_why),
			 "this kernel has no netif_receive_skb tracepoint");
	err = attach_pairs(loader, &plan);
	if (!err)
		err = map_thread_counts(loader);
	if (err) {
		snprintf(loader->why, sizeof(loader->why),
			 "cannot attach the interrupt programs: %s",
			 strerror(-err));
		detach_all(loader);
		drop_skel(loader);
		loader->devices = false;
		loader->vectors[0] = '\0';
		return;
	}
	loader->available = true;
}

int irq_loader_open(struct irq_loader **out, struct loader *sched)
{
	struct irq_loader *loader;

	*out = NULL;
	loader = calloc(1, sizeof(*loader));
	if (!loader)
		return -ENOMEM;
	loader->cpu_count = libbpf_num_possible_cpus();
	if (loader->cpu_count <= 0)
		snprintf(loader->why, sizeof(loader->why),
			 "cannot count possible CPUs");
	else
		load_and_attach(loader, sched);
	*out = loader;
	return 0;
}

void irq_loader_close(struct irq_loader *loader)
{
	if (!loader)
		return;
	if (loader->thread_counts)
		munmap(loader->thread_counts, loader->thread_counts_len);
	detach_all(loader);
	irq_bpf__destroy(loader->skel);
	free(loader);
}

bool irq_loader_available(const struct irq_loader *loader)
{
	return loader && loader->available;
}

const char *irq_loader_why(const struct irq_loader *loader)
{
	if (!loader)
		return "not loaded";
	return loader->available ? "" : loader->why;
}

const char *irq_loader_vectors(const struct irq_loader *loader)
{
	return loader ? loader->vectors : "";
}

bool irq_loader_devices_available(const struct irq_loader *loader)
{
	return loader && loader->available && loader->devices;
}

const char *irq_loader_devices_why(const struct irq_loader *loader)
{
	if (!loader || !loader->available)
		return irq_loader_why(loader);
	return loader->devices ? "" : loader->devices_why;
}

const struct irq_counts *irq_loader_thread_counts(struct irq_loader *loader,
						  uint32_t slot)
{
	if (!loader->thread_counts || slot >= SCHED_MAX_THREADS)
		return NULL;
	return &loader->thread_counts[slot];
}

void irq_loader_reset_slot(struct irq_loader *loader, uint32_t slot)
{
	if (loader->thread_counts && slot < SCHED_MAX_THREADS)
		memset(&loader->thread_counts[slot], 0,
		       sizeof(loader->thread_counts[slot]));
}

int irq_loader_read_cpu_counts(struct irq_loader *loader,
			       struct irq_counts *per_cpu, int max_cpus)
{
	struct bpf_map *map;
	uint32_t zero = 0;
	size_t stride;
	char *values;
	int filled;

	if (!loader->available)
		return -ENODEV;
	/* The CPU's counts lead its state in one value (irq.bpf.c), one
	 * value per possible CPU, each rounded up to 8 bytes. */
	map = loader->skel->maps.irq_cpu_state;
	stride = (bpf_map__value_size(map) + 7) / 8 * 8;
	if (stride < sizeof(*per_cpu))
		return -EINVAL;
	values = calloc((size_t)loader->cpu_count, stride);
	if (!values)
		return -ENOMEM;
	if (bpf_map_lookup_elem(bpf_map__fd(map), &zero, values)) {
		int err = -errno;

		free(values);
		return err;
	}
	filled = loader->cpu_count < max_cpus ? loader->cpu_count : max_cpus;
	for (int cpu = 0; cpu < filled; cpu++)
		memcpy(&per_cpu[cpu], values + (size_t)cpu * stride,
		       sizeof(*per_cpu));
	free(values);
	return filled;
}

static int fill_culprit(int fd, const void *key, void *entry, void *ctx)
{
	struct irq_loader_culprit *out = entry;

	if (bpf_map_lookup_elem(fd, key, &out->value))
		return -errno;
	memcpy(&out->key, key, sizeof(out->key));
	return 0;
}

int irq_loader_read_culprits(struct irq_loader *loader,
			     struct irq_loader_culprit **entries,
			     size_t *count)
{
	*entries = NULL;
	*count = 0;
	if (!loader->available)
		return -ENODEV;
	return bpf_maps_read_entries(
		bpf_map__fd(loader->skel->maps.irq_culprits),
		sizeof(struct irq_culprit_key), sizeof(**entries),
		fill_culprit, NULL, (void **)entries, count);
}

int irq_loader_forget_slot(struct irq_loader *loader, uint32_t slot)
{
	struct irq_culprit_key *keys;
	size_t count;
	int fd, err;

	if (!loader->available)
		return -ENODEV;
	fd = bpf_map__fd(loader->skel->maps.irq_culprits);
	err = bpf_maps_read_keys(fd, sizeof(*keys), (void **)&keys, &count);
	if (err)
		return err;
	for (size_t i = 0; i < count; i++)
		if (keys[i].slot == slot)
			bpf_map_delete_elem(fd, &keys[i]);
	free(keys);
	return 0;
}

int irq_loader_read_errors(struct irq_loader *loader,
			   uint64_t totals[IRQ_ERR_COUNT])
{
	memset(totals, 0, IRQ_ERR_COUNT * sizeof(totals[0]));
	if (!loader->available)
		return -ENODEV;
	return bpf_maps_sum_percpu(bpf_map__fd(loader->skel->maps.irq_errors),
				   loader->cpu_count, totals, IRQ_ERR_COUNT);
}

int irq_loader_read_program_stats(struct irq_loader *loader,
				  struct loader_program_stats *out, size_t max)
{
	struct bpf_program *programs[IRQ_LOADER_PROGRAMS];
	size_t count = 0;

	if (!loader->available)
		return 0;
	for (int pair = 0; pair < PAIR_COUNT; pair++) {
		pair_programs(loader->skel, pair, &programs[count],
			      &programs[count + 1]);
		count += 2;
	}
	programs[count++] = loader->skel->progs.note_netif_receive_skb;
	/* Programs left out on this kernel have no fd and no row. */
	return prog_read_stats(programs, count, out, max);
}
