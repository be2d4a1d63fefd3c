// SPDX-License-Identifier: GPL-2.0-only
/*
 * The controller against a simulated host: a victim whose steal is a hog's
 * load scaled by what the controller has done (a raised weight halves it,
 * a cap scales it by the cap's share of a CPU). Step and square-wave loads
 * check settling, relaxing and that the direction changes at most once per
 * cool-down; the culprit rules check who may never be throttled.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "policy/policy.h"
#include "policy/policy_guests.h"

#define HOG "/kw/hog"
#define VICTIM_CGROUP "/kw/victim"
#define INTERVAL_MS 250
#define COOLDOWN_MS 1000 /* 4 intervals */
#define COOLDOWN_INTERVALS 4

struct sim {
	struct enforce_config config;
	struct policy policy;
	struct policy_result result;
	struct policy_guest guest;
	/* For the direction count: the step of each change of direction. */
	int last_direction;
	uint64_t turns_at[256];
	size_t turns;
};

static void sim_init(struct sim *sim)
{
	struct enforce_config *c = &sim->config;
	struct budget *b = &c->budgets[0];

	memset(sim, 0, sizeof(*sim));
	enforce_config_defaults(c);
	snprintf(c->roots[0], ENFORCE_PATH_LEN, "/kw");
	c->root_count = 1;
	c->min_quota_percent = 2;
	c->cooldown_ms = COOLDOWN_MS;
	snprintf(b->match, sizeof(b->match), "victim*");
	snprintf(b->class_name, sizeof(b->class_name), "high");
	b->class_rank = 0;
	b->max_steal_percent = 5;
	b->cpu_weight = 1000;
	snprintf(b->throttle_roots[0], ENFORCE_PATH_LEN, "/kw");
	b->throttle_root_count = 1;
	b->throttle_lower_class_guests = true;
	c->budget_count = 1;
	policy_init(&sim->policy, &sim->config, INTERVAL_MS);
	snprintf(sim->guest.name, sizeof(sim->guest.name), "victim");
	snprintf(sim->guest.cgroup, sizeof(sim->guest.cgroup), VICTIM_CGROUP);
}

static struct policy_guest victim_with(uint32_t kind, const char *name);

static const struct policy_setting *
setting(const struct sim *sim, const char *cgroup, enum policy_knob knob)
{
	for (size_t i = 0; i < sim->result.setting_count; i++)
		if (sim->result.settings[i].knob == knob &&
		    !strcmp(sim->result.settings[i].cgroup, cgroup))
			return &sim->result.settings[i];
	return NULL;
}

/* The plant: what the victim's steal would be under the settings now in
 * force, for a hog that would take load_percent of its CPU time. */
static double plant(const struct sim *sim, double load_percent)
{
	const struct policy_setting *quota =
		setting(sim, HOG, POLICY_KNOB_CPU_QUOTA);
	double steal = load_percent;

	if (setting(sim, VICTIM_CGROUP, POLICY_KNOB_CPU_WEIGHT))
		steal /= 2;
	if (quota && quota->value < steal)
		steal = quota->value;
	return steal;
}

static int direction_of(const struct policy_result *result)
{
	for (size_t i = 0; i < result->action_count; i++) {
		switch (result->actions[i].verb) {
		case POLICY_RAISE_WEIGHT:
		case POLICY_CAP_QUOTA:
			return +1;
		case POLICY_RELAX_QUOTA:
		case POLICY_LIFT_QUOTA:
		case POLICY_RESTORE_WEIGHT:
			return -1;
		default:
			break;
		}
	}
	return 0;
}

/* One interval with the hog at load_percent; returns the steal seen. */
static double sim_step(struct sim *sim, double load_percent)
{
	int direction;

	sim->guest.steal_percent = plant(sim, load_percent);
	sim->guest.culprit_count = load_percent > 0 ? 1 : 0;
	sim->guest.culprits[0].kind = ATTR_CULPRIT_CGROUP;
	snprintf(sim->guest.culprits[0].name,
		 sizeof(sim->guest.culprits[0].name), HOG);
	sim->guest.culprits[0].steal_ns = 1000000;
	sim->guest.culprit_percent[0] = sim->guest.steal_percent;
	policy_step(&sim->policy, &sim->guest, 1, &sim->result);
	direction = direction_of(&sim->result);
	if (direction && sim->last_direction &&
	    direction != sim->last_direction && sim->turns < 256)
		sim->turns_at[sim->turns++] = sim->policy.interval;
	if (direction)
		sim->last_direction = direction;
	return sim->guest.steal_percent;
}

