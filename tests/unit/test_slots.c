// SPDX-License-Identifier: GPL-2.0-only
/* The slot pool: exhaustion, quarantine before reuse, FIFO release. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "collect/slots.h"

#define QUARANTINE_NS 1000

static int setup(void **state)
{
	static struct slot_pool pool;

	if (slot_pool_init(&pool, 3, QUARANTINE_NS))
		return -1;
	*state = &pool;
	return 0;
}

static int teardown(void **state)
{
	slot_pool_free(*state);
	return 0;
}

static void hands_out_distinct_slots_then_runs_out(void **state)
{
	struct slot_pool *pool = *state;
	int a = slot_pool_take(pool, 0), b = slot_pool_take(pool, 0),
	    c = slot_pool_take(pool, 0);

	assert_int_equal(a, 0);
	assert_int_equal(b, 1);
	assert_int_equal(c, 2);
	assert_int_equal(slot_pool_take(pool, 0), -ENOSPC);
	assert_int_equal(slot_pool_in_use(pool), 3);
}

static void released_slot_waits_out_quarantine(void **state)
{
	struct slot_pool *pool = *state;

	for (int i = 0; i < 3; i++)
		slot_pool_take(pool, 0);
	slot_pool_release(pool, 1, 100);
	assert_int_equal(slot_pool_in_use(pool), 2);
	assert_int_equal(slot_pool_take(pool, 100 + QUARANTINE_NS - 1),
			 -ENOSPC);
	assert_int_equal(slot_pool_take(pool, 100 + QUARANTINE_NS), 1);
}

static void quarantine_releases_in_order(void **state)
{
	struct slot_pool *pool = *state;

	for (int i = 0; i < 3; i++)
		slot_pool_take(pool, 0);
	slot_pool_release(pool, 2, 10);
	slot_pool_release(pool, 0, 500);
	assert_int_equal(slot_pool_take(pool, 10 + QUARANTINE_NS), 2);
	assert_int_equal(slot_pool_take(pool, 10 + QUARANTINE_NS), -ENOSPC);
	assert_int_equal(slot_pool_take(pool, 500 + QUARANTINE_NS), 0);
}

static void out_of_range_release_is_ignored(void **state)
{
	struct slot_pool *pool = *state;

	slot_pool_release(pool, 99, 0);
	assert_int_equal(slot_pool_in_use(pool), 0);
	assert_int_equal(pool->held_count, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			hands_out_distinct_slots_then_runs_out, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			released_slot_waits_out_quarantine, setup, teardown),
		cmocka_unit_test_setup_teardown(quarantine_releases_in_order,
						setup, teardown),
		cmocka_unit_test_setup_teardown(out_of_range_release_is_ignored,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
