// SPDX-License-Identifier: GPL-2.0-only
/*
 * The real collect_source: the loaders' functions, unchanged. Kept in load/
 * so collect/ never names a loader function, only the table.
 */
#include "load/collect_source.h"

const struct collect_source collect_source_bpf = {
	.discover = loader_discover,
	.thread_stats = loader_thread_stats,
	.reset_slot = loader_reset_slot,
	.register_thread = loader_register,
	.cancel_registration = loader_cancel_registration,
	.read_attribution = loader_read_attribution,
	.forget_group = loader_forget_group,
	.read_cpu_waits = loader_read_cpu_waits,
	.kvm_status = kvm_loader_status,
	.kvm_add_guest = kvm_loader_add_guest,
	.kvm_prune_guests = kvm_loader_prune_guests,
	.kvm_guests_changed = kvm_loader_guests_changed,
	.kvm_read_counts = kvm_loader_read_counts,
	.kvm_forget_group = kvm_loader_forget_group,
	.kvm_vcpu_thread = kvm_loader_vcpu_thread,
	.kvm_forget_vcpu_thread = kvm_loader_forget_vcpu_thread,
	.kvm_read_stats = kvm_loader_read_stats,
	.irq_thread_counts = irq_loader_thread_counts,
	.irq_reset_slot = irq_loader_reset_slot,
	.irq_read_cpu_counts = irq_loader_read_cpu_counts,
	.irq_read_culprits = irq_loader_read_culprits,
	.irq_forget_slot = irq_loader_forget_slot,
	.irq_read_errors = irq_loader_read_errors,
};

const struct block_source collect_source_block = {
	.close = block_loader_close,
	.watched = block_loader_watched,
	.watch = block_loader_watch,
	.unwatch = block_loader_unwatch,
	.forget_tgid = block_loader_forget_tgid,
	.read = block_loader_read,
};
