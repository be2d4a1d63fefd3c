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
#include <time.h>

#include "actuate/audit.h"
#include "serve/metrics.h"

struct metrics_snapshot {
	struct guest_table table;
	struct prom_health health;
	struct prom_program programs[LOADER_PROGRAMS + KVM_LOADER_PROGRAMS];
	int readers; /* scrapes rendering it now */
	bool retired; /* replaced: the last reader frees it */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

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
	if (programs > LOADER_PROGRAMS + KVM_LOADER_PROGRAMS)
		programs = LOADER_PROGRAMS + KVM_LOADER_PROGRAMS;
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

int metrics_publish_tracker(struct metrics *metrics, struct tracker *tracker,
			    uint64_t last_discovery_ns, uint64_t loop_lag_ns)
{
	struct loader_program_stats
		programs[LOADER_PROGRAMS + KVM_LOADER_PROGRAMS];
	struct prom_program figures[LOADER_PROGRAMS + KVM_LOADER_PROGRAMS];
	const struct tracker_stats *stats = &tracker->stats;
	struct prom_health health = {
		.tracker = { .passes = stats->passes,
			     .guests_found = stats->guests_found,
			     .guests_gone = stats->guests_gone,
			     .threads_registered = stats->threads_registered,
			     .no_slot = stats->no_slot,
			     .register_failed = stats->register_failed,
			     .identity_clashes = stats->identity_clashes },
		.slots_in_use = slot_pool_in_use(&tracker->slots),
		.slots_max = tracker->slots.capacity,
		.last_discovery_ns = last_discovery_ns,
		.loop_lag_ns = loop_lag_ns,
		.programs = figures,
	};
	int count;

	/* Failures leave figures at 0 rather than skip a publish: the guest
	 * counters matter more than the agent's own. */
	loader_read_errors(tracker->loader, health.errors);
	count = loader_read_program_stats(tracker->loader, programs,
					  LOADER_PROGRAMS);
	health.program_count = count > 0 ? (size_t)count : 0;
	if (tracker->kvm) {
		count = kvm_loader_read_program_stats(
			tracker->kvm, programs + health.program_count,
			KVM_LOADER_PROGRAMS);
		health.program_count += count > 0 ? (size_t)count : 0;
	}
	/* The exporter takes plain figures, not the loaders' types. */
	for (size_t i = 0; i < health.program_count; i++)
		figures[i] = (struct prom_program){
			.name = programs[i].name,
			.run_time_ns = programs[i].run_time_ns,
			.run_count = programs[i].run_count,
		};
	return metrics_publish(metrics, &tracker->table, &health);
}

int metrics_render(FILE *out, void *ctx)
{
	struct metrics *metrics = ctx;
	struct metrics_snapshot *snapshot, *free_now = NULL;
	struct prom_options opts = { 0 };
	struct guest_table empty;
	struct prom_health health = { 0 };
	uint64_t start_ns = now_ns();
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
	err = prom_write_metrics(out, snapshot ? &snapshot->table : &empty,
				 &health, &opts);
	metrics_render_io(out, metrics);
	if (!err)
		audit_write_metrics(out);

	mtx_lock(&metrics->lock);
	if (snapshot && --snapshot->readers == 0 && snapshot->retired)
		free_now = snapshot;
	metrics->previous_scrape_ns = now_ns() - start_ns;
	mtx_unlock(&metrics->lock);
	snapshot_free(free_now);
	return err;
}
