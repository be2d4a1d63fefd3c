// SPDX-License-Identifier: GPL-2.0-only
/*
 * The I/O controller against a simulated device: a victim whose queue-wait
 * p99 on one device grows with a culprit's IOPS (a raised weight takes a
 * quarter off, a cap holds the culprit to the cap). Step and square-wave
 * loads check that it settles within 5 intervals, relaxes fully, and turns
 * at most once per cool-down; the culprit rules check who is never capped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "model/hist.h"
#include "model/io_model.h"
#include "policy/policy_io.h"

#define FIO "/kw/fio"
#define VICTIM_CGROUP "/kw/victim"
#define DEVICE "254:0"
#define INTERVAL_MS 250
#define COOLDOWN_MS 1000 /* 4 intervals */
#define COOLDOWN_INTERVALS 4
#define BUDGET_MS 10

struct sim {
	struct enforce_config config;
	struct policy_io policy;
	struct policy_io_result result;
	struct policy_io_guest guests[2];
	size_t guest_count;
	int last_direction;
	uint64_t turns_at[256];
	size_t turns;
};

static void sim_init(struct sim *sim, bool weight_available)
{
	struct enforce_config *c = &sim->config;
	struct budget *b = &c->budgets[0];

	memset(sim, 0, sizeof(*sim));
	enforce_config_defaults(c);
	snprintf(c->roots[0], ENFORCE_PATH_LEN, "/kw");
	c->root_count = 1;
	c->cooldown_ms = COOLDOWN_MS;
	c->min_io_iops = 10;
	snprintf(b->match, sizeof(b->match), "victim*");
	snprintf(b->class_name, sizeof(b->class_name), "high");
	b->max_io_queue_p99_us = BUDGET_MS * 1000;
	b->io_weight = 500;
	snprintf(b->throttle_roots[0], ENFORCE_PATH_LEN, "/kw");
	b->throttle_root_count = 1;
	b->throttle_lower_class_guests = true;
	c->budget_count = 1;
	policy_io_init(&sim->policy, &sim->config, INTERVAL_MS,
		       weight_available);
	snprintf(sim->guests[0].name, PROCFS_NAME_LEN, "victim");
	snprintf(sim->guests[0].cgroup, PROCFS_PATH_LEN, VICTIM_CGROUP);
	sim->guest_count = 1;
}

static const struct policy_io_setting *setting(const struct sim *sim,
					       const char *cgroup,
					       enum policy_knob knob)
{
	for (size_t i = 0; i < sim->result.setting_count; i++)
		if (sim->result.settings[i].knob == knob &&
		    !strcmp(sim->result.settings[i].cgroup, cgroup))
			return &sim->result.settings[i];
	return NULL;
}

/* One interval with the culprit offering `load_iops`: it does what its
 * cap lets it, and the victim's p99 is 1 ms per 20 IOPS it does. */
static double sim_step(struct sim *sim, const char *culprit, uint32_t kind,
		       double load_iops)
{
	struct policy_io_device *d = &sim->guests[0].devices[0];
	const struct policy_io_setting *cap =
		setting(sim, FIO, POLICY_KNOB_IO_IOPS);
	double done = load_iops;
	double p99;
	int direction = 0;

	if (cap && cap->value < done)
		done = cap->value;
	p99 = done / 20.0;
	if (setting(sim, VICTIM_CGROUP, POLICY_KNOB_IO_WEIGHT))
		p99 *= 0.75;
	memset(d, 0, sizeof(*d));
	snprintf(d->device, sizeof(d->device), DEVICE);
	d->queue_p99_ms = p99;
	if (load_iops > 0) {
		d->culprit_count = 1;
		d->culprits[0].kind = kind;
		snprintf(d->culprits[0].name, sizeof(d->culprits[0].name),
			 "%s", culprit);
		d->culprits[0].blocked_ms = p99 * 10;
		d->culprits[0].iops = done;
	}
	sim->guests[0].device_count = 1;
	policy_io_step(&sim->policy, sim->guests, sim->guest_count,
		       &sim->result);
	for (size_t i = 0; i < sim->result.action_count; i++) {
		enum policy_verb v = sim->result.actions[i].verb;

		if (v == POLICY_RAISE_WEIGHT || v == POLICY_CAP_QUOTA)
			direction = +1;
		else if (v != POLICY_NO_CULPRIT)
			direction = -1;
	}
	if (direction && direction != sim->last_direction) {
		if (sim->last_direction)
			sim->turns_at[sim->turns++] = sim->policy.interval;
		sim->last_direction = direction;
	}
	return p99;
}

