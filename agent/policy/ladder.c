// SPDX-License-Identifier: GPL-2.0-only
/*
 * ladder.h: the steps the CPU and I/O ladders share. The ladders' own
 * state, culprits and actions stay in policy.c and policy_io.c.
 */
#include "policy/ladder.h"

uint32_t ladder_cooldown_intervals(uint32_t cooldown_ms, uint32_t interval_ms)
{
	uint32_t intervals = (cooldown_ms + interval_ms - 1) / interval_ms;

	return intervals < 1 ? 1 : intervals;
}

double ladder_off_factor(uint32_t hysteresis_percent)
{
	return (100.0 - hysteresis_percent) / 100.0;
}

uint32_t ladder_cut(uint32_t value, uint32_t step_percent, uint32_t floor)
{
	uint32_t next = (uint32_t)((uint64_t)value * (100 - step_percent) / 100);

	return next < floor ? floor : next;
}

bool ladder_relax_lifts(uint32_t value, uint32_t lift_at, uint32_t *next)
{
	uint64_t wider = (uint64_t)value * LADDER_RELAX_FACTOR;

	if (wider >= lift_at)
		return true;
	*next = (uint32_t)wider;
	return false;
}

bool ladder_may_turn(int direction, uint64_t since, uint64_t interval,
		     uint32_t cooldown_intervals, int to)
{
	return direction == 0 || direction == to ||
	       interval - since >= cooldown_intervals;
}

void ladder_turn(int *direction, uint64_t *since, uint64_t interval, int to)
{
	if (*direction != to)
		*since = interval;
	*direction = to;
}

enum ladder_move ladder_next_move(bool over, bool under_off, bool can_help,
				  uint32_t cooldown_intervals,
				  uint32_t *held_intervals,
				  bool *blocked_logged)
{
	if (over && can_help) {
		*held_intervals = 0;
		return LADDER_CLIMB;
	}
	if (under_off || !can_help) {
		(*held_intervals)++;
		if (!over)
			*blocked_logged = false;
		return *held_intervals >= cooldown_intervals ? LADDER_RELAX :
							       LADDER_HOLD;
	}
	*held_intervals = 0; /* dead band: hold */
	return LADDER_HOLD;
}
