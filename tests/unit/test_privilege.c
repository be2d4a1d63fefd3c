// SPDX-License-Identifier: GPL-2.0-only
/* What the agent keeps after attaching its BPF programs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/capability.h>

#include "privilege.h"

#define BIT(cap) (1ULL << (cap))

static void keeps_bpf_drops_perfmon_and_admin(void **state)
{
	uint64_t keep = privilege_keep_mask(true);

	assert_false(privilege_keep_mask(false) & BIT(39));
	assert_int_equal(privilege_keep_mask(false) | BIT(39), keep);
	assert_true(keep & BIT(39)); /* CAP_BPF */
	assert_true(keep & BIT(CAP_SYS_NICE));
	assert_false(keep & BIT(38)); /* CAP_PERFMON */
	assert_false(keep & BIT(CAP_SYS_ADMIN));
	assert_false(keep & BIT(CAP_SYS_PTRACE));
	assert_false(keep & BIT(CAP_NET_ADMIN));
}

static void drop_never_adds(void **state)
{
	uint64_t unit = BIT(39) | BIT(38); /* what the systemd unit grants */
	uint64_t root = (BIT(41) - 1);

	assert_int_equal(privilege_after_drop(unit, privilege_keep_mask(true)),
			 BIT(39));
	assert_int_equal(privilege_after_drop(unit, privilege_keep_mask(false)),
			 0);
	assert_int_equal(privilege_after_drop(root, privilege_keep_mask(true)),
			 privilege_keep_mask(true));
	assert_int_equal(privilege_after_drop(0, privilege_keep_mask(true)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(keeps_bpf_drops_perfmon_and_admin),
		cmocka_unit_test(drop_never_adds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