static void step_load_settles_and_relaxes(void **state)
{
	static struct sim sim;
	int over_after_settle = 0, first_ok = -1;

	(void)state;
	sim_init(&sim, true);
	/* 2 quiet windows, then fio at 2000 IOPS: 100 ms p99, 10x budget. */
	sim_step(&sim, FIO, IO_CULPRIT_CGROUP, 0);
	sim_step(&sim, FIO, IO_CULPRIT_CGROUP, 0);
	for (int i = 0; i < 30; i++) {
		double p99 = sim_step(&sim, FIO, IO_CULPRIT_CGROUP, 2000);

		if (p99 <= BUDGET_MS && first_ok < 0)
			first_ok = i;
		if (first_ok >= 0 && p99 > BUDGET_MS)
			over_after_settle++;
	}
	/* weight, then 2001 -> 1000 -> 500 -> 250 -> 125: 5 intervals
	 * after the first over-budget one. */
	assert_true(first_ok >= 0);
	assert_true(first_ok <= 6);
	assert_int_equal(over_after_settle, 0);
	const struct policy_io_setting *cap =
		setting(&sim, FIO, POLICY_KNOB_IO_IOPS);
	assert_non_null(cap);
	assert_string_equal(cap->device, DEVICE);
	/* Held where the victim is within budget, not squeezed further. */
	assert_true(cap->value >= 10 && cap->value * 0.75 / 20.0 <= BUDGET_MS);
	assert_true(cap->value >= 100);
	assert_non_null(setting(&sim, VICTIM_CGROUP, POLICY_KNOB_IO_WEIGHT));
	/* fio goes away: everything is undone within cool-down + 5. */
	for (int i = 0; i < COOLDOWN_INTERVALS + 6; i++)
		sim_step(&sim, FIO, IO_CULPRIT_CGROUP, 0);
	assert_int_equal(sim.result.setting_count, 0);
	assert_true(sim.turns <= 1);
}

static void square_wave_turns_once_per_cooldown(void **state)
{
	static struct sim sim;
	/* Half-periods shorter than, near and longer than the cool-down. */
	const int halves[] = { 2, 5, 12 };

	(void)state;
	for (size_t h = 0; h < sizeof(halves) / sizeof(halves[0]); h++) {
		sim_init(&sim, true);
		sim_step(&sim, FIO, IO_CULPRIT_CGROUP, 0);
		for (int i = 0; i < 120; i++)
			sim_step(&sim, FIO, IO_CULPRIT_CGROUP,
				 (i / halves[h]) % 2 ? 0 : 2000);
		for (size_t t = 1; t < sim.turns; t++)
			assert_true(sim.turns_at[t] - sim.turns_at[t - 1] >=
				    COOLDOWN_INTERVALS);
		/* The slow wave is followed: it does turn. */
		if (halves[h] == 12)
			assert_true(sim.turns >= 4);
	}
}

static void no_weight_file_skips_weight_rung(void **state)
{
	static struct sim sim;

	(void)state;
	sim_init(&sim, false);
	sim_step(&sim, FIO, IO_CULPRIT_CGROUP, 2000);
	sim_step(&sim, FIO, IO_CULPRIT_CGROUP, 2000);
	assert_int_equal(sim.result.action_count, 1);
	assert_int_equal(sim.result.actions[0].verb, POLICY_CAP_QUOTA);
	assert_int_equal(sim.result.actions[0].to, 1000);
	assert_null(setting(&sim, VICTIM_CGROUP, POLICY_KNOB_IO_WEIGHT));
}

