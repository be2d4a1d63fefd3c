/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The tracker: the guest table discovery fills and collection updates, the
 * BPF slots its threads hold, and how the BPF side is reached (a
 * collect_source, so tests can stand in for it). Discovery (discover.h) and
 * collection (collect.h, collect_kvm.h) both work on it; it calls neither.
 */
#ifndef KVMWARDEN_TRACKER_H
#define KVMWARDEN_TRACKER_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stdint.h>

#include "base/log.h"
#include "base/units.h"
#include "collect/cgroup_names.h"
#include "collect/slots.h"
#include "load/collect_source.h"
#include "load/irq_loader.h"
#include "load/loader.h"
#include "load/kvm_loader.h"
#include "model/health.h"
#include "model/model.h"

/* Where the tracker's notes for the operator go: a guest the KVM side cannot
 * count, a KVM part that became (un)available, a guest whose name clashes.
 * `line` has no prefix and no newline. */
typedef void tracker_notify_fn(enum log_priority priority, const char *line,
			       void *ctx);

struct tracker {
	struct loader *loader;
	/* How loader and kvm are reached: collect_source_bpf, unless a test
	 * sets its own after tracker_init. */
	const struct collect_source *source;
	const char *proc_root;
	uint64_t retain_ns; /* how long exited threads and guests stay listed */
	struct guest_table table;
	struct slot_pool slots;
	struct tracker_stats stats;
	struct cgroup_names *cgroup_names; /* culprit cgroup ids -> paths */
	struct kvm_loader *kvm; /* KVM telemetry; NULL: not loaded */
	struct irq_loader *irq; /* interrupt programs; NULL: not loaded */
	/* The host's network namespace inode (its devices can be guests'
	 * taps); 0 until collect_irq.c reads it. */
	uint32_t host_netns;
	/* Cgroups declared as guests: name and cgroup.procs file each. */
	const struct tracker_declared *declared;
	size_t declared_count;
	/* KVMWARDEN_TEST_VCPU_NOTES_ONLY=1: a thread is known as a vCPU only
	 * by the KVM side's notes, never by being seen inside KVM_RUN, so a
	 * test can show the notes alone find exit-heavy vCPUs. */
	bool vcpus_by_note_only;
	/* The caller's: tracker_init sets tracker_notify_log (base/log.h),
	 * which a caller may replace after it, with its own context. */
	tracker_notify_fn *notify;
	void *notify_ctx;
};

struct tracker_declared {
	char name[PROCFS_NAME_LEN];
	char procs_file[512];
};

int tracker_init(struct tracker *tracker, struct loader *loader,
		 const char *proc_root, uint64_t retain_ns);
void tracker_free(struct tracker *tracker);

/* The default tracker_notify_fn: log_line(priority, line). */
void tracker_notify_log(enum log_priority priority, const char *line,
			void *ctx);
/* Formats a note and hands it to tracker->notify. */
void tracker_note(const struct tracker *tracker, enum log_priority priority,
		  const char *format, ...)
	__attribute__((format(printf, 3, 4)));

/* Copies the live BPF counters of one registered, attached thread into it. */
void tracker_collect_thread(struct tracker *tracker, struct thread *thread);

#endif
