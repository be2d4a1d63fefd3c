/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Reading the agent's BPF maps by fd, shared by the loaders (which own the
 * skeletons and hand their fds here).
 */
#ifndef KVMWARDEN_BPF_MAPS_H
#define KVMWARDEN_BPF_MAPS_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Sums entries 0..count-1 of a per-CPU array of __u64 counters over
 * cpu_count CPUs (the possible CPUs: libbpf's per-CPU value layout).
 * Returns 0 or a negative errno; totals are zeroed first. */
int bpf_maps_sum_percpu(int fd, int cpu_count, uint64_t *totals,
			uint32_t count);

/* The possible CPUs, the length of every per-CPU value; a negative errno
 * with one line for the operator in `why` when they cannot be counted. */
int bpf_maps_possible_cpus(char *why, size_t why_size);

/* Every entry of the hash map `fd`, into *entries (malloc'd, entry_size
 * bytes each): `fill` reads the value of `key` into `entry` and returns 0,
 * or nonzero for a key deleted since it was listed (then skipped). An
 * empty map gives 0 entries; the walk ends where the kernel's does.
 * Returns 0 or a negative errno. */
typedef int bpf_maps_fill_fn(int fd, const void *key, void *entry,
			     void *ctx);
int bpf_maps_read_entries(int fd, size_t key_size, size_t entry_size,
			  bpf_maps_fill_fn *fill, void *ctx, void **entries,
			  size_t *count);
/* Every key of the hash map `fd`; *keys is malloc'd (key_size each). A
 * walk the kernel cut short with an error returns that error. */
int bpf_maps_read_keys(int fd, size_t key_size, void **keys, size_t *count);

struct bpf_map;

/* Tests fill maps to check that every loss is counted: when environment
 * variable `env` holds 1..max, the map (not yet loaded) is shrunk to that
 * many entries and the fact logged; a bad value is logged and ignored.
 * Returns whether the map was shrunk. */
bool bpf_maps_test_shrink(struct bpf_map *map, const char *env, uint32_t max);

#endif
