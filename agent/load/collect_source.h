/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The seam under collection: every call discovery and collection make into
 * the BPF side, as tables of functions (the block collector has its own). The agent uses
 * collect_source_bpf (the loaders); unit tests hand the tracker a fake
 * table that serves fixture records and counters, so discovery and
 * collection run without root, BPF or a kernel.
 */
#ifndef KVMWARDEN_COLLECT_SOURCE_H
#define KVMWARDEN_COLLECT_SOURCE_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "load/block_loader.h"
#include "load/irq_loader.h"
#include "load/loader.h"
#include "load/kvm_loader.h"

/* Each member has the signature of the loader function it stands for
 * (loader.h, kvm_loader.h, irq_loader.h), which says what it does. The
 * kvm_* ones are called only when the tracker has a KVM loader, the irq_*
 * ones only when it has an interrupt loader. */
struct collect_source {
	/* The scheduler programs. */
	int (*discover)(struct loader *loader,
			struct sched_vcpu_record **records, size_t *count);
	const struct sched_thread_stats *(*thread_stats)(struct loader *loader,
							 uint32_t slot);
	void (*reset_slot)(struct loader *loader, uint32_t slot);
	int (*register_thread)(struct loader *loader, uint32_t tid,
			       const struct sched_registration *reg);
	int (*cancel_registration)(struct loader *loader, uint32_t tid,
				   uint32_t slot);
	int (*read_attribution)(struct loader *loader,
				struct loader_attribution **entries,
				size_t *count);
	int (*forget_group)(struct loader *loader, uint32_t group);
	int (*read_cpu_waits)(struct loader *loader, uint64_t *vcpu_wait_ns,
			      int max_cpus);
	/* The KVM telemetry. */
	const struct kvm_attach_status *(*kvm_status)(struct kvm_loader *kvm);
	int (*kvm_add_guest)(struct kvm_loader *kvm, uint32_t tgid,
			     uint32_t group);
	int (*kvm_prune_guests)(struct kvm_loader *kvm,
				bool (*keep)(uint32_t tgid, uint32_t group,
					     void *ctx),
				void *ctx);
	void (*kvm_guests_changed)(struct kvm_loader *kvm);
	int (*kvm_read_counts)(struct kvm_loader *kvm,
			       struct kvm_loader_count **entries,
			       size_t *count);
	int (*kvm_forget_group)(struct kvm_loader *kvm, uint32_t group);
	int (*kvm_vcpu_thread)(struct kvm_loader *kvm, uint32_t tid,
			       uint64_t start_time_ns, int *vcpu_index,
			       uint64_t *vm_id);
	void (*kvm_forget_vcpu_thread)(struct kvm_loader *kvm, uint32_t tid);
	int (*kvm_read_stats)(struct kvm_loader *kvm,
			      uint64_t totals[KVM_STAT_COUNT]);
	/* The interrupt programs (hidden steal). */
	const struct irq_counts *(*irq_thread_counts)(struct irq_loader *irq,
						      uint32_t slot);
	void (*irq_reset_slot)(struct irq_loader *irq, uint32_t slot);
	int (*irq_read_cpu_counts)(struct irq_loader *irq,
				   struct irq_counts *per_cpu, int max_cpus);
	int (*irq_read_culprits)(struct irq_loader *irq,
				 struct irq_loader_culprit **entries,
				 size_t *count);
	int (*irq_forget_slot)(struct irq_loader *irq, uint32_t slot);
	int (*irq_read_errors)(struct irq_loader *irq,
			       uint64_t totals[IRQ_ERR_COUNT]);
};

/* The real BPF side: the loaders' own functions. */
extern const struct collect_source collect_source_bpf;

/* The block programs as the block collector reaches them (block_loader.h
 * says what each does). */
struct block_source {
	void (*close)(struct block_loader *loader);
	int (*watched)(struct block_loader *loader, uint32_t **tgids,
		       size_t *count);
	int (*watch)(struct block_loader *loader, uint32_t tgid);
	int (*unwatch)(struct block_loader *loader, uint32_t tgid);
	int (*forget_tgid)(struct block_loader *loader, uint32_t tgid);
	int (*read)(struct block_loader *loader, struct io_snapshot *out);
};

/* The real one: block_loader's functions. */
extern const struct block_source collect_source_block;

#endif