static void assert_one_turn_per_cooldown(const struct sim *sim)
{
	for (size_t i = 1; i < sim->turns; i++)
		if (sim->turns_at[i] - sim->turns_at[i - 1] <
		    COOLDOWN_INTERVALS)
			fail_msg(
				"direction changed at intervals %llu and %llu, "
				"within one cool-down of %d",
				(unsigned long long)sim->turns_at[i - 1],
				(unsigned long long)sim->turns_at[i],
				COOLDOWN_INTERVALS);
}

static void step_load_settles_within_5_intervals(void **state)
{
	struct sim sim;
	size_t last_change = 0;
	double steal = 0;

	sim_init(&sim);
	for (int i = 0; i < 3; i++)
		assert_true(sim_step(&sim, 0) == 0);
	assert_int_equal(sim.result.setting_count, 0);
	for (size_t i = 0; i < 40; i++) {
		steal = sim_step(&sim, 60);
		if (sim.result.action_count)
			last_change = i;
		if (i >= 5)
			assert_true(steal <= 5.0);
	}
	assert_true(last_change < 5);
	/* The first rung is the victim's weight, the next ones the cap. */
	assert_non_null(setting(&sim, VICTIM_CGROUP, POLICY_KNOB_CPU_WEIGHT));
	assert_non_null(setting(&sim, HOG, POLICY_KNOB_CPU_QUOTA));
	assert_true(setting(&sim, HOG, POLICY_KNOB_CPU_QUOTA)->value >=
		    sim.config.min_quota_percent);
	assert_int_equal(sim.turns, 0);
}

static void relaxes_after_cooldown_and_is_gone_in_5(void **state)
{
	struct sim sim;
	int gone_at = -1;

	sim_init(&sim);
	sim.config.min_quota_percent = 1;
	/* A load no cap fixes drives the ladder to its top: the longest
	 * way down (4, 16, 64, lifted, then the weight). */
	for (int i = 0; i < 20; i++) {
		sim.guest = victim_with(ATTR_CULPRIT_CGROUP, HOG);
		sim.guest.steal_percent = 90;
		sim.guest.culprit_percent[0] = 90;
		policy_step(&sim.policy, &sim.guest, 1, &sim.result);
	}
	assert_int_equal(setting(&sim, HOG, POLICY_KNOB_CPU_QUOTA)->value, 1);
	sim.last_direction = +1;
	for (int i = 0; i < 30; i++) {
		sim_step(&sim, 0);
		/* Nothing relaxes before the budget held a cool-down. */
		if (i < COOLDOWN_INTERVALS - 1)
			assert_int_equal(sim.result.action_count, 0);
		if (gone_at < 0 && sim.result.setting_count == 0)
			gone_at = i;
	}
	assert_true(gone_at >= 0);
	/* i counts from 0: the cool-down's last interval is i == 3. */
	assert_true(gone_at <= COOLDOWN_INTERVALS - 1 + 5);
	assert_int_equal(sim.turns, 1);
}

static void floor_is_never_crossed(void **state)
{
	struct sim sim;

	sim_init(&sim);
	sim.config.budgets[0].cpu_weight = 0; /* straight to capping */
	for (int i = 0; i < 50; i++) {
		const struct policy_setting *quota;

		/* A steal no cap ever fixes. */
		sim.guest = victim_with(ATTR_CULPRIT_CGROUP, HOG);
		sim.guest.steal_percent = 90;
		sim.guest.culprit_percent[0] = 90;
		policy_step(&sim.policy, &sim.guest, 1, &sim.result);
		quota = setting(&sim, HOG, POLICY_KNOB_CPU_QUOTA);
		if (i == 0) /* the first window is never judged */
			continue;
		assert_non_null(quota);
		assert_true(quota->value >= sim.config.min_quota_percent);
	}
	assert_int_equal(setting(&sim, HOG, POLICY_KNOB_CPU_QUOTA)->value,
			 sim.config.min_quota_percent);
	/* Bounded: one rung per interval, never a jump. */
	assert_true(sim.result.action_count <= 1);
}

