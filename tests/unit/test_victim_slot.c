// SPDX-License-Identifier: GPL-2.0-only
/*
 * The per-guest slots both ladders keep (victim_slot.h): a guest finds its
 * own slot again by name and uuid, a new one starts from zero, a full
 * table says so, the first window is not judged, and avoid lists add up
 * without overflowing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "policy/victim_slot.h"

/* A ladder's victim as policy.h and policy_steer.h lay theirs out. */
struct test_victim {
	struct victim_slot slot;
	int rung; /* the ladder's own state, which a new guest must not get */
};

static struct victim_slot *slot_for(struct test_victim *victims, size_t count,
				    const char *name, const char *uuid)
{
	return victim_slot_for(victims, sizeof(victims[0]), count, name, uuid);
}

static void a_guest_finds_its_own_slot_again(void **unused)
{
	struct test_victim victims[3];
	struct victim_slot *a, *b;

	memset(victims, 0, sizeof(victims));
	a = slot_for(victims, 3, "vm-a", "uuid-a");
	assert_ptr_equal(a, &victims[0].slot);
	assert_true(a->in_use);
	assert_string_equal(a->name, "vm-a");
	assert_string_equal(a->uuid, "uuid-a");
	victims[0].rung = 2;
	/* Same name, another uuid: another guest. */
	b = slot_for(victims, 3, "vm-a", "uuid-b");
	assert_ptr_equal(b, &victims[1].slot);
	assert_ptr_equal(slot_for(victims, 3, "vm-a", "uuid-a"), a);
	assert_int_equal(victims[0].rung, 2);
}

static void a_freed_slot_starts_its_ladder_afresh(void **unused)
{
	struct test_victim victims[2];
	struct victim_slot *a;

	memset(victims, 0, sizeof(victims));
	a = slot_for(victims, 2, "vm-a", "uuid-a");
	victims[0].rung = 3;
	a->windows = 5;
	a->in_use = false; /* the guest went */
	a = slot_for(victims, 2, "vm-c", "uuid-c");
	assert_ptr_equal(a, &victims[0].slot);
	assert_int_equal(victims[0].rung, 0);
	assert_int_equal(a->windows, 0);
	assert_string_equal(a->name, "vm-c");
}

static void a_full_table_gives_no_slot(void **unused)
{
	struct test_victim victims[2];

	memset(victims, 0, sizeof(victims));
	assert_non_null(slot_for(victims, 2, "vm-a", "uuid-a"));
	assert_non_null(slot_for(victims, 2, "vm-b", "uuid-b"));
	assert_null(slot_for(victims, 2, "vm-c", "uuid-c"));
	assert_non_null(slot_for(victims, 2, "vm-b", "uuid-b"));
}

static void the_first_window_is_not_judged(void **unused)
{
	int tids[POLICY_MAX_VCPUS + 2];
	struct victim_slot slot;

	for (size_t i = 0; i < POLICY_MAX_VCPUS + 2; i++)
		tids[i] = 100 + (int)i;
	memset(&slot, 0, sizeof(slot));
	assert_false(victim_slot_see(&slot, tids, 2));
	assert_true(slot.seen);
	assert_int_equal(slot.vcpu_tid_count, 2);
	assert_int_equal(slot.vcpu_tids[1], 101);
	assert_true(victim_slot_see(&slot, tids + 1, 1));
	assert_int_equal(slot.vcpu_tid_count, 1);
	assert_int_equal(slot.vcpu_tids[0], 101);
	assert_int_equal(slot.windows, 2);
	/* More threads than a slot keeps: the first ones, no overflow. */
	assert_true(victim_slot_see(&slot, tids, POLICY_MAX_VCPUS + 2));
	assert_int_equal(slot.vcpu_tid_count, POLICY_MAX_VCPUS);
}

static void avoid_lists_add_up_as_far_as_they_hold(void **unused)
{
	int avoid_tids[POLICY_MAX_VCPUS], tids[POLICY_MAX_VCPUS];
	struct victim_slot first, second;
	size_t avoid_tid_count = 0;

	for (size_t i = 0; i < POLICY_MAX_VCPUS; i++)
		tids[i] = 200 + (int)i;
	memset(&first, 0, sizeof(first));
	memset(&second, 0, sizeof(second));
	victim_slot_see(&first, tids, 2);
	victim_slot_see(&second, tids + 2, POLICY_MAX_VCPUS - 2);
	victim_slot_add_tids(&first, avoid_tids, &avoid_tid_count);
	assert_int_equal(avoid_tid_count, 2);
	assert_int_equal(avoid_tids[1], 201);
	victim_slot_add_tids(&second, avoid_tids, &avoid_tid_count);
	assert_int_equal(avoid_tid_count, POLICY_MAX_VCPUS);
	assert_int_equal(avoid_tids[POLICY_MAX_VCPUS - 1],
			 200 + POLICY_MAX_VCPUS - 1);
	/* Full: a third victim's tids are left out, not written past. */
	victim_slot_add_tids(&first, avoid_tids, &avoid_tid_count);
	assert_int_equal(avoid_tid_count, POLICY_MAX_VCPUS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_guest_finds_its_own_slot_again),
		cmocka_unit_test(a_freed_slot_starts_its_ladder_afresh),
		cmocka_unit_test(a_full_table_gives_no_slot),
		cmocka_unit_test(the_first_window_is_not_judged),
		cmocka_unit_test(avoid_lists_add_up_as_far_as_they_hold),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
