/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Taking a tick's sample (model/window.h) from the live BPF side: the one
 * place the measuring commands read the counters, so run's windows, dump's
 * window and top's in-process feed all read them the same way, once.
 */
#ifndef KVMWARDEN_CMD_SAMPLE_H
#define KVMWARDEN_CMD_SAMPLE_H

#include "collect/block_collector.h"
#include "collect/discover.h"
#include "model/window.h"
#include "serve/snapshot.h"

/* Brings the block collector's watch list in line with the guest table,
 * collects the tracker once, and copies what the windows need: the table,
 * the I/O counters, the error counters and the programs' statistics.
 * `block` NULL: no I/O. *out holds one reference. 0 or -ENOMEM. */
int sample_take(struct tracker *tracker, struct block_collector *block,
		struct window_sample **out);

/* The I/O reports of windows, named through `block` (NULL: none). */
struct window_io_source sample_io_source(struct block_collector *block);

/* The socket feed measured in-process, as top without an agent reads it:
 * init starts the first window at a sample taken now, next takes the next
 * sample and closes the window (snapshot.h). 0 or -errno. */
int sample_feed_init(struct snapshot_feed *feed, struct tracker *tracker,
		     struct block_collector *block);
int sample_feed_next(struct snapshot_feed *feed, struct tracker *tracker,
		     struct block_collector *block, char **json);

#endif
