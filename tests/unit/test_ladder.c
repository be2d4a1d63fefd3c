// SPDX-License-Identifier: GPL-2.0-only
/*
 * The arithmetic the CPU and I/O ladders share: the cool-down rounded up
 * to whole intervals, the off line, a cut to a floor, a relax step that
 * lifts at the start, at most one change of direction per cool-down, and
 * the dead band between the budget and the off line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "policy/ladder.h"

static void cooldown_rounds_up_to_at_least_one(void **state)
{
	(void)state;
	assert_int_equal(ladder_cooldown_intervals(5000, 1000), 5);
	assert_int_equal(ladder_cooldown_intervals(5001, 1000), 6);
	assert_int_equal(ladder_cooldown_intervals(100, 1000), 1);
	assert_int_equal(ladder_cooldown_intervals(0, 1000), 1);
}

static void off_line_is_below_the_budget(void **state)
{
	(void)state;
	assert_true(ladder_off_factor(50) == 0.5);
	assert_true(ladder_off_factor(10) == 0.9);
}

static void a_cut_stops_at_the_floor(void **state)
{
	(void)state;
	assert_int_equal(ladder_cut(100, 50, 5), 50);
	assert_int_equal(ladder_cut(31, 50, 5), 15);
	assert_int_equal(ladder_cut(8, 50, 5), 5);
	/* IOPS caps go far beyond what 32 bits hold times a percent. */
	assert_int_equal(ladder_cut(1000000000, 10, 10), 900000000);
}

static void relaxing_lifts_at_the_start(void **state)
{
	uint32_t next = 0;

	(void)state;
	assert_false(ladder_relax_lifts(5, 100, &next));
	assert_int_equal(next, 5 * LADDER_RELAX_FACTOR);
	assert_true(ladder_relax_lifts(25, 100, &next));
	assert_true(ladder_relax_lifts(2000000000, 4000000000u, &next));
}

static void direction_changes_once_per_cooldown(void **state)
{
	int direction = 0;
	uint64_t since = 0;

	(void)state;
	assert_true(ladder_may_turn(direction, since, 1, 3, +1));
	ladder_turn(&direction, &since, 1, +1);
	assert_int_equal(direction, +1);
	assert_int_equal(since, 1);
	ladder_turn(&direction, &since, 2, +1);
	assert_int_equal(since, 1); /* same way: no change of direction */
	assert_true(ladder_may_turn(direction, since, 2, 3, +1));
	assert_false(ladder_may_turn(direction, since, 3, 3, -1));
	assert_true(ladder_may_turn(direction, since, 4, 3, -1));
	ladder_turn(&direction, &since, 4, -1);
	assert_int_equal(direction, -1);
	assert_int_equal(since, 4);
}

static void held_for_the_cooldown_then_relax(void **state)
{
	uint32_t held = 0;
	bool logged = true;

	(void)state;
	/* Over with nothing to do counts as held, but keeps the note. */
	assert_int_equal(ladder_next_move(true, false, false, 2, &held,
					  &logged),
			 LADDER_HOLD);
	assert_int_equal(held, 1);
	assert_true(logged);
	assert_int_equal(ladder_next_move(false, true, true, 2, &held,
					  &logged),
			 LADDER_RELAX);
	assert_int_equal(held, 2);
	assert_false(logged);
	/* The dead band starts the count again, as does a climb. */
	assert_int_equal(ladder_next_move(false, false, true, 2, &held,
					  &logged),
			 LADDER_HOLD);
	assert_int_equal(held, 0);
	held = 5;
	assert_int_equal(ladder_next_move(true, false, true, 2, &held,
					  &logged),
			 LADDER_CLIMB);
	assert_int_equal(held, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cooldown_rounds_up_to_at_least_one),
		cmocka_unit_test(off_line_is_below_the_budget),
		cmocka_unit_test(a_cut_stops_at_the_floor),
		cmocka_unit_test(relaxing_lifts_at_the_start),
		cmocka_unit_test(direction_changes_once_per_cooldown),
		cmocka_unit_test(held_for_the_cooldown_then_relax),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
