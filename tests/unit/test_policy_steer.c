// SPDX-License-Identifier: GPL-2.0-only
/* The hidden-steal ladder on synthetic guests: over budget it steers the
 * allowed culprits only, one per interval; the dead band holds; after the
 * cool-down below the off line it puts back one per interval, but not a
 * target that still carries traffic; a guest gone takes its steering with
 * it; and the report's culprits are merged over vCPUs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "config/enforce_config.h"
#include "policy/policy_steer.h"
#include "policy/policy_steer_guests.h"

static struct enforce_config config;
static struct policy_steer policy;
static struct policy_steer_result result;

static int setup(void **state)
{
	enforce_config_defaults(&config);
	config.budget_count = 1;
	snprintf(config.budgets[0].match, ENFORCE_PATH_LEN, "vm-a");
	snprintf(config.budgets[0].class_name, ENFORCE_NAME_LEN, "high");
	config.budgets[0].max_hidden_steal_percent = 10;
	config.steering.device_count = 1;
	snprintf(config.steering.devices[0], ENFORCE_STEER_NAME_LEN, "veth*");
	config.steering.irq_count = 1;
	snprintf(config.steering.irqs[0], ENFORCE_STEER_NAME_LEN, "nic-rx");
	config.hysteresis_percent = 50; /* off line: 5 % */
	config.cooldown_ms = 3000; /* 3 intervals of 1 s */
	policy_steer_init(&policy, &config, 1000);
	policy.host_netns = 4026531840u;
	policy.device_steering = true;
	policy.irq_steering = true;
	return 0;
}

static void add_culprit(struct policy_steer_guest *g,
			enum hidden_culprit_kind kind, const char *name,
			const char *target, uint32_t netns, double percent)
{
	struct policy_steer_culprit *c = &g->culprits[g->culprit_count++];

	memset(c, 0, sizeof(*c));
	c->kind = kind;
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->target, sizeof(c->target), "%s", target);
	c->netns = netns;
	c->percent = percent;
}

/* vm-a at `hidden` %: culprits a guest's veth (allowed), eth0 (not
 * allowed) larger, an IRQ nic-rx (allowed) smaller. */
static struct policy_steer_guest victim(double hidden)
{
	struct policy_steer_guest g;

	memset(&g, 0, sizeof(g));
	snprintf(g.name, sizeof(g.name), "vm-a");
	g.claim.source = GUEST_IDENTITY_CONFIG;
	g.hidden_percent = hidden;
	g.vcpu_tids[g.vcpu_tid_count++] = 4242;
	add_culprit(&g, HIDDEN_CULPRIT_DEVICE, "eth0", "eth0", 4026531840u,
		    hidden * 0.5);
	add_culprit(&g, HIDDEN_CULPRIT_GUEST, "vm-b", "veth-b", 4026531840u,
		    hidden * 0.3);
	add_culprit(&g, HIDDEN_CULPRIT_IRQ, "nic-rx", "nic-rx", 0,
		    hidden * 0.15);
	return g;
}

static void step(double hidden)
{
	struct policy_steer_guest g = victim(hidden);

	policy_steer_step(&policy, &g, 1, &result);
}

static bool steered(enum policy_steer_kind kind, const char *name)
{
	for (size_t i = 0; i < result.setting_count; i++)
		if (result.settings[i].kind == kind &&
		    !strcmp(result.settings[i].name, name))
			return true;
	return false;
}

static void over_budget_moves_allowed_culprits_only(void **state)
{
	step(40); /* the first window is never judged */
	assert_int_equal(result.setting_count, 0);
	step(40);
	/* eth0 is the largest but not allowed: the guest's veth first. */
	assert_int_equal(result.action_count, 1);
	assert_int_equal(result.actions[0].verb, POLICY_SEPARATE_CPUS);
	assert_string_equal(result.actions[0].target, "veth-b");
	assert_int_equal(result.action_knob[0], POLICY_KNOB_RPS_CPUS);
	assert_true(steered(POLICY_STEER_DEVICE, "veth-b"));
	assert_false(steered(POLICY_STEER_DEVICE, "eth0"));
	assert_int_equal(result.settings[0].avoid_tid_count, 1);
	assert_int_equal(result.settings[0].avoid_tids[0], 4242);
	step(40); /* one rung per interval: the IRQ next */
	assert_true(steered(POLICY_STEER_IRQ, "nic-rx"));
	assert_int_equal(result.action_knob[0], POLICY_KNOB_IRQ_AFFINITY);
	for (int i = 0; i < 5; i++)
		step(40);
	assert_int_equal(result.setting_count, 2);
	assert_false(steered(POLICY_STEER_DEVICE, "eth0"));
}