static void culprit_outside_roots_never_capped(void **state)
{
	static struct sim sim;

	(void)state;
	sim_init(&sim, false);
	for (int i = 0; i < 10; i++)
		sim_step(&sim, "/system/other", IO_CULPRIT_CGROUP, 2000);
	assert_int_equal(sim.result.setting_count, 0);
	/* ...and it said so, once. */
	sim_init(&sim, false);
	size_t said = 0;

	for (int i = 0; i < 10; i++) {
		sim_step(&sim, "/system/other", IO_CULPRIT_CGROUP, 2000);
		for (size_t a = 0; a < sim.result.action_count; a++)
			said += sim.result.actions[a].verb ==
				POLICY_NO_CULPRIT;
	}
	assert_int_equal(said, 1);
}

/* A unit's own cgroup is capped only through systemd: a target once it
 * answers, never before, and never a cgroup below a unit. */
static void systemd_unit_capped_only_through_systemd(void **state)
{
	static const char unit[] = "/kw/fio.service";
	static struct sim sim;

	(void)state;
	sim_init(&sim, false);
	for (int i = 0; i < 10; i++)
		sim_step(&sim, unit, IO_CULPRIT_CGROUP, 2000);
	assert_null(setting(&sim, unit, POLICY_KNOB_IO_IOPS));
	sim_init(&sim, false);
	sim.policy.systemd_backend = true;
	for (int i = 0; i < 10; i++)
		sim_step(&sim, unit, IO_CULPRIT_CGROUP, 2000);
	assert_non_null(setting(&sim, unit, POLICY_KNOB_IO_IOPS));
	sim_init(&sim, false);
	sim.policy.systemd_backend = true;
	for (int i = 0; i < 10; i++)
		sim_step(&sim, "/kw/fio.service/payload", IO_CULPRIT_CGROUP,
			 2000);
	assert_int_equal(sim.result.setting_count, 0);
}

static void lower_class_guest_capped_same_class_not(void **state)
{
	static struct sim sim;
	struct policy_io_guest *other;

	(void)state;
	sim_init(&sim, false);
	other = &sim.guests[1];
	snprintf(other->name, PROCFS_NAME_LEN, "batch");
	snprintf(other->cgroup, PROCFS_PATH_LEN, FIO);
	sim.guest_count = 2;
	sim_step(&sim, "batch", IO_CULPRIT_GUEST, 2000);
	sim_step(&sim, "batch", IO_CULPRIT_GUEST, 2000);
	/* batch has no budget: the default class, below "high". */
	assert_non_null(setting(&sim, FIO, POLICY_KNOB_IO_IOPS));
	/* A guest holding the victim's cgroup is never the one capped. */
	sim_init(&sim, false);
	snprintf(sim.guests[0].cgroup, PROCFS_PATH_LEN, FIO "/victim");
	other = &sim.guests[1];
	snprintf(other->name, PROCFS_NAME_LEN, "batch");
	snprintf(other->cgroup, PROCFS_PATH_LEN, FIO);
	sim.guest_count = 2;
	for (int i = 0; i < 4; i++)
		sim_step(&sim, "batch", IO_CULPRIT_GUEST, 2000);
	assert_int_equal(sim.result.setting_count, 0);
}

static void guest_gone_undoes_at_once(void **state)
{
	static struct sim sim;

	(void)state;
	sim_init(&sim, true);
	for (int i = 0; i < 5; i++)
		sim_step(&sim, FIO, IO_CULPRIT_CGROUP, 2000);
	assert_true(sim.result.setting_count >= 2);
	sim.guest_count = 0;
	policy_io_step(&sim.policy, sim.guests, 0, &sim.result);
	assert_int_equal(sim.result.setting_count, 0);
	bool lifted = false, restored = false;

	for (size_t a = 0; a < sim.result.action_count; a++) {
		lifted |= sim.result.actions[a].verb == POLICY_LIFT_QUOTA;
		restored |= sim.result.actions[a].verb ==
			    POLICY_RESTORE_WEIGHT;
	}
	assert_true(lifted && restored);
}

static void cap_starts_from_observed_rate(void **state)
{
	static struct sim sim;

	(void)state;
	sim_init(&sim, false);
	sim_step(&sim, FIO, IO_CULPRIT_CGROUP, 600);
	sim_step(&sim, FIO, IO_CULPRIT_CGROUP, 600);
	/* 601 halved, not some fixed ceiling halved. */
	assert_int_equal(setting(&sim, FIO, POLICY_KNOB_IO_IOPS)->value, 300);
}