static void square_wave(int on, int off, int periods)
{
	struct sim sim;

	sim_init(&sim);
	for (int p = 0; p < periods; p++) {
		for (int i = 0; i < on; i++)
			sim_step(&sim, 60);
		for (int i = 0; i < off; i++)
			sim_step(&sim, 0);
	}
	assert_one_turn_per_cooldown(&sim);
}

static void fast_square_wave_does_not_oscillate(void **state)
{
	square_wave(2, 2, 30);
	square_wave(1, 1, 60);
	square_wave(1, 3, 30);
}

static void slow_square_wave_turns_once_per_cooldown(void **state)
{
	square_wave(6, 6, 15);
	square_wave(10, 10, 10);
	square_wave(3, 5, 20);
}

static void dead_band_holds(void **state)
{
	struct sim sim;

	sim_init(&sim);
	for (int i = 0; i < 10; i++)
		sim_step(&sim, 60);
	size_t settings = sim.result.setting_count;

	/* Between the off line (2.5 %) and the budget (5 %): no change. */
	for (int i = 0; i < 20; i++) {
		sim.guest.steal_percent = 4;
		policy_step(&sim.policy, &sim.guest, 1, &sim.result);
		assert_int_equal(sim.result.action_count, 0);
	}
	assert_int_equal(sim.result.setting_count, settings);
}

static struct policy_guest victim_with(uint32_t kind, const char *name)
{
	struct policy_guest guest;

	memset(&guest, 0, sizeof(guest));
	snprintf(guest.name, sizeof(guest.name), "victim");
	snprintf(guest.cgroup, sizeof(guest.cgroup), VICTIM_CGROUP);
	guest.steal_percent = 50;
	guest.culprit_count = 1;
	guest.culprit_percent[0] = 50;
	guest.culprits[0].kind = kind;
	snprintf(guest.culprits[0].name, sizeof(guest.culprits[0].name), "%s",
		 name);
	return guest;
}

static bool saw_no_culprit;

/* Three steps (the first window unjudged, the weight, then a cap if
 * allowed): the quota settings made. */
static size_t quota_settings(struct sim *sim, struct policy_guest *guests,
			     size_t count)
{
	size_t quotas = 0;

	saw_no_culprit = false;
	for (int i = 0; i < 3; i++) {
		policy_step(&sim->policy, guests, count, &sim->result);
		for (size_t a = 0; a < sim->result.action_count; a++)
			saw_no_culprit |= sim->result.actions[a].verb ==
					  POLICY_NO_CULPRIT;
	}
	for (size_t i = 0; i < sim->result.setting_count; i++)
		quotas += sim->result.settings[i].knob == POLICY_KNOB_CPU_QUOTA;
	return quotas;
}

static void forbidden_culprits_are_never_throttled(void **state)
{
	static const uint32_t never[] = { ATTR_CULPRIT_KERNEL,
					  ATTR_CULPRIT_IDLE,
					  ATTR_CULPRIT_THROTTLED };
	struct policy_guest guests[2];
	struct sim sim;

	for (size_t i = 0; i < 3; i++) {
		sim_init(&sim);
		guests[0] = victim_with(never[i], "/kw/hog");
		assert_int_equal(quota_settings(&sim, guests, 1), 0);
		/* Said once, and not even the weight is raised: it would
		 * not help against what may not be throttled. */
		assert_true(saw_no_culprit);
		assert_int_equal(sim.result.setting_count, 0);
	}
	/* A cgroup outside the budget's throttle roots. */
	sim_init(&sim);
	snprintf(sim.config.budgets[0].throttle_roots[0], ENFORCE_PATH_LEN,
		 "/kw/batch");
	guests[0] = victim_with(ATTR_CULPRIT_CGROUP, "/kw/hog");
	assert_int_equal(quota_settings(&sim, guests, 1), 0);
	/* A cgroup holding the victim: capping it would cap the victim. */
	sim_init(&sim);
	guests[0] = victim_with(ATTR_CULPRIT_CGROUP, "/kw");
	assert_int_equal(quota_settings(&sim, guests, 1), 0);
	/* A prefix that is not a path component is not "under". */
	sim_init(&sim);
	guests[0] = victim_with(ATTR_CULPRIT_CGROUP, "/kwx/hog");
	assert_int_equal(quota_settings(&sim, guests, 1), 0);
	/* A unit's cgroup is systemd's to write, even under a root. */
	sim_init(&sim);
	guests[0] = victim_with(ATTR_CULPRIT_CGROUP, "/kw/batch.service");
	assert_int_equal(quota_settings(&sim, guests, 1), 0);
	sim_init(&sim);
	sim.config.write_managed_cgroups = true;
	assert_int_equal(quota_settings(&sim, guests, 1), 1);
	/* Host cgroup under the roots: allowed. */
	sim_init(&sim);
	guests[0] = victim_with(ATTR_CULPRIT_CGROUP, "/kw/batch/hog");
	assert_int_equal(quota_settings(&sim, guests, 1), 1);
}

