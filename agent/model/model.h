/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The model: guests, their threads and cumulative per-thread counters, and
 * the window report (deltas between two snapshots) every output reads.
 * Pure data: no I/O, no BPF, so unit tests drive it with synthetic input.
 */
#ifndef KVMWARDEN_MODEL_H
#define KVMWARDEN_MODEL_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attrib.h"
#include "model/kvm_telemetry.h"
#include "model/guest_claim.h"
#include "model/hidden.h"
#include "model/net.h"
#include "model/vmm_identity.h"
#include "sched.h"

/* Counters of one thread, cumulative since the agent started tracking it. */
struct thread_counters {
	uint64_t steal_ns;
	uint64_t run_ns;
	uint64_t waits;
	uint64_t wait_max_ns;
	uint64_t wait_hist[SCHED_WAIT_SLOTS];
	/* Interrupt time taken while the thread was current (hidden steal);
	 * zero when the interrupt programs are not loaded. */
	struct irq_counts hidden;
};

struct thread {
	uint64_t seq; /* unique within its guest, never reused: keys windows */
	int tid;
	uint64_t start_time_ns; /* task->start_time, 0 until BPF reports it */
	enum thread_kind kind;
	int vcpu_index; /* -1 unless kind == THREAD_VCPU */
	int slot; /* BPF stats slot, -1 when not (yet) registered */
	int tgid; /* the kernel's, for registration: differs for vhost kthreads */
	bool attached; /* BPF has its task storage: counters are live */
	bool exited;
	/* Ended by a split: the thread goes on as a vCPU record (discover.c's
	 * mark_vcpu), so its on-CPU time in the window may hold guest mode. */
	bool became_vcpu;
	uint64_t exited_at_ns;
	struct thread_counters counters;
	/* The slot's counts when this record took it over from another record
	 * of the same thread (a reclassification): counters = slot - base. */
	struct thread_counters base;
};

/* One exit reason's (or exit-to-userspace reason's) count. */
struct kvm_reason_total {
	uint32_t kind; /* enum kvm_count_kind: an exit kind or USERSPACE */
	uint32_t reason;
	uint64_t count;
};

/* Distinct reasons kept per guest: real guests show a few dozen. */
#define GUEST_KVM_REASONS 64

/* A guest's KVM telemetry, cumulative since the agent found it. */
struct guest_kvm {
	struct kvm_reason_total reasons[GUEST_KVM_REASONS];
	uint32_t reason_count;
	uint64_t reasons_dropped; /* distinct reasons that found no room */
	uint64_t guest_ns; /* vCPU time in guest mode */
	uint64_t wakeups[2]; /* by KVM_WAKEUP_POLLED / KVM_WAKEUP_SLEPT */
	uint64_t halt_ns[2]; /* time halted before each kind of wake-up */
};

/* Sets one cumulative BPF counter (struct kvm_count_key's kind and reason)
 * in `kvm`; never moves a figure back. Returns 0 or -ENOSPC. */
int guest_kvm_record(struct guest_kvm *kvm, uint32_t kind, uint32_t reason,
		     uint64_t value);

/* Who took a guest's steal: one culprit's cumulative share. */
struct culprit_total {
	uint32_t kind; /* enum attr_culprit_kind */
	uint64_t id; /* a guest id, a cgroup id, or 0 */
	uint64_t steal_ns;
	char name[PROCFS_PATH_LEN];
};

struct guest {
	uint64_t id; /* agent-unique, never reused: keys windows */
	int pid;
	uint64_t start_ticks; /* /proc/PID/stat field 22: a recycled pid differs */
	uint64_t vm_id;
	enum vmm_kind vmm;
	bool tcg; /* emulated by QEMU's TCG, not run by KVM */
	char name[PROCFS_NAME_LEN]; /* control characters escaped */
	char uuid[PROCFS_UUID_LEN];
	char cgroup[PROCFS_PATH_LEN];
	struct guest_claim claim;
	bool exited;
	uint64_t exited_at_ns;
	uint64_t next_thread_seq;
	uint64_t vhost_scanned_pass; /* discover.c's bookkeeping, 0: never */
	struct thread *threads;
	size_t thread_count;
	size_t thread_cap;
	/* Counters of threads dropped from `threads` after they exited, so a
	 * guest's totals stay monotonic. Indexed by enum thread_kind. */
	struct thread_counters retired[THREAD_OTHER + 1];
	struct culprit_total *culprits;
	size_t culprit_count;
	size_t culprit_cap;
	struct guest_kvm kvm;
	/* Who took its threads' hidden steal, per thread (model/hidden.h). */
	struct hidden_culprit_total *hidden_culprits;
	size_t hidden_culprit_count;
	size_t hidden_culprit_cap;
	/* Its network devices (model/net.h). */
	struct guest_net_device net[GUEST_NET_MAX];
	size_t net_count;
	uint64_t net_dropped_devices; /* found beyond GUEST_NET_MAX */
	/* A cgroup declared as a guest (cgroup_guests): every thread of its
	 * first process is measured as a vCPU. */
	bool declared;
};

/* The id BPF knows a guest by (registration group): never 0. */
static inline uint32_t guest_group(const struct guest *guest)
{
	return (uint32_t)guest->id;
}

struct guest_table {
	struct guest *guests;
	size_t guest_count;
	size_t guest_cap;
	uint64_t next_guest_id;
	/* vCPU-ns spent waiting on each host CPU, cumulative. */
	uint64_t *cpu_wait_ns;
	int cpu_count;
	/* Interrupt time on each host CPU in every context, cumulative; NULL
	 * when the interrupt programs are not loaded. */
	struct irq_counts *cpu_irq;
	int cpu_irq_count;
	/* The interrupt programs' error counters (enum irq_error),
	 * cumulative; meaningful only while cpu_irq is set. */
	uint64_t irq_errors[IRQ_ERR_COUNT];
	/* Which parts of the KVM telemetry this host provides. */
	struct kvm_availability kvm;
};

