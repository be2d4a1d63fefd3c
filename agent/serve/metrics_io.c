// SPDX-License-Identifier: GPL-2.0-only
/*
 * The I/O part of /metrics: rendered to text on the measurement loop at
 * publish time, so a scrape only copies a string under the lock and the
 * HTTP thread never touches the block collector.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "collect/block_collector.h"
#include "serve/metrics.h"

int metrics_publish_io(struct metrics *metrics,
		       struct block_collector *collector,
		       const struct guest_table *table)
{
	struct io_snapshot now;
	struct io_report io;
	char *text = NULL, *old;
	size_t len = 0;
	FILE *mem;
	int err;

	block_collector_sync(collector, table);
	err = block_collector_snapshot(collector, &now);
	if (err)
		return err;
	err = block_collector_report(collector, table, NULL, &now, &io);
	io_snapshot_free(&now);
	if (err)
		return err;
	mem = open_memstream(&text, &len);
	if (!mem) {
		io_report_free(&io);
		return -ENOMEM;
	}
	prom_write_io(mem, &io);
	io_report_free(&io);
	if (fclose(mem)) {
		free(text);
		return -ENOMEM;
	}
	mtx_lock(&metrics->lock);
	old = metrics->io_text;
	metrics->io_text = text;
	mtx_unlock(&metrics->lock);
	free(old);
	return 0;
}

void metrics_render_io(FILE *out, struct metrics *metrics)
{
	char *copy = NULL;

	mtx_lock(&metrics->lock);
	if (metrics->io_text)
		copy = strdup(metrics->io_text);
	mtx_unlock(&metrics->lock);
	if (copy)
		fputs(copy, out);
	free(copy);
}