static void only_lower_class_guests_are_throttled(void **state)
{
	struct policy_guest guests[2];
	struct sim sim;

	/* The other guest has no budget: the default class (normal) is
	 * below the victim's (high). */
	sim_init(&sim);
	guests[0] = victim_with(ATTR_CULPRIT_GUEST, "noisy");
	memset(&guests[1], 0, sizeof(guests[1]));
	snprintf(guests[1].name, sizeof(guests[1].name), "noisy");
	snprintf(guests[1].cgroup, sizeof(guests[1].cgroup), "/kw/noisy");
	assert_int_equal(quota_settings(&sim, guests, 2), 1);
	/* Same class: never. */
	sim_init(&sim);
	snprintf(sim.config.default_class, ENFORCE_NAME_LEN, "high");
	assert_int_equal(quota_settings(&sim, guests, 2), 0);
	/* Lower class but the budget does not allow throttling guests. */
	sim_init(&sim);
	sim.config.budgets[0].throttle_lower_class_guests = false;
	assert_int_equal(quota_settings(&sim, guests, 2), 0);
	/* Lower class, allowed, but its cgroup is outside the roots. */
	sim_init(&sim);
	snprintf(guests[1].cgroup, sizeof(guests[1].cgroup), "/machine/noisy");
	assert_int_equal(quota_settings(&sim, guests, 2), 0);
}

/* A libvirt machine's cgroup is libvirt's to write: a target only when
 * its backend (libvirtd answering) is there, and still only under the
 * roots. */
static void libvirt_guests_need_the_libvirt_backend(void **state)
{
	static const char machine[] =
		"/kw/qemu-3-noisy.libvirt-qemu/emulator";
	struct policy_guest guests[2];
	struct sim sim;

	sim_init(&sim);
	guests[0] = victim_with(ATTR_CULPRIT_GUEST, "noisy");
	memset(&guests[1], 0, sizeof(guests[1]));
	snprintf(guests[1].name, sizeof(guests[1].name), "noisy");
	snprintf(guests[1].cgroup, sizeof(guests[1].cgroup), machine);
	assert_int_equal(quota_settings(&sim, guests, 2), 0);
	sim_init(&sim);
	sim.policy.libvirt_backend = true;
	assert_int_equal(quota_settings(&sim, guests, 2), 1);
	/* Outside the roots: not even through libvirt. */
	sim_init(&sim);
	sim.policy.libvirt_backend = true;
	snprintf(guests[1].cgroup, sizeof(guests[1].cgroup),
		 "/machine/qemu-3-noisy.libvirt-qemu/emulator");
	assert_int_equal(quota_settings(&sim, guests, 2), 0);
	/* The backend is libvirt's only: a systemd unit stays refused. */
	sim_init(&sim);
	sim.policy.libvirt_backend = true;
	snprintf(guests[1].cgroup, sizeof(guests[1].cgroup),
		 "/kw/noisy.service");
	assert_int_equal(quota_settings(&sim, guests, 2), 0);
}

/* A systemd unit's own cgroup is systemd's to write: a target only when
 * systemd answers, never a cgroup below a unit, and with
 * write_managed_cgroups the files are written as before. */
static void systemd_units_need_the_systemd_backend(void **state)
{
	struct policy_guest guests[2];
	struct sim sim;

	sim_init(&sim);
	guests[0] = victim_with(ATTR_CULPRIT_GUEST, "noisy");
	memset(&guests[1], 0, sizeof(guests[1]));
	snprintf(guests[1].name, sizeof(guests[1].name), "noisy");
	snprintf(guests[1].cgroup, sizeof(guests[1].cgroup),
		 "/kw/noisy.service");
	assert_int_equal(quota_settings(&sim, guests, 2), 0);
	sim_init(&sim);
	sim.policy.systemd_backend = true;
	assert_int_equal(quota_settings(&sim, guests, 2), 1);
	/* Below a unit: its delegatee's, not systemd's to set. */
	sim_init(&sim);
	sim.policy.systemd_backend = true;
	snprintf(guests[1].cgroup, sizeof(guests[1].cgroup),
		 "/kw/noisy.service/payload");
	assert_int_equal(quota_settings(&sim, guests, 2), 0);
	sim_init(&sim);
	sim.config.write_managed_cgroups = true;
	assert_int_equal(quota_settings(&sim, guests, 2), 1);
	/* Outside the roots: not even through systemd. */
	sim_init(&sim);
	sim.policy.systemd_backend = true;
	snprintf(guests[1].cgroup, sizeof(guests[1].cgroup),
		 "/system.slice/noisy.service");
	assert_int_equal(quota_settings(&sim, guests, 2), 0);
}

