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
