// SPDX-License-Identifier: GPL-2.0-only
/*
 * Small helpers over the loaders' maps: per-CPU sums, the possible CPUs,
 * and the test-only switch that shrinks a map to show it filling.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "base/log.h"
#include "load/bpf_maps.h"

int bpf_maps_sum_percpu(int fd, int cpu_count, uint64_t *totals, uint32_t count)
{
	uint64_t *per_cpu;
	int err = 0;

	memset(totals, 0, count * sizeof(totals[0]));
	if (cpu_count <= 0)
		return -EINVAL;
	per_cpu = calloc((size_t)cpu_count, sizeof(*per_cpu));
	if (!per_cpu)
		return -ENOMEM;
	for (uint32_t which = 0; which < count; which++) {
		if (bpf_map_lookup_elem(fd, &which, per_cpu)) {
			err = -errno;
			break;
		}
		for (int cpu = 0; cpu < cpu_count; cpu++)
			totals[which] += per_cpu[cpu];
	}
	free(per_cpu);
	return err;
}

int bpf_maps_possible_cpus(char *why, size_t why_size)
{
	int count = libbpf_num_possible_cpus();

	if (count > 0)
		return count;
	count = count ? count : -EINVAL;
	snprintf(why, why_size, "cannot count possible CPUs: %s",
		 strerror(-count));
	return count;
}

bool bpf_maps_test_shrink(struct bpf_map *map, const char *env, uint32_t max)
{
	const char *text = getenv(env);
	unsigned long entries;
	char *end;

	if (!text || !*text)
		return false;
	errno = 0;
	entries = strtoul(text, &end, 10);
	if (errno || *end || !entries || entries > max) {
		log_warn("ignoring %s=%s (want 1..%u)", env, text, max);
		return false;
	}
	if (bpf_map__set_max_entries(map, (uint32_t)entries))
		return false;
	log_warn("%s shrunk to %lu entries (%s)", bpf_map__name(map), entries,
		 env);
	return true;
}

/* The walk both readers share; `complete` refuses a walk the kernel ended
 * on an error other than ENOENT (the end). A NULL `fill` keeps the keys. */
static int read_all(int fd, size_t key_size, size_t entry_size,
		    bpf_maps_fill_fn *fill, void *ctx, bool complete,
		    void **entries, size_t *count)
{
	char *list = NULL, *bigger, key[64], next[64];
	size_t used = 0, cap = 0;

	*entries = NULL;
	*count = 0;
	if (key_size > sizeof(key))
		return -EINVAL;
	if (bpf_map_get_next_key(fd, NULL, next))
		return errno == ENOENT ? 0 : -errno;
	do {
		memcpy(key, next, key_size);
		if (used == cap) {
			cap = cap ? cap * 2 : 64;
			bigger = realloc(list, cap * entry_size);
			if (!bigger) {
				free(list);
				return -ENOMEM;
			}
			list = bigger;
		}
		/* An entry deleted between the two calls is simply gone. */
		if (!fill)
			memcpy(list + used++ * entry_size, key, key_size);
		else if (fill(fd, key, list + used * entry_size, ctx) == 0)
			used++;
	} while (bpf_map_get_next_key(fd, key, next) == 0);
	if (complete && errno != ENOENT) {
		free(list);
		return -errno;
	}
	*entries = list;
	*count = used;
	return 0;
}

int bpf_maps_read_entries(int fd, size_t key_size, size_t entry_size,
			  bpf_maps_fill_fn *fill, void *ctx, void **entries,
			  size_t *count)
{
	return read_all(fd, key_size, entry_size, fill, ctx, false, entries,
			count);
}

int bpf_maps_read_keys(int fd, size_t key_size, void **keys, size_t *count)
{
	return read_all(fd, key_size, key_size, NULL, NULL, true, keys, count);
}
