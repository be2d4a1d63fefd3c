// SPDX-License-Identifier: GPL-2.0-only
/*
 * The feature table's inputs and its one check: what the loaders and the
 * block collector achieved, turned into model/feature_table.h's plain
 * entries, and the budgets checked against them at start. Kept out of the
 * table itself, which the outputs read and which must not reach the
 * loaders or the configuration.
 */
#include <stdio.h>
#include <string.h>

#include "collect/block_collector.h"
#include "collect/feature_check.h"
#include "config/enforce_config.h"
#include "load/loader.h"
#include "load/irq_loader.h"
#include "load/kvm_loader.h"

/* Appends `text` to `buf` unless it is there already: the parts of the KVM
 * telemetry often fail for one reason, which is said once. */
static void append_reason(char *buf, size_t size, const char *text)
{
	size_t used = strlen(buf);

	if (!text || !text[0] || strstr(buf, text))
		return;
	snprintf(buf + used, size - used, "%s%s", used ? "; " : "", text);
}

void feature_check_kvm_status(struct features *features,
			      const struct kvm_attach_status *status)
{
	char reason[FEATURE_REASON_LEN] = "";
	bool any = false;

	if (!status) {
		features_set(features, FEATURE_KVM, false,
			     "KVM telemetry not loaded: out of memory");
		features_set(features, FEATURE_KVM_IO_NOTES, false,
			     "KVM telemetry not loaded: out of memory");
		return;
	}
	/* Available when some part attached: which parts, and why the
	 * others are missing, is kvm.parts' business. */
	for (int part = 0; part < KVM_PART_COUNT; part++) {
		any |= status->attached[part];
		append_reason(reason, sizeof(reason), status->why[part]);
	}
	features_set(features, FEATURE_KVM, any, reason);
	if (status->notes[0]) {
		features_set(features, FEATURE_KVM_IO_NOTES, true, NULL);
		return;
	}
	/* The task iterator still finds every vCPU, but only one it sees
	 * inside KVM_RUN: a vCPU that exits to its VMM on nearly every run
	 * is found a discovery pass or more later. */
	snprintf(reason, sizeof(reason),
		 "%.190s (exit-heavy vCPUs are found later, by the iterator)",
		 status->notes_why[0] ? status->notes_why : "not attached");
	features_set(features, FEATURE_KVM_IO_NOTES, false, reason);
}

void feature_check_gather(struct features *features,
			  const struct loader *loader,
			  const struct block_collector *block,
			  struct kvm_loader *kvm, const struct irq_loader *irq)
{
	features_init(features);
	/* No loader, no agent: callers only get here with the core loaded. */
	features_set(features, FEATURE_STEAL, loader != NULL,
		     "the scheduler programs are not loaded");
	features_set(features, FEATURE_ATTRIBUTION,
		     loader_attribution_available(loader),
		     loader_attribution_why(loader));
	features_set(features, FEATURE_BLOCK_IO,
		     block_collector_available(block),
		     block_collector_why(block));
	feature_check_kvm_status(features, kvm ? kvm_loader_status(kvm) : NULL);
	/* Optional like the rest: steal is measured without it. */
	features_set(features, FEATURE_HIDDEN_STEAL,
		     irq_loader_available(irq), irq_loader_why(irq));
}

unsigned int feature_check_budget_needs(const struct budget *budget)
{
	unsigned int needs = 0;
	bool cpu_limit = budget->max_steal_percent || budget->max_wait_p99_ms;
	bool may_throttle = budget->throttle_lower_class_guests ||
			    budget->throttle_root_count;

	/* Raising the victim's own weight needs no culprit; capping or
	 * moving one needs attribution to name it. */
	if (cpu_limit && may_throttle)
		needs |= 1u << FEATURE_ATTRIBUTION;
	/* The queue wait it is judged by, and the culprits it caps, both
	 * come from the block programs. */
	if (budget->max_io_queue_p99_us)
		needs |= 1u << FEATURE_BLOCK_IO;
	return needs;
}

static const char *need_text(enum feature feature)
{
	return feature == FEATURE_ATTRIBUTION ?
		       "throttles culprits (throttle:), which needs" :
		       "budgets I/O (max_io_queue_p99_ms), which needs";
}

size_t feature_check_budgets(const struct enforce_config *enforce,
			     const struct features *features, char *lines,
			     size_t size)
{
	size_t refused = 0, used = 0;

	if (size)
		lines[0] = '\0';
	for (size_t i = 0; i < enforce->budget_count; i++) {
		const struct budget *budget = &enforce->budgets[i];
		unsigned int needs = feature_check_budget_needs(budget);
		bool counted = false;

		for (int f = 0; f < FEATURE_COUNT; f++) {
			int wrote;

			if (!(needs & (1u << f)) ||
			    features->state[f].available)
				continue;
			if (!counted)
				refused++;
			counted = true;
			if (used >= size)
				continue;
			wrote = snprintf(lines + used, size - used,
					 "budget '%s' (line %zu) %s %s, "
					 "unavailable here: %s\n",
					 budget->match, budget->line,
					 need_text(f), feature_name(f),
					 features->state[f].reason);
			used = wrote < 0 ? size : used + (size_t)wrote;
		}
	}
	return refused;
}
