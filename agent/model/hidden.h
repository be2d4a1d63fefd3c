/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Hidden steal in the model: the interrupt time taken from a thread while
 * it was current (bpf/irq.h's struct irq_counts, cumulative per thread and
 * per CPU), and who took it (devices, the guests they belong to, IRQs).
 * Pure data and arithmetic: no I/O.
 */
#ifndef KVMWARDEN_MODEL_HIDDEN_H
#define KVMWARDEN_MODEL_HIDDEN_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stddef.h>
#include <stdint.h>

#include "irq.h"
#include "model/vmm_identity.h"

/* sum += add, field by field. */
void hidden_counts_add(struct irq_counts *sum, const struct irq_counts *add);
/* after - before, clamped at 0 per field. */
void hidden_counts_delta(struct irq_counts *out,
			 const struct irq_counts *after,
			 const struct irq_counts *before);
/* The totals over kinds and vectors. */
uint64_t hidden_irq_ns(const struct irq_counts *counts);
uint64_t hidden_irq_count(const struct irq_counts *counts);
uint64_t hidden_softirq_ns(const struct irq_counts *counts);
uint64_t hidden_softirq_count(const struct irq_counts *counts);

/* "HI", "TIMER", "NET_TX", "NET_RX", "BLOCK", "IRQ_POLL", "TASKLET",
 * "SCHED", "HRTIMER", "RCU": /proc/softirqs' names. NULL out of range. */
const char *hidden_softirq_name(int vector);
/* "DEVICE", "LOCAL_TIMER", "RESCHEDULE", "CALL_FUNCTION",
 * "CALL_FUNCTION_SINGLE", "IRQ_WORK", "OTHER_VECTOR". NULL out of range. */
const char *hidden_hard_kind_name(int kind);

/* "culprits_full", "unmatched_exit": enum irq_error as every output names
 * it. NULL out of range. */
const char *hidden_irq_error_name(int which);

/* How a culprit is shown: a guest owns the device (its tap), a device no
 * guest owns, or an IRQ (a device's handler or a system vector). */
enum hidden_culprit_kind {
	HIDDEN_CULPRIT_GUEST = 0,
	HIDDEN_CULPRIT_DEVICE = 1,
	HIDDEN_CULPRIT_IRQ = 2,
};

/* "guest", "device", "irq": the JSON's and the metric label's. */
const char *hidden_culprit_kind_name(enum hidden_culprit_kind kind);

/* One BPF culprit entry of one thread, cumulative (guest.hidden_culprits).
 * Identity is (thread_seq, bpf_kind, netns, id); the rest is refreshed on
 * each collection. */
struct hidden_culprit_total {
	uint64_t thread_seq; /* the victim thread's, within its guest */
	uint32_t bpf_kind; /* enum irq_culprit_kind */
	uint32_t netns; /* network namespace inode, devices only */
	uint32_t id; /* ifindex, IRQ number or enum irq_hard_kind */
	char device[IRQ_NAME_LEN + 1]; /* device or IRQ action name */
	char owner[PROCFS_NAME_LEN]; /* the guest owning the device, or "" */
	uint64_t ns;
	uint64_t count;
	/* The slot's entry when this record took the slot over from an
	 * earlier record of the same thread (a reclassification,
	 * collect/thread_record.c): ns and count are the entry's minus
	 * these, so the two records never count the same time twice. */
	uint64_t base_ns;
	uint64_t base_count;
};

/* One culprit of one thread in a window, as every output shows it;
 * entries naming the same (kind, name, netns) are merged. */
struct report_hidden_culprit {
	enum hidden_culprit_kind kind;
	/* guest: its name; device: "veth0"; irq: "virtio0-input.0" or
	 * "local_timer" */
	char name[PROCFS_NAME_LEN];
	/* guest and device: the device's own name (for a guest, the tap
	 * that took the most of ns: what steering moves, policy_steer.h);
	 * irq, or a device past the BPF side's table: "" */
	char device[IRQ_NAME_LEN + 1];
	uint32_t netns; /* devices: the namespace's inode, else 0 */
	uint64_t ns;
	uint64_t count; /* packets (guest, device) or interrupts (irq) */
};

/* The culprits of thread `thread_seq` in a window: each of its entries in
 * `after` over the same entry in `before` (from zero when missing), shown
 * as model/hidden.h says and merged by (kind, name, netns), largest first,
 * none at 0. *out is malloc'd (NULL when none); 0 or -ENOMEM. */
int hidden_culprits_build(struct report_hidden_culprit **out, size_t *count,
			  const struct hidden_culprit_total *before,
			  size_t before_count,
			  const struct hidden_culprit_total *after,
			  size_t after_count, uint64_t thread_seq);

/* How one cumulative entry is shown: its kind and name. */
void hidden_culprit_show(const struct hidden_culprit_total *entry,
			 enum hidden_culprit_kind *kind, char *name,
			 size_t name_size);

#endif
