// SPDX-License-Identifier: GPL-2.0-only
/*
 * The tracker's life: its table, slots and names, and the one read both
 * discovery and collection need (a thread's counters as they stand now).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/thread_record.h"
#include "collect/tracker.h"

int tracker_init(struct tracker *tracker, struct loader *loader,
		 const char *proc_root, uint64_t retain_ns)
{
	memset(tracker, 0, sizeof(*tracker));
	tracker->loader = loader;
	tracker->source = &collect_source_bpf;
	tracker->proc_root = proc_root;
	tracker->retain_ns = retain_ns;
	tracker->notify = tracker_notify_log;
	guest_table_init(&tracker->table);
	tracker->vcpus_by_note_only =
		getenv("KVMWARDEN_TEST_VCPU_NOTES_ONLY") &&
		!strcmp(getenv("KVMWARDEN_TEST_VCPU_NOTES_ONLY"), "1");
	tracker->cgroup_names = cgroup_names_new(NULL);
	if (!tracker->cgroup_names)
		return -ENOMEM;
	/* Two seconds outlasts a dying thread's final context switch by far. */
	return slot_pool_init(&tracker->slots, SCHED_MAX_THREADS,
			      2ULL * 1000000000ULL);
}

void tracker_free(struct tracker *tracker)
{
	guest_table_free(&tracker->table);
	slot_pool_free(&tracker->slots);
	cgroup_names_free(tracker->cgroup_names);
	tracker->cgroup_names = NULL;
}

void tracker_collect_thread(struct tracker *tracker, struct thread *thread)
{
	const struct sched_thread_stats *live;

	if (thread->slot < 0 || !thread->attached)
		return;
	live = tracker->source->thread_stats(tracker->loader,
					     (uint32_t)thread->slot);
	if (live)
		thread_record_take_stats(thread, live);
	if (tracker->irq) {
		const struct irq_counts *hidden =
			tracker->source->irq_thread_counts(
				tracker->irq, (uint32_t)thread->slot);

		if (hidden)
			thread_record_take_hidden(thread, hidden);
	}
}

void tracker_notify_log(enum log_priority priority, const char *line, void *ctx)
{
	log_line(priority, "%s", line);
}

void tracker_note(const struct tracker *tracker, enum log_priority priority,
		  const char *format, ...)
{
	char line[1024];
	va_list args;

	va_start(args, format);
	vsnprintf(line, sizeof(line), format, args);
	va_end(args);
	tracker->notify(priority, line, tracker->notify_ctx);
}
