/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Allocation of BPF counter slots to tracked threads. A released slot is
 * quarantined before reuse: a dying thread's last switch-out can still add
 * to its slot after /proc no longer lists it.
 */
#ifndef KVMWARDEN_SLOTS_H
#define KVMWARDEN_SLOTS_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stddef.h>
#include <stdint.h>

struct slot_pool {
	uint32_t capacity;
	uint64_t quarantine_ns;
	uint32_t *free_slots; /* stack */
	size_t free_count;
	uint32_t *held_slots; /* FIFO ring, oldest release first */
	uint64_t *held_since_ns;
	size_t held_head;
	size_t held_count;
};

int slot_pool_init(struct slot_pool *pool, uint32_t capacity,
		   uint64_t quarantine_ns);
void slot_pool_free(struct slot_pool *pool);
/* A free slot (>= 0), or -ENOSPC when every slot is in use or held. */
int slot_pool_take(struct slot_pool *pool, uint64_t now_ns);
void slot_pool_release(struct slot_pool *pool, uint32_t slot, uint64_t now_ns);
size_t slot_pool_in_use(const struct slot_pool *pool);

#endif
