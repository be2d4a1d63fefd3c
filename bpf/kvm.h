/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The contract between bpf/kvm.bpf.c and the agent for KVM telemetry:
 * exits by reason, guest-mode time, exits to userspace and halt-poll
 * wake-ups, counted per guest. Only fixed-size types; layouts are pinned.
 *
 * The programs are classic tracepoints (their context is the raw trace
 * record, whose layout tracefs describes), so they need no kernel or module
 * BTF: KVM is a module on most distributions. The record layouts below are
 * the ones every kernel since 4.x has used for the fields read here; the
 * agent checks them against the running kernel's format files before it
 * enables a program, and falls back or reports the part unavailable when
 * they differ.
 */
#ifndef KVMWARDEN_BPF_KVM_H
#define KVMWARDEN_BPF_KVM_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Guests (VMM processes) whose vCPU threads are counted. */
#define KVM_MAX_GUESTS 1024
/* Distinct (guest, kind, reason) counters, at most: a guest shows a few
 * dozen. The agent lowers it on hosts with many CPUs (every entry has a
 * value per CPU); entries beyond it are counted as KVM_STAT_COUNTS_FULL,
 * never silently dropped. */
#define KVM_MAX_COUNTS 16384

/* What a counter counts; `reason` says which one of that kind. */
enum kvm_count_kind {
	KVM_COUNT_EXIT_VMX = 0, /* reason: basic exit reason (low 16 bits) */
	KVM_COUNT_EXIT_SVM = 1, /* reason: SVM exit code */
	KVM_COUNT_EXIT_OTHER = 2, /* an isa neither VMX nor SVM */
	KVM_COUNT_USERSPACE = 3, /* reason: KVM_EXIT_*, or ERRNO|errno */
	KVM_COUNT_WAKEUP = 4, /* reason: KVM_WAKEUP_*; value: wake-ups */
	KVM_COUNT_HALT_NS = 5, /* reason: KVM_WAKEUP_*; value: ns halted */
	KVM_COUNT_GUEST_NS = 6, /* reason 0; value: ns between entry and exit */
	KVM_COUNT_KINDS = 7,
};

/* kvm_vcpu_wakeup's `waited`: 0 means a halt-poll found work. */
#define KVM_WAKEUP_POLLED 0
#define KVM_WAKEUP_SLEPT 1

/* A KVM_RUN that ended with an error (errno < 0) rather than an exit
 * reason: the reason is this flag | -errno (EINTR: a signal, "restart"). */
#define KVM_USERSPACE_ERRNO 0x80000000u

/* kvm_exit's isa field. */
#define KVM_ISA_VMX 1
#define KVM_ISA_SVM 2

/*
 * A tracked thread seen emulating port I/O or MMIO inside KVM_RUN, by
 * tid: a vCPU, whatever it is doing when discovery looks (one that exits
 * to userspace on nearly every run is preempted outside KVM_RUN, where the
 * iterator sees no vCPU). start_time_ns tells a reused tid apart.
 */
#define KVM_MAX_VCPU_THREADS 4096

struct kvm_vcpu_thread {
	__u64 start_time_ns; /* task->start_time */
	__u64 vm_id; /* the struct kvm's address, as the iterator reports */
	__s32 vcpu_index;
	__u32 _pad;
};

struct kvm_count_key {
	__u32 group; /* the agent's guest id (sched_registration.group) */
	__u32 kind; /* enum kvm_count_kind */
	__u32 reason;
};
_Static_assert(sizeof(struct kvm_count_key) == 12,
	       "kvm_count_key layout is ABI");

/* Per-CPU counters of the programs themselves, indexed by enum kvm_stat. */
enum kvm_stat {
	KVM_STAT_EXIT = 0, /* kvm_exit fired on a counted guest's thread */
	KVM_STAT_USERSPACE = 1, /* kvm_userspace_exit, likewise */
	KVM_STAT_WAKEUP = 2, /* kvm_vcpu_wakeup, likewise */
	KVM_STAT_COUNTS_FULL = 3, /* kvm_counts was full: an event was lost */
	/* kvm_counts was full for a time sum (guest or halt ns): no event is
	 * lost, a time figure is short by one addition. */
	KVM_STAT_NS_LOST = 4,
	KVM_STAT_COUNT = 5,
};

/*
 * The trace records read, with the offsets tracefs gives for them (the
 * 8-byte common header comes first). The agent's format check compares
 * these very numbers with /sys/kernel/tracing/events/kvm/NAME/format.
 */
#define KVM_TP_EXIT_REASON_OFF 8 /* unsigned int exit_reason */
#define KVM_TP_EXIT_ISA_OFF 24 /* u32 isa */
#define KVM_TP_UEXIT_REASON_OFF 8 /* __u32 reason */
#define KVM_TP_UEXIT_ERRNO_OFF 12 /* int errno */
#define KVM_TP_WAKEUP_NS_OFF 8 /* __u64 ns */
#define KVM_TP_WAKEUP_WAITED_OFF 16 /* bool waited */

struct kvm_tp_exit {
	__u64 common;
	__u32 exit_reason;
	__u32 _pad0;
	__u64 guest_rip;
	__u32 isa;
};
_Static_assert(__builtin_offsetof(struct kvm_tp_exit, exit_reason) ==
		       KVM_TP_EXIT_REASON_OFF,
	       "kvm_exit record");
_Static_assert(__builtin_offsetof(struct kvm_tp_exit, isa) ==
		       KVM_TP_EXIT_ISA_OFF,
	       "kvm_exit record");

struct kvm_tp_userspace_exit {
	__u64 common;
	__u32 reason;
	__s32 error;
};
_Static_assert(__builtin_offsetof(struct kvm_tp_userspace_exit, reason) ==
		       KVM_TP_UEXIT_REASON_OFF,
	       "kvm_userspace_exit record");
_Static_assert(__builtin_offsetof(struct kvm_tp_userspace_exit, error) ==
		       KVM_TP_UEXIT_ERRNO_OFF,
	       "kvm_userspace_exit record");

struct kvm_tp_vcpu_wakeup {
	__u64 common;
	__u64 ns;
	__u8 waited;
};
_Static_assert(__builtin_offsetof(struct kvm_tp_vcpu_wakeup, ns) ==
		       KVM_TP_WAKEUP_NS_OFF,
	       "kvm_vcpu_wakeup record");
_Static_assert(__builtin_offsetof(struct kvm_tp_vcpu_wakeup, waited) ==
		       KVM_TP_WAKEUP_WAITED_OFF,
	       "kvm_vcpu_wakeup record");

/* Which counter an exit goes to: VMX keeps flags (FAILED_VMENTRY) in the
 * high bits of the reason, so only the basic reason keys it. */
static inline __u32 kvm_exit_kind(__u32 isa)
{
	if (isa == KVM_ISA_VMX)
		return KVM_COUNT_EXIT_VMX;
	if (isa == KVM_ISA_SVM)
		return KVM_COUNT_EXIT_SVM;
	return KVM_COUNT_EXIT_OTHER;
}

static inline __u32 kvm_exit_key_reason(__u32 isa, __u32 exit_reason)
{
	return isa == KVM_ISA_VMX ? (exit_reason & 0xffff) : exit_reason;
}

static inline __u32 kvm_userspace_key_reason(__u32 reason, __s32 error)
{
	if (error < 0)
		return KVM_USERSPACE_ERRNO | (__u32)(-error);
	return reason;
}

#endif
