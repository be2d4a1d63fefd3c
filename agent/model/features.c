// SPDX-License-Identifier: GPL-2.0-only
/*
 * The feature table: filled once from the loaders' outcomes, then read by
 * every output and by the budget check. The loaders own the facts (what
 * loaded, the kernel's reason); this file only names and combines them.
 */
#include <stdlib.h>
#include <string.h>

#include "model/features.h"

static const char *const names[FEATURE_COUNT] = {
	[FEATURE_STEAL] = "steal",
	[FEATURE_ATTRIBUTION] = "attribution",
	[FEATURE_BLOCK_IO] = "block_io",
	[FEATURE_KVM] = "kvm",
	[FEATURE_KVM_IO_NOTES] = "kvm_io_notes",
	[FEATURE_HIDDEN_STEAL] = "hidden_steal",
};

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
	[FEATURE_HIDDEN_STEAL] = "irq.bpf.c: handle_irq_entry/exit, "
				 "handle_softirq_entry/exit",
};

const char *feature_name(enum feature feature)
{
	return (unsigned int)feature < FEATURE_COUNT ? names[feature] : NULL;
}

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
				 used ? ", " : "", names[i]);
		if (wrote < 0 || (size_t)wrote >= size - used)
			return strlen(buf);
		used += (size_t)wrote;
	}
	return used;
}