/* A report's I/O as the controller sees it: the p99 from the window's
 * histogram, each culprit's rate from its own entry on the device. */
static void report_becomes_policy_input(void **state)
{
	static struct report_guest rguest;
	static struct io_culprit behind[2];
	static struct io_device vdev, fdev;
	static struct io_owner vowner, fowner;
	static struct io_report io;
	static struct policy_io_guest out[2];
	struct report report = { 0 };

	(void)state;
	snprintf(rguest.name, sizeof(rguest.name), "victim");
	snprintf(rguest.cgroup, sizeof(rguest.cgroup), VICTIM_CGROUP);
	rguest.pid = 42;
	vdev.dev = (254u << 20) | 0;
	snprintf(vdev.device, sizeof(vdev.device), DEVICE);
	/* 100 waits, every one in the bucket of slot 10. */
	vdev.delta.queue_hist[10] = 100;
	vdev.delta.queue_max_ns = hist_slot_low_ns(11);
	behind[0].kind = IO_CULPRIT_CGROUP;
	snprintf(behind[0].name, sizeof(behind[0].name), FIO);
	behind[0].blocked_ns = 30000000;
	behind[1].kind = IO_CULPRIT_CGROUP;
	snprintf(behind[1].name, sizeof(behind[1].name), "/idle");
	behind[1].blocked_ns = 1000;
	vdev.blocked_behind = behind;
	vdev.blocked_count = 2;
	vowner.pid = 42;
	vowner.devices = &vdev;
	vowner.device_count = 1;
	fdev.dev = vdev.dev;
	fdev.delta.ops[BLOCK_OP_WRITE] = 1500;
	fdev.delta.ops[BLOCK_OP_READ] = 500;
	snprintf(fowner.cgroup, sizeof(fowner.cgroup), FIO);
	fowner.devices = &fdev;
	fowner.device_count = 1;
	io.available = true;
	io.guests = &vowner;
	io.guest_count = 1;
	io.hosts = &fowner;
	io.host_count = 1;
	report.duration_ns = 2000000000ull; /* 2 s */
	report.guests = &rguest;
	report.guest_count = 1;
	report.io = &io;
	assert_int_equal(policy_io_guests_from_report(&report, out, 2), 1);
	assert_string_equal(out[0].cgroup, VICTIM_CGROUP);
	assert_int_equal(out[0].device_count, 1);
	assert_string_equal(out[0].devices[0].device, DEVICE);
	double p99_ns = out[0].devices[0].queue_p99_ms * 1e6;

	assert_true(p99_ns >= (double)hist_slot_low_ns(10) &&
		    p99_ns <= (double)hist_slot_low_ns(11));
	assert_int_equal(out[0].devices[0].culprit_count, 2);
	assert_string_equal(out[0].devices[0].culprits[0].name, FIO);
	assert_true(out[0].devices[0].culprits[0].blocked_ms > 29.9 &&
		    out[0].devices[0].culprits[0].blocked_ms < 30.1);
	/* 2000 requests over 2 s. */
	assert_true(out[0].devices[0].culprits[0].iops > 999.9 &&
		    out[0].devices[0].culprits[0].iops < 1000.1);
	/* A culprit with no entry of its own did nothing to cap. */
	assert_true(out[0].devices[0].culprits[1].iops == 0);
	/* Unmeasured I/O: the guest is there, with no devices. */
	io.available = false;
	assert_int_equal(policy_io_guests_from_report(&report, out, 2), 1);
	assert_int_equal(out[0].device_count, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(step_load_settles_and_relaxes),
		cmocka_unit_test(square_wave_turns_once_per_cooldown),
		cmocka_unit_test(no_weight_file_skips_weight_rung),
		cmocka_unit_test(culprit_outside_roots_never_capped),
		cmocka_unit_test(systemd_unit_capped_only_through_systemd),
		cmocka_unit_test(lower_class_guest_capped_same_class_not),
		cmocka_unit_test(guest_gone_undoes_at_once),
		cmocka_unit_test(cap_starts_from_observed_rate),
		cmocka_unit_test(report_becomes_policy_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
