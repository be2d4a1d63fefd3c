/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The arithmetic both enforcement ladders share, the CPU one (policy.c)
 * and the I/O one (policy_io.c), on plain numbers so neither reaches the
 * other's types: the cool-down in intervals, the off line, one cut, one
 * relax step, and when a ladder may change direction. Pure.
 */
#ifndef KVMWARDEN_LADDER_H
#define KVMWARDEN_LADDER_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stdint.h>

/* Relaxing multiplies a cap by this, the CPU ladder's quota and the I/O
 * ladder's IOPS alike: from a 1 % quota floor a cap is gone in four steps
 * (4, 16, 64, lifted) and the weight in a fifth, so every action is gone
 * within the cool-down plus 5 intervals. */
#define LADDER_RELAX_FACTOR 4

/* The cool-down in whole intervals, rounded up, at least 1. */
uint32_t ladder_cooldown_intervals(uint32_t cooldown_ms, uint32_t interval_ms);

/* The off line as a fraction of the budget: a ladder relaxes only below
 * budget * (1 - hysteresis_percent / 100). */
double ladder_off_factor(uint32_t hysteresis_percent);

/* One rung up: `value` cut by step_percent, never below `floor`. */
uint32_t ladder_cut(uint32_t value, uint32_t step_percent, uint32_t floor);

/* One rung down: `value` times LADDER_RELAX_FACTOR into *next. True when
 * that reaches lift_at, where the cap is lifted instead (*next unset). */
bool ladder_relax_lifts(uint32_t value, uint32_t lift_at, uint32_t *next);

/* Whether a ladder going `direction` (+1, -1, 0: never moved) since
 * interval `since` may move towards `to` now: the direction changes at
 * most once per cool-down, so a square-wave load cannot make it swing. */
bool ladder_may_turn(int direction, uint64_t since, uint64_t interval,
		     uint32_t cooldown_intervals, int to);

/* Where a ladder goes this interval. */
enum ladder_move {
	LADDER_HOLD, /* in the dead band, or held too briefly */
	LADDER_CLIMB, /* over budget, and the ladder can help */
	LADDER_RELAX, /* held for the cool-down: one rung down, if any */
};

/* The hysteresis both ladders follow. `over`: above the budget;
 * `under_off`: at or below the off line; `can_help`: an action left could
 * help. Counts *held_intervals (below the off line, or nothing to do) and
 * clears *blocked_logged once the budget is met again. */
enum ladder_move ladder_next_move(bool over, bool under_off, bool can_help,
				  uint32_t cooldown_intervals,
				  uint32_t *held_intervals,
				  bool *blocked_logged);

/* Records a move towards `to` at `interval`. */
void ladder_turn(int *direction, uint64_t *since, uint64_t interval, int to);

#endif
