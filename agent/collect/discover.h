/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Discovery: which processes are guests and which of their threads to
 * track. vCPUs come from a kernel fact (the thread is inside KVM_RUN, seen
 * by the BPF task iterator); the VMM's other threads from /proc.
 */
#ifndef KVMWARDEN_DISCOVER_H
#define KVMWARDEN_DISCOVER_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdint.h>

#include "base/units.h"
#include "collect/cgroup_names.h"
#include "load/loader.h"
#include "load/loader_kvm.h"
#include "model/model.h"
#include "collect/slots.h"

struct tracker_stats {
	uint64_t passes;
	uint64_t guests_found;
	uint64_t guests_gone;
	uint64_t threads_registered;
	uint64_t no_slot; /* a thread went untracked: every slot was taken */
	uint64_t register_failed;
	uint64_t identity_clashes; /* live guests whose name/UUID clashes now */
};

struct tracker {
	struct loader *loader;
	const char *proc_root;
	uint64_t retain_ns; /* how long exited threads and guests stay listed */
	struct guest_table table;
	struct slot_pool slots;
	struct tracker_stats stats;
	struct cgroup_names *cgroup_names; /* culprit cgroup ids -> paths */
	struct kvm_loader *kvm; /* KVM telemetry; NULL: not loaded */
	/* Cgroups declared as guests: name and cgroup.procs file each. */
	const struct tracker_declared *declared;
	size_t declared_count;
	/* KVMWARDEN_TEST_VCPU_NOTES_ONLY=1: a thread is known as a vCPU only
	 * by the KVM side's notes, never by being seen inside KVM_RUN, so a
	 * test can show the notes alone find exit-heavy vCPUs. */
	bool vcpus_by_note_only;
};

struct tracker_declared {
	char name[PROCFS_NAME_LEN];
	char procs_file[512];
};

int tracker_init(struct tracker *tracker, struct loader *loader,
		 const char *proc_root, uint64_t retain_ns);
void tracker_free(struct tracker *tracker);

/* One discovery pass: finds new guests and threads, registers them with
 * BPF, notices exits. Returns 0 or a negative errno from the BPF side;
 * vanished processes are not errors. */
int tracker_discover(struct tracker *tracker, uint64_t now_ns);

/* Copies the live BPF counters into the table (collect.c). */
void tracker_collect(struct tracker *tracker);
void tracker_collect_thread(struct tracker *tracker, struct thread *thread);
/* Copies the KVM counters and updates their availability (collect_kvm.c);
 * logs a part becoming unavailable, once. */
void tracker_collect_kvm(struct tracker *tracker);
/* Tells the KVM programs which processes are guests now (collect_kvm.c):
 * a guest's counting starts with the pass that finds it. */
void tracker_sync_kvm_guests(struct tracker *tracker);
/* Says which KVM tracepoints are attached, and how (collect_kvm.c). */
void tracker_log_kvm(const struct tracker *tracker);


#endif