static void vanished_victim_releases_everything(void **state)
{
	struct sim sim;

	sim_init(&sim);
	for (int i = 0; i < 5; i++)
		sim_step(&sim, 60);
	assert_true(sim.result.setting_count > 0);
	policy_step(&sim.policy, NULL, 0, &sim.result);
	assert_int_equal(sim.result.setting_count, 0);
	assert_true(sim.result.action_count >= 2);
}

static void two_victims_one_culprit_strongest_wins(void **state)
{
	struct policy_guest guests[2];
	struct sim sim;

	sim_init(&sim);
	sim.config.budgets[0].cpu_weight = 0;
	guests[0] = victim_with(ATTR_CULPRIT_CGROUP, "/kw/hog");
	guests[1] = victim_with(ATTR_CULPRIT_CGROUP, "/kw/hog");
	snprintf(guests[1].name, sizeof(guests[1].name), "victim-2");
	for (int i = 0; i < 4; i++)
		policy_step(&sim.policy, guests, 2, &sim.result);
	guests[1].steal_percent = 0; /* only victim 1 keeps escalating */
	policy_step(&sim.policy, guests, 2, &sim.result);
	assert_int_equal(sim.result.setting_count, 1);
	/* From the 50 % the culprit took: 51, 25, 12, 6, then 3 for the
	 * victim still over budget; the other one holds 6: the smaller wins. */
	assert_int_equal(sim.result.settings[0].value, 3);
	/* A first cap starts from what the culprit took: 30 % -> 15 %. */
	sim_init(&sim);
	sim.config.budgets[0].cpu_weight = 0;
	guests[0].culprit_percent[0] = 30;
	policy_step(&sim.policy, guests, 1, &sim.result);
	policy_step(&sim.policy, guests, 1, &sim.result);
	assert_int_equal(sim.result.settings[0].value, 15);
}

static void first_window_is_not_judged(void **state)
{
	struct policy_guest guest = victim_with(ATTR_CULPRIT_CGROUP, HOG);
	struct sim sim;

	/* What a thread waited before it was tracked lands in its first
	 * window: 2000 % steal is not a reason to act. */
	sim_init(&sim);
	guest.steal_percent = 2000;
	policy_step(&sim.policy, &guest, 1, &sim.result);
	assert_int_equal(sim.result.action_count, 0);
	policy_step(&sim.policy, &guest, 1, &sim.result);
	assert_int_equal(sim.result.action_count, 1);
}

static void noise_from_others_neither_climbs_nor_holds(void **state)
{
	struct sim sim;
	int lifted_at = -1;

	/* A hog is capped... */
	sim_init(&sim);
	for (int i = 0; i < 10; i++)
		sim_step(&sim, 60);
	assert_non_null(setting(&sim, HOG, POLICY_KNOB_CPU_QUOTA));
	/* ...then stops, while kernel threads keep the victim at 40 %. */
	for (int i = 0; i < 20; i++) {
		sim.guest.steal_percent = 40;
		sim.guest.culprit_count = 2;
		sim.guest.culprits[0].kind = ATTR_CULPRIT_KERNEL;
		sim.guest.culprit_percent[0] = 40;
		sim.guest.culprits[1].kind = ATTR_CULPRIT_CGROUP;
		snprintf(sim.guest.culprits[1].name,
			 sizeof(sim.guest.culprits[1].name), HOG);
		sim.guest.culprit_percent[1] = 0;
		policy_step(&sim.policy, &sim.guest, 1, &sim.result);
		for (size_t a = 0; a < sim.result.action_count; a++)
			assert_int_not_equal(sim.result.actions[a].verb,
					     POLICY_CAP_QUOTA);
		if (lifted_at < 0 && !sim.result.setting_count)
			lifted_at = i;
	}
	/* The idle hog's cap and the weight go as after any cool-down. */
	assert_true(lifted_at >= 0);
	assert_true(lifted_at <= COOLDOWN_INTERVALS - 1 + 5);
}

