// SPDX-License-Identifier: GPL-2.0-only
/* The hidden-steal budget and steering's allow-list: read, matched, and
 * every bad value refused with its line and key. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "config/config.h"

static int parse(struct config *config, const char *text, char *errors,
		 size_t size)
{
	return config_parse(config, text, strlen(text), "test.conf", errors,
			    size);
}

static void budget_and_allow_list_are_read(void **state)
{
	static const char text[] = "budgets:\n"
				   "  - match: db-*\n"
				   "    class: high\n"
				   "    max_hidden_steal_percent: 5\n"
				   "steering:\n"
				   "  devices: [veth-kvmw*, tap0]\n"
				   "  irqs: [\"virtio0-input.*\"]\n";
	struct config config;
	char errors[1024] = "";
	const struct enforce_config *e = &config.enforce;

	assert_int_equal(parse(&config, text, errors, sizeof(errors)), 0);
	assert_int_equal(e->budgets[0].max_hidden_steal_percent, 5);
	assert_int_equal(e->budgets[0].max_steal_percent, 0);
	assert_true(enforce_config_has_hidden_budget(e));
	assert_int_equal(e->steering.device_count, 2);
	assert_int_equal(e->steering.irq_count, 1);
	assert_true(enforce_config_steerable(e, false, "veth-kvmw1"));
	assert_true(enforce_config_steerable(e, false, "tap0"));
	/* Nothing outside the list, and a device list is no IRQ list. */
	assert_false(enforce_config_steerable(e, false, "tap1"));
	assert_false(enforce_config_steerable(e, false, "eth0"));
	assert_false(enforce_config_steerable(e, true, "tap0"));
	assert_true(enforce_config_steerable(e, true, "virtio0-input.0"));
	assert_false(enforce_config_steerable(e, false, "virtio0-input.0"));
	assert_false(enforce_config_steerable(e, false, ""));
}

static void no_budget_no_steering(void **state)
{
	struct config config;
	char errors[256];

	assert_int_equal(
		parse(&config, "mode: enforce\n", errors, sizeof(errors)), 0);
	assert_false(enforce_config_has_hidden_budget(&config.enforce));
	assert_false(enforce_config_steerable(&config.enforce, false, "veth0"));
}

static void expect_refused(const char *text, const char *needle)
{
	struct config config;
	char errors[2048] = "";

	assert_int_equal(parse(&config, text, errors, sizeof(errors)), -EINVAL);
	if (!strstr(errors, needle))
		fail_msg("expected '%s' in: %s", needle, errors);
}

static void bad_values_name_line_and_key(void **state)
{
	expect_refused("budgets:\n"
		       "  - match: a\n"
		       "    class: high\n"
		       "    max_hidden_steal_percent: 0\n"
		       "steering: {devices: [x]}\n",
		       "test.conf:4: max_hidden_steal_percent");
	expect_refused("budgets:\n"
		       "  - match: a\n"
		       "    class: high\n"
		       "    max_hidden_steal_percent: 101\n"
		       "steering: {devices: [x]}\n",
		       "test.conf:4: max_hidden_steal_percent");
	/* A budget nothing could ever act on. */
	expect_refused("budgets:\n"
		       "  - match: a\n"
		       "    class: high\n"
		       "    max_hidden_steal_percent: 5\n",
		       "nothing could ever be moved");
	expect_refused("steering:\n  devices: [\"../../etc\"]\n",
		       "test.conf:2: steering.devices: '../../etc' holds '/'");
	expect_refused("steering:\n  irqs: [\"..\"]\n",
		       "test.conf:2: steering.irqs: '..' is '.' or '..'");
	expect_refused("steering:\n  irqs: [\"\"]\n",
		       "test.conf:2: steering.irqs: '' is empty");
	expect_refused("steering:\n  devices: veth0\n",
		       "test.conf:2: steering.devices: expected a list");
	expect_refused("steering: [veth0]\n",
		       "test.conf:1: steering: expected a mapping");
	expect_refused("steering:\n  cpus: [1]\n",
		       "test.conf:2: cpus: unknown key in steering");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(budget_and_allow_list_are_read),
		cmocka_unit_test(no_budget_no_steering),
		cmocka_unit_test(bad_values_name_line_and_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
