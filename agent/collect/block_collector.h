/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * I/O collection: keeps BPF's watched tgids in line with the guest table,
 * reads the block counters, and names their owners (guests by blk-cgroup
 * or pid, host cgroups by path) and devices (/sys/dev/block). Optional:
 * when the block programs cannot load, reports say I/O is unavailable.
 */
#ifndef KVMWARDEN_BLOCK_COLLECTOR_H
#define KVMWARDEN_BLOCK_COLLECTOR_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>

#include "model/io_model.h"
#include "model/model.h"

struct block_collector;

/* NULL only when out of memory; otherwise a collector, possibly without
 * I/O (block_collector_why() says why), which the agent runs on with. */
struct block_collector *block_collector_open(const char *proc_root);
void block_collector_close(struct block_collector *collector);
struct block_source;
struct block_loader;
/* A collector on `loader` (NULL: I/O unavailable, `why` says why),
 * reached through `source`: block_collector_open's, or a test's fake. */
struct block_collector *
block_collector_open_source(const char *proc_root,
			    const struct block_source *source,
			    struct block_loader *loader, const char *why);
bool block_collector_available(const struct block_collector *collector);
const char *block_collector_why(const struct block_collector *collector);

/* Watches the live guests' VMM processes and forgets pruned ones. */
int block_collector_sync(struct block_collector *collector,
			 const struct guest_table *table);
/* The BPF counters now; an empty snapshot when unavailable. */
int block_collector_snapshot(struct block_collector *collector,
			     struct io_snapshot *out);
/* The report of [before, after] (before NULL: since load) for the guests
 * of `table`. When I/O is unavailable, out->available is false. */
int block_collector_report(struct block_collector *collector,
			   const struct guest_table *table,
			   const struct io_snapshot *before,
			   const struct io_snapshot *after,
			   struct io_report *out);

#endif