static void capped_culprit_pressing_its_cap_holds_it(void **state)
{
	struct sim sim;

	sim_init(&sim);
	sim.config.budgets[0].cpu_weight = 0;
	for (int i = 0; i < 10; i++) {
		sim.guest = victim_with(ATTR_CULPRIT_CGROUP, HOG);
		policy_step(&sim.policy, &sim.guest, 1, &sim.result);
	}
	uint32_t cap = setting(&sim, HOG, POLICY_KNOB_CPU_QUOTA)->value;

	/* In the dead band, the hog using all of its cap: nothing moves. */
	for (int i = 0; i < 20; i++) {
		sim.guest.steal_percent = 4;
		sim.guest.culprit_percent[0] = cap;
		policy_step(&sim.policy, &sim.guest, 1, &sim.result);
		assert_int_equal(sim.result.action_count, 0);
	}
}

static void throttled_culprit_keeps_its_cap(void **state)
{
	struct sim sim;

	sim_init(&sim);
	for (int i = 0; i < 10; i++)
		sim_step(&sim, 60);
	/* Noise keeps the victim over budget; the attribution shows the
	 * capped hog at nothing, but the kernel throttles it: it is still
	 * there, pressing its cap, so the cap stays for many cool-downs. */
	for (int i = 0; i < 40; i++) {
		sim.guest.steal_percent = 40;
		sim.guest.culprits[0].kind = ATTR_CULPRIT_KERNEL;
		sim.guest.culprit_percent[0] = 40;
		sim.guest.culprit_count = 1;
		policy_note_throttled(&sim.policy, HOG);
		policy_step(&sim.policy, &sim.guest, 1, &sim.result);
		assert_non_null(setting(&sim, HOG, POLICY_KNOB_CPU_QUOTA));
	}
	/* Once it is no longer throttled, it is an idle culprit: relaxed. */
	for (int i = 0; i < 20; i++)
		policy_step(&sim.policy, &sim.guest, 1, &sim.result);
	assert_int_equal(sim.result.setting_count, 0);
}

static void wait_budget_alone_is_held(void **state)
{
	struct policy_guest guest = victim_with(ATTR_CULPRIT_CGROUP, HOG);
	struct sim sim;

	sim_init(&sim);
	sim.config.budgets[0].max_steal_percent = 0;
	sim.config.budgets[0].max_wait_p99_ms = 20;
	sim.config.budgets[0].cpu_weight = 0;
	guest.steal_percent = 90; /* not budgeted: no reason by itself */
	guest.wait_p99_ms = 10;
	for (int i = 0; i < 5; i++) {
		policy_step(&sim.policy, &guest, 1, &sim.result);
		assert_int_equal(sim.result.action_count, 0);
	}
	guest.wait_p99_ms = 35;
	policy_step(&sim.policy, &guest, 1, &sim.result);
	assert_int_equal(sim.result.action_count, 1);
	assert_int_equal(sim.result.actions[0].verb, POLICY_CAP_QUOTA);
}

static void report_becomes_controller_input(void **state)
{
	struct report_thread vcpus[2] = { 0 };
	struct report_culprit culprits[1] = { { .kind = ATTR_CULPRIT_CGROUP,
						.steal_ns = 250000000 } };
	struct report_guest guests[2] = { 0 };
	struct report report = { .duration_ns = 1000000000,
				 .guests = guests,
				 .guest_count = 2 };
	struct policy_guest out[4];

	snprintf(culprits[0].name, sizeof(culprits[0].name), HOG);
	vcpus[0].delta.steal_ns = 100000000;
	vcpus[1].delta.steal_ns = 300000000; /* the worst vCPU counts */
	snprintf(guests[0].name, sizeof(guests[0].name), "gone");
	guests[0].exited = true;
	snprintf(guests[1].name, sizeof(guests[1].name), "victim");
	snprintf(guests[1].cgroup, sizeof(guests[1].cgroup), VICTIM_CGROUP);
	guests[1].vcpus = vcpus;
	guests[1].vcpu_count = 2;
	guests[1].culprits = culprits;
	guests[1].culprit_count = 1;
	assert_int_equal(policy_guests_from_report(&report, out, 4), 1);
	assert_string_equal(out[0].name, "victim");
	assert_true(out[0].steal_percent > 29.9 && out[0].steal_percent < 30.1);
	assert_true(out[0].culprit_percent[0] > 24.9 &&
		    out[0].culprit_percent[0] < 25.1);
	assert_string_equal(out[0].culprits[0].name, HOG);
}

