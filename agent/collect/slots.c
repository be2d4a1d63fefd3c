// SPDX-License-Identifier: GPL-2.0-only
/* Slot pool: a free stack plus a release-ordered quarantine ring. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "collect/slots.h"

int slot_pool_init(struct slot_pool *pool, uint32_t capacity,
		   uint64_t quarantine_ns)
{
	memset(pool, 0, sizeof(*pool));
	pool->capacity = capacity;
	pool->quarantine_ns = quarantine_ns;
	pool->free_slots = calloc(capacity, sizeof(*pool->free_slots));
	pool->held_slots = calloc(capacity, sizeof(*pool->held_slots));
	pool->held_since_ns = calloc(capacity, sizeof(*pool->held_since_ns));
	if (!pool->free_slots || !pool->held_slots || !pool->held_since_ns) {
		slot_pool_free(pool);
		return -ENOMEM;
	}
	/* Hand out low slots first: it keeps the mapped pages in use few. */
	for (uint32_t i = 0; i < capacity; i++)
		pool->free_slots[i] = capacity - 1 - i;
	pool->free_count = capacity;
	return 0;
}

void slot_pool_free(struct slot_pool *pool)
{
	free(pool->free_slots);
	free(pool->held_slots);
	free(pool->held_since_ns);
	memset(pool, 0, sizeof(*pool));
}

static void release_expired(struct slot_pool *pool, uint64_t now_ns)
{
	while (pool->held_count) {
		uint64_t since = pool->held_since_ns[pool->held_head];

		if (now_ns < since || now_ns - since < pool->quarantine_ns)
			break;
		pool->free_slots[pool->free_count++] =
			pool->held_slots[pool->held_head];
		pool->held_head = (pool->held_head + 1) % pool->capacity;
		pool->held_count--;
	}
}

int slot_pool_take(struct slot_pool *pool, uint64_t now_ns)
{
	release_expired(pool, now_ns);
	if (!pool->free_count)
		return -ENOSPC;
	return (int)pool->free_slots[--pool->free_count];
}

void slot_pool_release(struct slot_pool *pool, uint32_t slot, uint64_t now_ns)
{
	size_t tail;

	if (slot >= pool->capacity || pool->held_count >= pool->capacity)
		return;
	tail = (pool->held_head + pool->held_count) % pool->capacity;
	pool->held_slots[tail] = slot;
	pool->held_since_ns[tail] = now_ns;
	pool->held_count++;
}

size_t slot_pool_in_use(const struct slot_pool *pool)
{
	return pool->capacity - pool->free_count - pool->held_count;
}