static void nothing_allowed_is_said_once(void **state)
{
	struct policy_steer_guest g = victim(40);

	g.culprit_count = 1; /* eth0 only */
	for (int i = 0; i < 4; i++) {
		policy_steer_step(&policy, &g, 1, &result);
		assert_int_equal(result.setting_count, 0);
		if (i == 1) {
			assert_int_equal(result.action_count, 1);
			assert_int_equal(result.actions[0].verb,
					 POLICY_NO_CULPRIT);
			assert_non_null(strstr(result.actions[0].reason,
					       "steering.devices does not "
					       "name it"));
		} else {
			assert_int_equal(result.action_count, 0);
		}
	}
}

static void other_namespaces_and_unknown_devices_are_left(void **state)
{
	struct policy_steer_guest g = victim(40);

	g.culprits[1].netns = 4026532000u; /* veth-b elsewhere */
	g.culprits[2].target[0] = '\0';
	policy.irq_steering = false;
	policy_steer_step(&policy, &g, 1, &result);
	policy_steer_step(&policy, &g, 1, &result);
	assert_int_equal(result.setting_count, 0);
	policy.irq_steering = true;
	g.culprits[2] = victim(40).culprits[2];
	policy_steer_step(&policy, &g, 1, &result);
	assert_true(steered(POLICY_STEER_IRQ, "nic-rx"));
	assert_false(steered(POLICY_STEER_DEVICE, "veth-b"));
}

static void system_vectors_are_never_targets(void **state)
{
	struct policy_steer_guest g = victim(40);

	snprintf(config.steering.irqs[0], ENFORCE_STEER_NAME_LEN, "*");
	g.culprits[1] = g.culprits[2];
	snprintf(g.culprits[1].name, sizeof(g.culprits[1].name), "local_timer");
	snprintf(g.culprits[1].target, sizeof(g.culprits[1].target),
		 "local_timer");
	g.culprits[1].percent = 30;
	policy_steer_step(&policy, &g, 1, &result);
	policy_steer_step(&policy, &g, 1, &result);
	assert_true(steered(POLICY_STEER_IRQ, "nic-rx"));
	assert_false(steered(POLICY_STEER_IRQ, "local_timer"));
}

static void hysteresis_dead_band_and_cooldown(void **state)
{
	step(40);
	step(40);
	assert_int_equal(result.setting_count, 1);
	/* Dead band (between 5 % and 10 %), the device still busy: held
	 * however long. */
	for (int i = 0; i < 10; i++) {
		policy_steer_note_busy(&policy, POLICY_STEER_DEVICE, "veth-b");
		step(8);
		assert_int_equal(result.setting_count, 1);
		assert_int_equal(result.action_count, 0);
	}
	/* Its traffic gone, below the off line: held for the cool-down
	 * (3), then back. */
	step(1);
	step(1);
	assert_int_equal(result.setting_count, 1);
	step(1);
	assert_int_equal(result.setting_count, 0);
	assert_int_equal(result.action_count, 1);
	assert_int_equal(result.actions[0].verb, POLICY_JOIN_CPUS);
	assert_string_equal(result.actions[0].target, "veth-b");
	/* Over again at once: the direction changes at most once per
	 * cool-down, so not yet... */
	step(40);
	assert_int_equal(result.setting_count, 0);
	step(40);
	step(40);
	/* ...and then it is steered again. */
	assert_true(steered(POLICY_STEER_DEVICE, "veth-b"));
}