static void separation_is_the_last_rung_and_first_to_go(void **state)
{
	struct sim sim;
	const struct policy_setting *separate = NULL;
	bool separated_before_floor = false;
	int gone_at = -1;

	sim_init(&sim);
	sim.config.separate_cpus = true;
	sim.config.min_quota_percent = 1;
	for (int i = 0; i < 20; i++) {
		sim.guest = victim_with(ATTR_CULPRIT_CGROUP, HOG);
		sim.guest.steal_percent = 90;
		sim.guest.culprit_percent[0] = 90;
		sim.guest.vcpu_tids[0] = 4242;
		sim.guest.vcpu_tid_count = 1;
		policy_step(&sim.policy, &sim.guest, 1, &sim.result);
		const struct policy_setting *quota =
			setting(&sim, HOG, POLICY_KNOB_CPU_QUOTA);

		separate = setting(&sim, HOG, POLICY_KNOB_SEPARATE);
		if (separate && quota && quota->value > 1)
			separated_before_floor = true;
	}
	assert_false(separated_before_floor);
	assert_non_null(separate);
	assert_int_equal(separate->avoid_tid_count, 1);
	assert_int_equal(separate->avoid_tids[0], 4242);
	/* The budget holds: everything goes within the cool-down plus 5
	 * intervals, the separation with the first step. */
	for (int i = 0; i < 20; i++) {
		sim.guest.steal_percent = 0;
		sim.guest.culprit_percent[0] = 0;
		policy_step(&sim.policy, &sim.guest, 1, &sim.result);
		if (i == COOLDOWN_INTERVALS - 1)
			assert_null(setting(&sim, HOG, POLICY_KNOB_SEPARATE));
		if (gone_at < 0 && !sim.result.setting_count)
			gone_at = i;
	}
	assert_true(gone_at >= 0 && gone_at <= COOLDOWN_INTERVALS - 1 + 5);
}

static void no_separation_unless_configured(void **state)
{
	struct sim sim;

	sim_init(&sim);
	for (int i = 0; i < 20; i++) {
		sim.guest = victim_with(ATTR_CULPRIT_CGROUP, HOG);
		sim.guest.steal_percent = 90;
		sim.guest.culprit_percent[0] = 90;
		sim.guest.vcpu_tids[0] = 4242;
		sim.guest.vcpu_tid_count = 1;
		policy_step(&sim.policy, &sim.guest, 1, &sim.result);
		assert_null(setting(&sim, HOG, POLICY_KNOB_SEPARATE));
	}
}

/* Two hogs under the roots: the second is capped once the first is at
 * the floor and the budget still breaks; both go within the cool-down
 * plus 5 intervals. */
static void second_culprit_is_capped_after_the_first(void **state)
{
	static const char *const hogs[] = { "/kw/hog-a", "/kw/hog-b" };
	double load[2] = { 40, 30 };
	struct sim sim;
	int gone_at = -1;

	sim_init(&sim);
	sim.config.budgets[0].cpu_weight = 0;
	for (int i = 0; i < 25; i++) {
		double steal = 0;

		sim.guest.culprit_count = 2;
		for (int h = 0; h < 2; h++) {
			const struct policy_setting *cap =
				setting(&sim, hogs[h], POLICY_KNOB_CPU_QUOTA);
			double took = cap && cap->value < load[h] ? cap->value :
								    load[h];

			sim.guest.culprits[h].kind = ATTR_CULPRIT_CGROUP;
			snprintf(sim.guest.culprits[h].name,
				 sizeof(sim.guest.culprits[h].name), "%s",
				 hogs[h]);
			sim.guest.culprit_percent[h] = took;
			steal += took;
		}
		/* Largest first, as the report sorts them. */
		if (sim.guest.culprit_percent[1] >
		    sim.guest.culprit_percent[0]) {
			struct report_culprit c = sim.guest.culprits[0];
			double p = sim.guest.culprit_percent[0];

			sim.guest.culprits[0] = sim.guest.culprits[1];
			sim.guest.culprit_percent[0] =
				sim.guest.culprit_percent[1];
			sim.guest.culprits[1] = c;
			sim.guest.culprit_percent[1] = p;
		}
		sim.guest.steal_percent = steal;
		policy_step(&sim.policy, &sim.guest, 1, &sim.result);
	}
	assert_non_null(setting(&sim, hogs[0], POLICY_KNOB_CPU_QUOTA));
	assert_non_null(setting(&sim, hogs[1], POLICY_KNOB_CPU_QUOTA));
	assert_true(
		setting(&sim, hogs[0], POLICY_KNOB_CPU_QUOTA)->value +
			setting(&sim, hogs[1], POLICY_KNOB_CPU_QUOTA)->value <=
		5);
	for (int i = 0; i < 20; i++) {
		sim.guest.steal_percent = 0;
		sim.guest.culprit_percent[0] = sim.guest.culprit_percent[1] = 0;
		policy_step(&sim.policy, &sim.guest, 1, &sim.result);
		if (gone_at < 0 && !sim.result.setting_count)
			gone_at = i;
	}
	assert_true(gone_at >= 0 && gone_at <= COOLDOWN_INTERVALS - 1 + 5);
}

