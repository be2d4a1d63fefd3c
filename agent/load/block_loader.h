/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Loading, attaching and reading the block-layer BPF programs. The only
 * module that sees block.skel.h; it is optional: when it cannot load, the
 * agent measures CPU steal without I/O.
 */
#ifndef KVMWARDEN_BLOCK_LOADER_H
#define KVMWARDEN_BLOCK_LOADER_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stddef.h>
#include <stdint.h>

#include "model/io_model.h"
#include "load/loader.h"

struct block_loader;

/* Opens, loads and attaches. Optional tracepoints (block_io_start on
 * 6.5+, block_rq_merge, block_rq_requeue) load only when the kernel has
 * them. Returns 0 or a negative errno with one line in `why`. */
int block_loader_open(struct block_loader **out, char *why, size_t why_size);

struct prog_check;
/* Loads each block program alone, configured as block_loader_open() would
 * on this kernel (`kvmwarden check-kernel`). Returns the rows filled or a
 * negative errno. */
int block_loader_check(struct prog_check *rows, size_t max);
void block_loader_close(struct block_loader *loader);

/* Tells BPF to record `tgid` as the submitter of its requests. */
int block_loader_watch(struct block_loader *loader, uint32_t tgid);
int block_loader_unwatch(struct block_loader *loader, uint32_t tgid);
/* Every watched tgid; *tgids is malloc'd, caller frees. */
int block_loader_watched(struct block_loader *loader, uint32_t **tgids,
			 size_t *count);

/* Every counter BPF holds, cumulative; fills `out` (freed with
 * io_snapshot_free) or returns a negative errno. */
int block_loader_read(struct block_loader *loader, struct io_snapshot *out);
/* Drops the counters of every owner with tgid `tgid` (a pruned guest). */
int block_loader_forget_tgid(struct block_loader *loader, uint32_t tgid);

#define BLOCK_LOADER_PROGRAMS 6

/* The loaded programs' kernel statistics (see loader_program_stats). */
int block_loader_read_program_stats(struct block_loader *loader,
				    struct loader_program_stats *out,
				    size_t max);

#endif
