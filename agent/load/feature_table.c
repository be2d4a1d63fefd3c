// SPDX-License-Identifier: GPL-2.0-only
/*
 * The feature table: filled once from the loaders' outcomes, then read by
 * every output and by the budget check. The loaders own the facts (what
 * loaded, the kernel's reason); this file only names and combines them.
 */
#include <stdlib.h>
#include <string.h>

#include "collect/collect_block.h"
#include "config/enforce_config.h"
#include "load/feature_table.h"
#include "load/loader.h"
#include "load/loader_kvm.h"

/* What an operator looks for in `bpftool prog` or the verifier's output. */
static const char *const programs[FEATURE_COUNT] = {
	[FEATURE_STEAL] = "sched.bpf.c: handle_sched_switch_core, "
			  "discover_threads",
	[FEATURE_ATTRIBUTION] = "sched.bpf.c: handle_sched_switch, "
				"handle_sched_wakeup, handle_sched_migrate",
	[FEATURE_BLOCK_IO] = "block.bpf.c: block_rq_insert/issue/complete",
	[FEATURE_KVM] = "kvm.bpf.c: kvm_exit, kvm_entry, kvm_userspace_exit, "
			"kvm_vcpu_wakeup",
	[FEATURE_KVM_IO_NOTES] = "kvm.bpf.c: note_kvm_pio, note_kvm_mmio",
};

const char *feature_programs(enum feature feature)
{
	return (unsigned int)feature < FEATURE_COUNT ? programs[feature] : NULL;
}

void features_init(struct features *features)
{
	memset(features, 0, sizeof(*features));
	for (int i = 0; i < FEATURE_COUNT; i++)
		features->state[i].available = true;
}

void features_set(struct features *features, enum feature feature,
		  bool available, const char *reason)
{
	struct feature_state *state;

	if ((unsigned int)feature >= FEATURE_COUNT)
		return;
	state = &features->state[feature];
	state->available = available;
	if (available)
		state->reason[0] = '\0';
	else
		snprintf(state->reason, sizeof(state->reason), "%s",
			 reason && reason[0] ? reason : "unknown");
}

bool features_available(const struct features *features, enum feature feature)
{
	return (unsigned int)feature < FEATURE_COUNT &&
	       features->state[feature].available;
}

bool features_list_has(const char *list, const char *name)
{
	size_t len = strlen(name);

	while (list && *list) {
		const char *comma = strchr(list, ',');
		size_t item = comma ? (size_t)(comma - list) : strlen(list);

		if (item == len && !strncmp(list, name, len))
			return true;
		list = comma ? comma + 1 : NULL;
	}
	return false;
}

bool features_test_forced(const char *name)
{
	return features_list_has(getenv(FEATURES_TEST_ENV), name);
}

size_t features_format_off(const struct features *features, char *buf,
			   size_t size)
{
	size_t used = 0;

	if (!size)
		return 0;
	buf[0] = '\0';
	for (int i = 0; i < FEATURE_COUNT; i++) {
		int wrote;

		if (features->state[i].available)
			continue;
		wrote = snprintf(buf + used, size - used, "%s%s",
				 used ? ", " : "", feature_name(i));
		if (wrote < 0 || (size_t)wrote >= size - used)
			return strlen(buf);
		used += (size_t)wrote;
	}
	return used;
}

/* A misspelt name in the test switch would leave the feature on and the
 * test checking nothing: say so. Steal cannot be switched off. */
static void log_unknown_forced(FILE *out)
{
	const char *list = getenv(FEATURES_TEST_ENV);

	while (list && *list) {
		const char *comma = strchr(list, ',');
		int len = comma ? (int)(comma - list) : (int)strlen(list);
		bool known = false;

		for (int i = FEATURE_STEAL + 1; i < FEATURE_COUNT; i++)
			known |= (size_t)len == strlen(feature_name(i)) &&
				 !strncmp(list, feature_name(i), (size_t)len);
		if (!known)
			fprintf(out,
				"<4>kvmwarden: %s: ignoring '%.*s' (not a "
				"feature that can fail)\n",
				FEATURES_TEST_ENV, len, list);
		list = comma ? comma + 1 : NULL;
	}
}

void features_log(const struct features *features, FILE *out)
{
	log_unknown_forced(out);
	for (int i = 0; i < FEATURE_COUNT; i++)
		if (!features->state[i].available)
			fprintf(out,
				"<4>kvmwarden: feature %s unavailable (%s): "
				"%s\n",
				feature_name(i), programs[i],
				features->state[i].reason);
}

/* Appends `text` to `buf` unless it is there already: the parts of the KVM
 * telemetry often fail for one reason, which is said once. */
static void append_reason(char *buf, size_t size, const char *text)
{
	size_t used = strlen(buf);

	if (!text || !text[0] || strstr(buf, text))
		return;
	snprintf(buf + used, size - used, "%s%s", used ? "; " : "", text);
}

void features_from_kvm_status(struct features *features,
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

void features_gather(struct features *features, const struct loader *loader,
		     const struct block_collector *block,
		     struct kvm_loader *kvm)
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
	features_from_kvm_status(features, kvm ? kvm_loader_status(kvm) : NULL);
}

unsigned int features_budget_needs(const struct budget *budget)
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

size_t features_check_budgets(const struct enforce_config *enforce,
			      const struct features *features, char *lines,
			      size_t size)
{
	size_t refused = 0, used = 0;

	if (size)
		lines[0] = '\0';
	for (size_t i = 0; i < enforce->budget_count; i++) {
		const struct budget *budget = &enforce->budgets[i];
		unsigned int needs = features_budget_needs(budget);
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
