// SPDX-License-Identifier: GPL-2.0-only
/*
 * victim_slot.h: the per-guest bookkeeping both ladders share. Nothing
 * here decides anything; the ladders' rungs stay in policy.c and
 * policy_steer.c.
 */
#include <stdio.h>
#include <string.h>

#include "policy/victim_slot.h"

struct victim_slot *victim_slot_for(void *victims, size_t victim_size,
				    size_t count, const char *name,
				    const char *uuid)
{
	char *first = victims;
	char *free_victim = NULL;
	struct victim_slot *slot;

	for (size_t i = 0; i < count; i++) {
		slot = (struct victim_slot *)(first + i * victim_size);
		if (!slot->in_use) {
			if (!free_victim)
				free_victim = (char *)slot;
			continue;
		}
		if (!strcmp(slot->name, name) && !strcmp(slot->uuid, uuid))
			return slot;
	}
	if (!free_victim)
		return NULL;
	/* The whole victim, not only its slot: a guest that comes back
	 * after it went starts its ladder from the bottom. */
	memset(free_victim, 0, victim_size);
	slot = (struct victim_slot *)free_victim;
	slot->in_use = true;
	snprintf(slot->name, sizeof(slot->name), "%s", name);
	snprintf(slot->uuid, sizeof(slot->uuid), "%s", uuid);
	return slot;
}

bool victim_slot_see(struct victim_slot *slot, const int *vcpu_tids,
		     size_t vcpu_tid_count)
{
	if (vcpu_tid_count > POLICY_MAX_VCPUS)
		vcpu_tid_count = POLICY_MAX_VCPUS;
	slot->seen = true;
	slot->vcpu_tid_count = vcpu_tid_count;
	memcpy(slot->vcpu_tids, vcpu_tids,
	       sizeof(slot->vcpu_tids[0]) * vcpu_tid_count);
	return slot->windows++ > 0;
}

void victim_slot_add_tids(const struct victim_slot *slot, int *avoid_tids,
			  size_t *avoid_tid_count)
{
	for (size_t i = 0;
	     i < slot->vcpu_tid_count && *avoid_tid_count < POLICY_MAX_VCPUS;
	     i++)
		avoid_tids[(*avoid_tid_count)++] = slot->vcpu_tids[i];
}