static void busy_targets_stay(void **state)
{
	step(40);
	step(40);
	for (int i = 0; i < 6; i++) {
		policy_steer_note_busy(&policy, POLICY_STEER_DEVICE, "veth-b");
		step(0);
		assert_true(steered(POLICY_STEER_DEVICE, "veth-b"));
	}
	step(0); /* idle now: the cool-down has long passed */
	assert_false(steered(POLICY_STEER_DEVICE, "veth-b"));
}

static void a_guest_gone_takes_its_steering(void **state)
{
	step(40);
	step(40);
	step(40);
	assert_int_equal(result.setting_count, 2);
	policy_steer_step(&policy, NULL, 0, &result);
	assert_int_equal(result.setting_count, 0);
	assert_int_equal(result.action_count, 2);
	assert_int_equal(result.actions[0].verb, POLICY_JOIN_CPUS);
	assert_int_equal(result.actions[1].verb, POLICY_JOIN_CPUS);
}

static void report_culprits_merge_over_vcpus(void **state)
{
	struct report_hidden_culprit a[2], b[1];
	struct report_thread vcpus[2];
	struct report_guest guest;
	struct report report;
	struct policy_steer_guest out[2];

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	memset(vcpus, 0, sizeof(vcpus));
	memset(&guest, 0, sizeof(guest));
	memset(&report, 0, sizeof(report));
	a[0].kind = HIDDEN_CULPRIT_GUEST;
	snprintf(a[0].name, sizeof(a[0].name), "vm-b");
	snprintf(a[0].device, sizeof(a[0].device), "tap-b");
	a[0].ns = 100000000;
	a[1].kind = HIDDEN_CULPRIT_IRQ;
	snprintf(a[1].name, sizeof(a[1].name), "nic-rx");
	a[1].ns = 50000000;
	b[0] = a[0];
	b[0].ns = 200000000;
	vcpus[0].tid = 11;
	vcpus[0].delta.hidden.soft_ns[IRQ_SOFTIRQ_NET_RX] = 150000000;
	vcpus[0].hidden_culprits = a;
	vcpus[0].hidden_culprit_count = 2;
	vcpus[1].tid = 12;
	vcpus[1].delta.hidden.soft_ns[IRQ_SOFTIRQ_NET_RX] = 180000000;
	vcpus[1].delta.hidden.hard_ns[IRQ_HARD_DEVICE] = 20000000;
	vcpus[1].hidden_culprits = b;
	vcpus[1].hidden_culprit_count = 1;
	snprintf(guest.name, sizeof(guest.name), "vm-a");
	guest.vcpus = vcpus;
	guest.vcpu_count = 2;
	report.guests = &guest;
	report.guest_count = 1;
	report.duration_ns = 1000000000;
	assert_int_equal(policy_steer_guests_from_report(&report, out, 2), 1);
	assert_string_equal(out[0].name, "vm-a");
	/* The worst vCPU: 180 + 20 ms of 1 s. */
	assert_true(out[0].hidden_percent > 19.99 &&
		    out[0].hidden_percent < 20.01);
	assert_int_equal(out[0].vcpu_tid_count, 2);
	assert_int_equal(out[0].culprit_count, 2);
	assert_string_equal(out[0].culprits[0].target, "tap-b");
	assert_true(out[0].culprits[0].percent > 29.99 &&
		    out[0].culprits[0].percent < 30.01);
	assert_string_equal(out[0].culprits[1].target, "nic-rx");
	/* A guest culprit whose tap the report did not name: no target. */
	a[0].device[0] = '\0';
	b[0].device[0] = '\0';
	policy_steer_guests_from_report(&report, out, 2);
	assert_string_equal(out[0].culprits[0].target, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(over_budget_moves_allowed_culprits_only,
				       setup),
		cmocka_unit_test_setup(nothing_allowed_is_said_once, setup),
		cmocka_unit_test_setup(
			other_namespaces_and_unknown_devices_are_left, setup),
		cmocka_unit_test_setup(system_vectors_are_never_targets, setup),
		cmocka_unit_test_setup(hysteresis_dead_band_and_cooldown,
				       setup),
		cmocka_unit_test_setup(busy_targets_stay, setup),
		cmocka_unit_test_setup(a_guest_gone_takes_its_steering, setup),
		cmocka_unit_test_setup(report_culprits_merge_over_vcpus, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