/* Issue 14, item 3: a guest whose name only its own command line gives
 * gets no budget unless the configuration trusts it; a name another live
 * guest claims gets none at all. */
static void untrusted_names_get_no_budget(void **state)
{
	static const struct {
		struct guest_claim claim;
		bool trust_self_declared;
		bool acts;
	} cases[] = {
		{ { .source = GUEST_IDENTITY_SELF, .uid_known = true,
		    .uid = 1000 }, false, false },
		{ { .source = GUEST_IDENTITY_SELF, .uid_known = false },
		  false, false },
		{ { .source = GUEST_IDENTITY_SELF, .uid_known = true,
		    .uid = 0 }, false, true }, /* root's, trusted by default */
		{ { .source = GUEST_IDENTITY_SELF, .uid_known = true,
		    .uid = 1000 }, true, true },
		{ { .source = GUEST_IDENTITY_LIBVIRT, .uid_known = true,
		    .uid = 64055 }, false, true },
		{ { .source = GUEST_IDENTITY_SYSTEMD }, false, true },
		{ { .source = GUEST_IDENTITY_CONFIG }, false, true },
		{ { .source = GUEST_IDENTITY_LIBVIRT, .clash = true }, true,
		  false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sim sim;
		size_t actions = 0;

		sim_init(&sim);
		sim.config.trust_self_declared = cases[i].trust_self_declared;
		sim.guest.claim = cases[i].claim;
		for (int step = 0; step < 4; step++) {
			sim_step(&sim, 90);
			actions += sim.result.action_count;
		}
		print_message("case %zu: %zu actions\n", i, actions);
		assert_int_equal(actions > 0, cases[i].acts);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(untrusted_names_get_no_budget),
		cmocka_unit_test(step_load_settles_within_5_intervals),
		cmocka_unit_test(relaxes_after_cooldown_and_is_gone_in_5),
		cmocka_unit_test(floor_is_never_crossed),
		cmocka_unit_test(fast_square_wave_does_not_oscillate),
		cmocka_unit_test(slow_square_wave_turns_once_per_cooldown),
		cmocka_unit_test(dead_band_holds),
		cmocka_unit_test(forbidden_culprits_are_never_throttled),
		cmocka_unit_test(only_lower_class_guests_are_throttled),
		cmocka_unit_test(libvirt_guests_need_the_libvirt_backend),
		cmocka_unit_test(systemd_units_need_the_systemd_backend),
		cmocka_unit_test(vanished_victim_releases_everything),
		cmocka_unit_test(two_victims_one_culprit_strongest_wins),
		cmocka_unit_test(first_window_is_not_judged),
		cmocka_unit_test(noise_from_others_neither_climbs_nor_holds),
		cmocka_unit_test(capped_culprit_pressing_its_cap_holds_it),
		cmocka_unit_test(throttled_culprit_keeps_its_cap),
		cmocka_unit_test(wait_budget_alone_is_held),
		cmocka_unit_test(report_becomes_controller_input),
		cmocka_unit_test(separation_is_the_last_rung_and_first_to_go),
		cmocka_unit_test(no_separation_unless_configured),
		cmocka_unit_test(second_culprit_is_capped_after_the_first),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
