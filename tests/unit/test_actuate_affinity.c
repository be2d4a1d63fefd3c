// SPDX-License-Identifier: GPL-2.0-only
/*
 * The CPUs a set of tasks may run on (affinity_tids_cpus), which CPU
 * separation and steering both keep work off: this test's own thread
 * stands for a vCPU, and a tid no task holds for one that went.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "actuate/actuate_affinity.h"

/* Above the kernel's pid_max limit (4194304): never a live task. */
#define NO_SUCH_TID 0x7ffffff0

static bool subset(const struct cpu_mask *part, const struct cpu_mask *whole)
{
	for (size_t w = 0; w < AFFINITY_MAX_CPUS / 64; w++)
		if (part->bits[w] & ~whole->bits[w])
			return false;
	return true;
}

static bool empty(const struct cpu_mask *mask)
{
	for (size_t w = 0; w < AFFINITY_MAX_CPUS / 64; w++)
		if (mask->bits[w])
			return false;
	return true;
}

static void a_live_task_gives_its_cpus_and_the_online_ones(void **unused)
{
	int tids[] = { NO_SUCH_TID, (int)gettid() };
	struct cpu_mask own, tids_cpus, online;

	assert_int_equal(affinity_get_tid(tids[1], &own), 0);
	assert_int_equal(affinity_tids_cpus(tids, 2, &tids_cpus, &online), 0);
	/* The task that went is skipped; the live one's CPUs are all. */
	assert_memory_equal(&tids_cpus, &own, sizeof(own));
	assert_false(empty(&online));
	assert_true(subset(&tids_cpus, &online));
}

static void no_live_task_is_enoent(void **unused)
{
	int tids[] = { NO_SUCH_TID };
	struct cpu_mask tids_cpus, online;

	assert_int_equal(affinity_tids_cpus(tids, 1, &tids_cpus, &online),
			 -ENOENT);
	assert_true(empty(&tids_cpus));
	assert_int_equal(affinity_tids_cpus(tids, 0, &tids_cpus, &online),
			 -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			a_live_task_gives_its_cpus_and_the_online_ones),
		cmocka_unit_test(no_live_task_is_enoent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
