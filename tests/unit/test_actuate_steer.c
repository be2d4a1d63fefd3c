// SPDX-License-Identifier: GPL-2.0-only
/* Steering's files and masks (actuate_steer.h): only paths of the two
 * shapes are entries, masks keep the kernel's layout, and no target is
 * ever left without a CPU. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "actuate/actuate_steer.h"

static void only_steering_paths_are_entries(void **state)
{
	assert_true(
		steer_is_entry("/sys/class/net/veth0/queues/rx-0/rps_cpus"));
	assert_true(steer_is_entry("/proc/irq/24/smp_affinity_list"));
	assert_false(steer_is_entry("/sys/class/net/../queues/rx-0/rps_cpus"));
	assert_false(steer_is_entry("/sys/class/net/a/b/queues/rx-0/rps_cpus"));
	assert_false(
		steer_is_entry("/sys/class/net/veth0/queues/tx-0/xps_cpus"));
	assert_false(
		steer_is_entry("/sys/class/net/veth0/queues/rx-x/rps_cpus"));
	assert_false(steer_is_entry("/proc/irq/24/../smp_affinity_list"));
	assert_false(steer_is_entry("/proc/irq/default_smp_affinity"));
	assert_false(steer_is_entry("/sys/fs/cgroup/a/cpu.max"));
	assert_int_equal(steer_entry_write("/etc/passwd", "x"), -EINVAL);
	assert_false(steer_name_valid(".."));
	assert_false(steer_name_valid("a/b"));
	assert_false(steer_name_valid(""));
	assert_true(steer_name_valid("veth-kvmw0"));
}

static void hex_masks_keep_their_layout(void **state)
{
	struct cpu_mask mask;
	char text[64];

	assert_int_equal(steer_hex_parse("00000000,00000002", &mask), 0);
	assert_true(cpu_mask_has(&mask, 1));
	assert_false(cpu_mask_has(&mask, 0));
	memset(&mask, 0, sizeof(mask));
	cpu_mask_add(&mask, 0);
	cpu_mask_add(&mask, 33);
	assert_int_equal(steer_hex_format(&mask, "00000000,00000002", text,
					  sizeof(text)),
			 0);
	assert_string_equal(text, "00000002,00000001");
	memset(&mask, 0, sizeof(mask));
	cpu_mask_add(&mask, 0);
	assert_int_equal(steer_hex_format(&mask, "2", text, sizeof(text)), 0);
	assert_string_equal(text, "1");
	/* A CPU the layout has no digit for is refused, not dropped. */
	cpu_mask_add(&mask, 4);
	assert_int_equal(steer_hex_format(&mask, "2", text, sizeof(text)),
			 -ERANGE);
	assert_int_equal(steer_hex_parse("zz", &mask), -EINVAL);
	assert_int_equal(steer_hex_parse("", &mask), -EINVAL);
}

static struct cpu_mask cpus(const char *list)
{
	struct cpu_mask mask;

	memset(&mask, 0, sizeof(mask));
	if (list[0])
		assert_int_equal(affinity_parse(list, &mask), 0);
	return mask;
}

static void masks_never_end_empty(void **state)
{
	struct cpu_mask online = cpus("0-3"), next;
	char text[64];

	/* Off the protected CPUs, the rest of the original kept. */
	struct cpu_mask from = cpus("1-2"), protect = cpus("1");

	assert_int_equal(steer_mask_next(&from, &protect, &online, &next), 0);
	assert_int_equal(affinity_format(&next, text, sizeof(text)), 0);
	assert_string_equal(text, "2");
	/* Only protected CPUs in it: every other online one instead. */
	from = cpus("1");
	assert_int_equal(steer_mask_next(&from, &protect, &online, &next), 0);
	assert_int_equal(affinity_format(&next, text, sizeof(text)), 0);
	assert_string_equal(text, "0,2-3");
	/* rps_cpus 0 (no steering): the same. */
	from = cpus("");
	assert_int_equal(steer_mask_next(&from, &protect, &online, &next), 0);
	/* Every online CPU protected: refused, never an empty mask. */
	protect = cpus("0-3");
	assert_int_equal(steer_mask_next(&from, &protect, &online, &next),
			 -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(only_steering_paths_are_entries),
		cmocka_unit_test(hex_masks_keep_their_layout),
		cmocka_unit_test(masks_never_end_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
