/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The contract between bpf/irq.bpf.c and the agent for hidden steal: the
 * hardirq and softirq time a CPU spends while a tracked thread is current,
 * which the kernel charges to that thread as if it had run. Per tracked
 * thread (indexed by its scheduler slot, bpf/sched.h), per CPU in every
 * context, and per culprit (the device whose packets a NET_RX softirq
 * processed, or the IRQ whose handler ran). Only fixed-size types; layouts
 * are pinned.
 */
#ifndef KVMWARDEN_BPF_IRQ_H
#define KVMWARDEN_BPF_IRQ_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* NR_SOFTIRQS, in the kernel's order (include/linux/interrupt.h), which
 * is also /proc/softirqs' row order: HI, TIMER, NET_TX, NET_RX, BLOCK,
 * IRQ_POLL, TASKLET, SCHED, HRTIMER, RCU. */
#define IRQ_SOFTIRQ_VECTORS 10
#define IRQ_SOFTIRQ_NET_RX 3

/* What a hardirq was: a device's handler (irq:irq_handler_*), or one of
 * x86's system vectors (irq_vectors:*), which never pass irq_handler_*. */
enum irq_hard_kind {
	IRQ_HARD_DEVICE = 0,
	IRQ_HARD_LOCAL_TIMER = 1,
	IRQ_HARD_RESCHEDULE = 2,
	IRQ_HARD_CALL_FUNCTION = 3,
	IRQ_HARD_CALL_FUNCTION_SINGLE = 4,
	IRQ_HARD_IRQ_WORK = 5,
	/* x86_platform_ipi, error, spurious and thermal APIC vectors */
	IRQ_HARD_OTHER_VECTOR = 6,
	IRQ_HARD_KINDS = 7,
};

/* Interrupt time and counts, cumulative: one per tracked thread slot
 * (what ran while it was current) and one per CPU (everything). A hardirq
 * that arrives during a softirq is counted as the hardirq's and taken out
 * of the softirq's time; a hardirq nested in another counts once, in the
 * outer one's time. The BPF side only adds; the agent zeroes a slot before
 * handing it out and takes deltas. */
struct irq_counts {
	__u64 hard_ns[IRQ_HARD_KINDS];
	__u64 hard_count[IRQ_HARD_KINDS];
	__u64 soft_ns[IRQ_SOFTIRQ_VECTORS];
	__u64 soft_count[IRQ_SOFTIRQ_VECTORS];
	__u64 _pad;
};
_Static_assert(sizeof(struct irq_counts) == 8 * 35,
	       "irq_counts layout is ABI");

/* A culprit of one tracked thread's hidden steal. */
enum irq_culprit_kind {
	/* A network device whose packets NET_RX processed: id is its
	 * ifindex, netns its network namespace's inode number (indexes
	 * repeat across namespaces). ifindex 0: packets past the per-softirq
	 * device table, named "other". */
	IRQ_CULPRIT_DEVICE = 0,
	/* A device IRQ's handler: id is the IRQ number, name its action's. */
	IRQ_CULPRIT_IRQ = 1,
	/* A system vector: id is an enum irq_hard_kind. Never in the map:
	 * the thread's hard_ns[id] and hard_count[id] are exactly this
	 * culprit's, so the agent makes the entry from them. */
	IRQ_CULPRIT_VECTOR = 2,
};

#define IRQ_NAME_LEN 16 /* IFNAMSIZ; an IRQ action's name is cut to it */

struct irq_culprit_key {
	__u32 slot; /* the victim thread's scheduler slot */
	__u32 kind; /* enum irq_culprit_kind */
	__u32 netns; /* IRQ_CULPRIT_DEVICE only, else 0 */
	__u32 id;
};
_Static_assert(sizeof(struct irq_culprit_key) == 16,
	       "irq_culprit_key layout is ABI");

struct irq_culprit_value {
	__u64 ns; /* the victim's time this culprit took, cumulative */
	__u64 count; /* packets (device) or handler runs (irq, vector) */
	char name[IRQ_NAME_LEN]; /* the device's or the action's name */
};
_Static_assert(sizeof(struct irq_culprit_value) == 32,
	       "irq_culprit_value layout is ABI");

/* Culprit entries for every tracked thread together; an update that finds
 * the map full is counted as IRQ_ERR_CULPRITS_FULL, its time then only in
 * the thread's totals. */
#define IRQ_MAX_CULPRITS 16384

/* Per-CPU error counters, exported as they are. */
enum irq_error {
	IRQ_ERR_CULPRITS_FULL = 0, /* a culprit entry could not be added */
	/* An exit with no matching entry (the program attached mid-way
	 * through an interrupt): nothing was counted for it. */
	IRQ_ERR_UNMATCHED_EXIT = 1,
	IRQ_ERR_COUNT = 2,
};

#endif