void guest_table_init(struct guest_table *table);
void guest_table_free(struct guest_table *table);
struct guest *guest_table_find(struct guest_table *table, int pid,
			       uint64_t start_ticks);
/* Returns the new guest or NULL with errno set. Pointers into the table are
 * invalidated by the next add or prune. */
struct guest *guest_table_add(struct guest_table *table, int pid,
			      uint64_t start_ticks);
/* Marks every live guest whose name, or UUID, another live guest claims
 * too (claim.clash); returns how many are marked. */
size_t guest_table_mark_clashes(struct guest_table *table);
struct thread *guest_find_thread(struct guest *guest, int tid);
struct thread *guest_add_thread(struct guest *guest, int tid);
/* Drops threads that exited more than retain_ns ago (their counters move to
 * `retired`), then guests that exited that long ago. Returns the slots the
 * dropped threads held through `released` (may be NULL). */
void guest_table_prune(struct guest_table *table, uint64_t now_ns,
		       uint64_t retain_ns,
		       void (*released)(int slot, void *ctx), void *ctx);
/* The culprit entry of `guest` for (kind, id), added when missing; NULL
 * with errno set on allocation failure. */
struct culprit_total *guest_culprit(struct guest *guest, uint32_t kind,
				    uint64_t id);

void thread_counters_add(struct thread_counters *sum,
			 const struct thread_counters *add);
/* after - before, clamped at 0 per field; wait_max is after's. */
void thread_counters_delta(struct thread_counters *out,
			   const struct thread_counters *after,
			   const struct thread_counters *before);

/* Deep copy, for a snapshot that outlives further updates. */
int guest_table_copy(struct guest_table *dst, const struct guest_table *src);

struct io_report;

/* One interval's figures, as every exporter reads them. */
struct report_thread {
	int tid;
	enum thread_kind kind;
	int vcpu_index;
	bool exited;
	struct thread_counters delta;
	/* Who took delta.hidden, largest first, none at 0; freed with the
	 * report. */
	struct report_hidden_culprit *hidden_culprits;
	size_t hidden_culprit_count;
};

struct report_culprit {
	uint32_t kind;
	char name[PROCFS_PATH_LEN];
	uint64_t steal_ns;
};

/* A guest's KVM figures in the window. */
struct report_kvm {
	struct kvm_reason_total reasons[GUEST_KVM_REASONS]; /* largest first */
	uint32_t reason_count;
	uint64_t exits; /* to the host kernel, all reasons */
	uint64_t userspace_exits;
	uint64_t guest_ns;
	uint64_t host_ns; /* vCPU on-CPU time not in guest mode */
	uint64_t wakeups[2];
	uint64_t halt_ns[2];
};

/* The window's figures of `after` over `before` (NULL: from zero);
 * `vcpu_run_ns` is the guest's vCPU on-CPU time in the window. */
void model_kvm_report(struct report_kvm *out, const struct guest_kvm *before,
		      const struct guest_kvm *after, uint64_t vcpu_run_ns);

struct report_guest {
	char name[PROCFS_NAME_LEN];
	char uuid[PROCFS_UUID_LEN];
	char cgroup[PROCFS_PATH_LEN];
	enum vmm_kind vmm;
	bool tcg;
	int pid;
	struct guest_claim claim;
	bool exited;
	struct report_thread *vcpus; /* sorted by vcpu_index */
	size_t vcpu_count;
	struct report_thread *others; /* sorted by tid */
	size_t other_count;
	struct thread_counters vcpu_total; /* includes retired vCPU threads */
	struct thread_counters other_total;
	struct report_culprit *culprits; /* largest first, none at 0 */
	size_t culprit_count;
	struct report_kvm kvm;
	/* Its network devices' figures in the window (model/net.h). */
	struct report_net_device net[GUEST_NET_MAX];
	size_t net_count;
};

struct features;

struct report {
	uint64_t duration_ns;
	struct report_guest *guests; /* sorted by name, then pid */
	size_t guest_count;
	uint64_t *cpu_wait_ns; /* per host CPU, in the window */
	int cpu_count;
	/* Interrupt time per host CPU in the window, every context; NULL
	 * when not measured. */
	struct irq_counts *cpu_irq;
	int cpu_irq_count;
	/* The interrupt programs' errors in the window; set with cpu_irq. */
	uint64_t irq_errors[IRQ_ERR_COUNT];
	uint64_t errors[SCHED_ERR_COUNT];
	struct kvm_availability kvm; /* as at the end of the window */
	/* Block I/O of the same window (io_model.h); NULL when not measured.
	 * The caller's, never freed by report_free(). */
	const struct io_report *io;
	/* What loaded on this kernel (feature_table.h); NULL: not reported. The
	 * caller's, like io. */
	const struct features *features;
};

/* "storage_create", "bad_slot", "clock_backwards": the names every output
 * gives enum sched_error. */
const char *sched_error_name(int which);
/* "guest", "cgroup", "kernel", "idle", "throttled". */
const char *culprit_kind_name(uint32_t kind);

/* Figures for [before, after]: threads and guests that appear only in
 * `after` count from zero. `errors` are left for the caller. */
int report_build(struct report *out, const struct guest_table *before,
		 const struct guest_table *after, uint64_t duration_ns);
void report_free(struct report *report);

#endif
