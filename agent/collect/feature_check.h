/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Filling the feature table (model/feature_table.h) from the loaders and
 * the block collector, and checking the budgets against it.
 */
#ifndef KVMWARDEN_COLLECT_FEATURE_CHECK_H
#define KVMWARDEN_COLLECT_FEATURE_CHECK_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stddef.h>

#include "model/features.h"

struct kvm_attach_status;
/* FEATURE_KVM and FEATURE_KVM_IO_NOTES from the KVM loader's status
 * (NULL: the KVM loader could not even be allocated). */
void feature_check_kvm_status(struct features *features,
			      const struct kvm_attach_status *status);

struct loader;
struct block_collector;
struct kvm_loader;
struct irq_loader;
/* Everything, from what the loaders achieved; any of them may be NULL
 * (not loaded at all). */
void feature_check_gather(struct features *features,
			  const struct loader *loader,
			  const struct block_collector *block,
			  struct kvm_loader *kvm, const struct irq_loader *irq);

struct budget;
struct enforce_config;
/* The features a budget cannot work without, as a bit mask of
 * (1 << enum feature): attribution when it may throttle culprits (it
 * names them), block_io when it budgets I/O. */
unsigned int feature_check_budget_needs(const struct budget *budget);
/* Checks every budget against what is available. Writes one line per
 * refused budget into `lines` (NUL-terminated, cut to size) and returns
 * how many were refused. */
size_t feature_check_budgets(const struct enforce_config *enforce,
			     const struct features *features, char *lines,
			     size_t size);

#endif
