/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The contract between bpf/sched.bpf.c and the agent for scheduler
 * accounting: per-thread counters, thread registration, vCPU discovery
 * records and error counters. Only fixed-size types; layouts are pinned.
 * It owns no logic beyond helpers both sides must compute identically.
 */
#ifndef KVMWARDEN_BPF_SCHED_H
#define KVMWARDEN_BPF_SCHED_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Tracked threads: vCPUs plus the VMM's other threads. 8192 covers
 * 512 guests with 16 threads each; registration beyond it is counted as
 * SCHED_ERR_NO_SLOT, never silently dropped. */
#define SCHED_MAX_THREADS 8192

/* log2 buckets of a wait's length in ns: slot k holds [2^k, 2^(k+1)),
 * slot 0 also holds 0 and 1 ns, the last slot everything above ~4.6 s. */
#define SCHED_WAIT_SLOTS 33

enum sched_thread_kind {
	SCHED_THREAD_VCPU = 0,
	SCHED_THREAD_EMULATOR = 1,
	SCHED_THREAD_IOTHREAD = 2,
	SCHED_THREAD_VHOST = 3,
	SCHED_THREAD_OTHER = 4,
};

/* Cumulative counters of one tracked thread, indexed by its slot. The BPF
 * side only adds; the agent zeroes a slot before handing it out and takes
 * deltas. */
struct sched_thread_stats {
	__u64 steal_ns; /* sched_info.run_delay gained: runnable, not running */
	__u64 run_ns; /* se.sum_exec_runtime gained: on a CPU */
	__u64 waits; /* completed waits: switch-ins that ended one */
	__u64 wait_max_ns;
	__u64 wait_hist[SCHED_WAIT_SLOTS];
	__u64 _pad;
};
_Static_assert(sizeof(struct sched_thread_stats) == 8 * 38,
	       "sched_thread_stats layout is ABI");

/* What the agent asks the registration pass to attach to thread `tid`. */
struct sched_registration {
	__u32 slot;
	__u32 tgid; /* must match, so a recycled tid is not registered */
	__u32 kind; /* enum sched_thread_kind */
	__u32 group; /* the agent's guest id, never 0: names culprits */
};
_Static_assert(sizeof(struct sched_registration) == 16,
	       "sched_registration layout is ABI");

/* One record per thread found inside KVM_RUN (or already registered) by the
 * discovery iterator, written with bpf_seq_write. */
struct sched_vcpu_record {
	__u32 tgid;
	__u32 tid;
	__s32 vcpu_index; /* kvm_vcpu.vcpu_idx, -1 when not a vCPU */
	__u32 flags; /* SCHED_REC_* */
	__u64 vm_id; /* address of the struct kvm: tells VMs apart */
	__u64 start_time_ns; /* task->start_time: tells a reused tid apart */
};
_Static_assert(sizeof(struct sched_vcpu_record) == 32,
	       "sched_vcpu_record layout is ABI");

#define SCHED_REC_IN_KVM_RUN 0x1 /* preempt notifiers are registered */
#define SCHED_REC_REGISTERED 0x2 /* has task storage (tracked) */
#define SCHED_REC_JUST_REGISTERED 0x4 /* storage created by this pass */
/* A QEMU TCG vCPU thread ("CPU N/TCG"): a software-emulated guest leaves no
 * kernel fact behind, so its thread name is all there is to go by. */
#define SCHED_REC_TCG_VCPU 0x8

/* Per-CPU error counters, exported as they are. */
enum sched_error {
	SCHED_ERR_STORAGE_CREATE = 0, /* bpf_task_storage_get(CREATE) failed */
	SCHED_ERR_BAD_SLOT = 1, /* a registration named a slot out of range */
	SCHED_ERR_CLOCK = 2, /* rq clock behind a task's last_queued */
	SCHED_ERR_ATTR_FULL = 3, /* attribution map full: a part was lost */
	/* a CPU's list of waiters its quota may throttle was full */
	SCHED_ERR_WAITERS_FULL = 4,
	/* Not a count but ns: steal ATTR_FULL events could not attribute,
	 * so that culprits + this = steal holds even with the map full. */
	SCHED_ERR_ATTR_LOST_NS = 5,
	/* A registration for a thread that had storage already: dropped. */
	SCHED_ERR_STALE_REGISTRATION = 6,
	/* A CPU's culprit slot given to another culprit while vCPUs that
	 * marked it still waited: their share went to their last culprit. */
	SCHED_ERR_CULPRIT_EVICTED = 7,
	SCHED_ERR_COUNT = 8,
};

static inline __u32 sched_wait_slot(__u64 wait_ns)
{
	__u32 slot = 0;

	/* Branch-free enough for BPF's verifier, and identical on both sides
	 * so the histogram edges the agent prints are the ones BPF used. */
	if (wait_ns >= (1ULL << 32)) {
		wait_ns >>= 32;
		slot += 32;
	}
	if (wait_ns >= (1ULL << 16)) {
		wait_ns >>= 16;
		slot += 16;
	}
	if (wait_ns >= (1ULL << 8)) {
		wait_ns >>= 8;
		slot += 8;
	}
	if (wait_ns >= (1ULL << 4)) {
		wait_ns >>= 4;
		slot += 4;
	}
	if (wait_ns >= (1ULL << 2)) {
		wait_ns >>= 2;
		slot += 2;
	}
	if (wait_ns >= (1ULL << 1))
		slot += 1;
	return slot < SCHED_WAIT_SLOTS ? slot : SCHED_WAIT_SLOTS - 1;
}

#endif
