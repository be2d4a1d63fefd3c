/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Who a ladder acts for: a budgeted guest's slot, found by name and uuid,
 * with how often it was seen and its vCPU threads as last seen. The CPU
 * ladder (policy.c) and the hidden-steal ladder (policy_steer.c) each keep
 * one per guest at the head of their own victim struct; what a ladder did
 * for it (caps, steered targets, direction) stays in that struct. Pure.
 */
#ifndef KVMWARDEN_VICTIM_SLOT_H
#define KVMWARDEN_VICTIM_SLOT_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/vmm_identity.h"

/* vCPU threads kept per guest: its live ones, a victim's and a setting's
 * avoid list alike. */
#define POLICY_MAX_VCPUS 16

struct victim_slot {
	bool in_use;
	bool seen; /* in this interval's input */
	uint64_t windows; /* seen in this many intervals */
	char name[PROCFS_NAME_LEN];
	char uuid[PROCFS_UUID_LEN];
	int vcpu_tids[POLICY_MAX_VCPUS]; /* as last seen */
	size_t vcpu_tid_count;
};

/* The slot of guest name/uuid among `count` victims `victim_size` bytes
 * apart, each a struct whose first member is its struct victim_slot. A
 * guest without one takes the first free victim, zeroed whole (its
 * ladder starts afresh); NULL when none is free. */
struct victim_slot *victim_slot_for(void *victims, size_t victim_size,
				    size_t count, const char *name,
				    const char *uuid);

/* Marks the slot seen this interval, with the guest's vCPU threads now.
 * Returns whether its ladder should judge this window: not the guest's
 * first, which holds whatever its threads did before they were tracked. */
bool victim_slot_see(struct victim_slot *slot, const int *vcpu_tids,
		     size_t vcpu_tid_count);

/* Adds the slot's vCPU threads to a setting's avoid list, as far as the
 * list holds (POLICY_MAX_VCPUS): two victims keeping one target off their
 * CPUs add up. */
void victim_slot_add_tids(const struct victim_slot *slot, int *avoid_tids,
			  size_t *avoid_tid_count);

#endif
