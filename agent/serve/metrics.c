// SPDX-License-Identifier: GPL-2.0-only
/*
 * The published snapshot and its hand-over between the measurement loop
 * and the HTTP thread. A scrape takes a reference under the lock and then
 * renders without it, so neither side holds the lock for longer than a
 * pointer swap: rendering 512 guests takes milliseconds, which the loop
 * must not wait for.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/units.h"
#include "model/window.h"
#include "serve/metrics.h"

/* Room for the scheduler's and the KVM object's programs. */
#define METRICS_PROGRAMS_MAX WINDOW_PROGRAMS_MAX

struct metrics_snapshot {
	struct guest_table table;
	struct prom_health health;
	struct loader_program_stats programs[METRICS_PROGRAMS_MAX];
	int readers; /* scrapes rendering it now */
	bool retired; /* replaced: the last reader frees it */
};

static void snapshot_free(struct metrics_snapshot *snapshot)
{
	if (!snapshot)
		return;
	guest_table_free(&snapshot->table);
	free(snapshot);
}

int metrics_init(struct metrics *metrics, const char *version, bool per_vcpu)
{
	memset(metrics, 0, sizeof(*metrics));
	if (mtx_init(&metrics->lock, mtx_plain) != thrd_success)
		return -ENOMEM;
	metrics->version = version;
	metrics->per_vcpu = per_vcpu;
	return 0;
}

void metrics_free(struct metrics *metrics)
{
	snapshot_free(metrics->current);
	metrics->current = NULL;
	free(metrics->io_text);
	metrics->io_text = NULL;
	free(metrics->actions_text);
	metrics->actions_text = NULL;
	mtx_destroy(&metrics->lock);
}

void metrics_set_per_vcpu(struct metrics *metrics, bool per_vcpu)
{
	mtx_lock(&metrics->lock);
	metrics->per_vcpu = per_vcpu;
	mtx_unlock(&metrics->lock);
}

void metrics_set_features(struct metrics *metrics,
			  const struct features *features)
{
	mtx_lock(&metrics->lock);
	metrics->features = features;
	mtx_unlock(&metrics->lock);
}

int metrics_publish(struct metrics *metrics, const struct guest_table *table,
		    const struct prom_health *health)
{
	struct metrics_snapshot *fresh, *old;
	size_t programs = health->program_count;
	int err;

	fresh = calloc(1, sizeof(*fresh));
	if (!fresh)
		return -ENOMEM;
	err = guest_table_copy(&fresh->table, table);
	if (err) {
		free(fresh);
		return err;
	}
	fresh->health = *health;
	if (programs > METRICS_PROGRAMS_MAX)
		programs = METRICS_PROGRAMS_MAX;
	if (programs)
		memcpy(fresh->programs, health->programs,
		       programs * sizeof(*fresh->programs));
	fresh->health.programs = fresh->programs;
	fresh->health.program_count = programs;

	mtx_lock(&metrics->lock);
	old = metrics->current;
	metrics->current = fresh;
	if (old && old->readers) {
		old->retired = true;
		old = NULL;
	}
	mtx_unlock(&metrics->lock);
	snapshot_free(old);
	return 0;
}

/* Swaps in a text kept for the scrapes; `text` may be NULL (none). */
static void swap_text(struct metrics *metrics, char **field, char *text)
{
	char *old;

	mtx_lock(&metrics->lock);
	old = *field;
	*field = text;
	mtx_unlock(&metrics->lock);
	free(old);
}

/* Rendered here, on the loop, so a scrape only copies a string under the
 * lock and the HTTP thread never touches the I/O side. */
int metrics_publish_io(struct metrics *metrics, const struct io_report *io)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem;

	mem = open_memstream(&text, &len);
	if (!mem)
		return -ENOMEM;
	prometheus_io_write(mem, io);
	if (fclose(mem)) {
		free(text);
		return -ENOMEM;
	}
	swap_text(metrics, &metrics->io_text, text);
	return 0;
}

int metrics_publish_actions(struct metrics *metrics, const char *text)
{
	char *copy = strdup(text);

	if (!copy)
		return -ENOMEM;
	swap_text(metrics, &metrics->actions_text, copy);
	return 0;
}

/* Writes a copy of *field, if any: the lock is not held while writing. */
static void write_text(FILE *out, struct metrics *metrics, char *const *field)
{
	char *copy = NULL;

	mtx_lock(&metrics->lock);
	if (*field)
		copy = strdup(*field);
	mtx_unlock(&metrics->lock);
	if (copy)
		fputs(copy, out);
	free(copy);
}

int metrics_render(FILE *out, void *ctx)
{
	struct metrics *metrics = ctx;
	struct metrics_snapshot *snapshot, *free_now = NULL;
	struct prom_options opts = { 0 };
	struct guest_table empty;
	struct prom_health health = { 0 };
	uint64_t start_ns = monotonic_ns();
	int err;

	guest_table_init(&empty);
	mtx_lock(&metrics->lock);
	snapshot = metrics->current;
	if (snapshot) {
		snapshot->readers++;
		health = snapshot->health;
	}
	health.version = metrics->version;
	health.previous_scrape_ns = metrics->previous_scrape_ns;
	opts.per_vcpu = metrics->per_vcpu;
	health.features = metrics->features;
	mtx_unlock(&metrics->lock);

	/* Before the first publish: the health families, no guests. */
	err = prometheus_write(out, snapshot ? &snapshot->table : &empty,
			       &health, &opts);
	write_text(out, metrics, &metrics->io_text);
	if (!err)
		write_text(out, metrics, &metrics->actions_text);

	mtx_lock(&metrics->lock);
	if (snapshot && --snapshot->readers == 0 && snapshot->retired)
		free_now = snapshot;
	metrics->previous_scrape_ns = monotonic_ns() - start_ns;
	mtx_unlock(&metrics->lock);
	snapshot_free(free_now);
	return err;
}
