// SPDX-License-Identifier: GPL-2.0-only
/* Histogram bucket edges (the very code BPF runs) and quantile estimates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "model/hist.h"

static void wait_slot_edges(void **state)
{
	assert_int_equal(sched_wait_slot(0), 0);
	assert_int_equal(sched_wait_slot(1), 0);
	assert_int_equal(sched_wait_slot(2), 1);
	assert_int_equal(sched_wait_slot(3), 1);
	assert_int_equal(sched_wait_slot(4), 2);
	assert_int_equal(sched_wait_slot(1023), 9);
	assert_int_equal(sched_wait_slot(1024), 10);
	assert_int_equal(sched_wait_slot(1000000), 19); /* 1 ms */
	assert_int_equal(sched_wait_slot((1ULL << 32) - 1), 31);
	assert_int_equal(sched_wait_slot(1ULL << 32), 32);
	/* Everything longer lands in the last, open-ended slot. */
	assert_int_equal(sched_wait_slot(UINT64_MAX), SCHED_WAIT_SLOTS - 1);
}

static void every_power_of_two_starts_its_slot(void **state)
{
	for (unsigned int k = 1; k < SCHED_WAIT_SLOTS - 1; k++) {
		assert_int_equal(sched_wait_slot(1ULL << k), k);
		assert_int_equal(sched_wait_slot((1ULL << k) - 1), k - 1);
		assert_int_equal(hist_slot_low_ns(k), 1ULL << k);
	}
}

static void quantile_of_empty_is_zero(void **state)
{
	uint64_t hist[SCHED_WAIT_SLOTS] = { 0 };

	assert_int_equal(hist_quantile_ns(hist, 0.99, 0), 0);
}

static void quantile_interpolates_in_bucket(void **state)
{
	uint64_t hist[SCHED_WAIT_SLOTS] = { 0 };

	/* 100 waits in [1024, 2048): the median sits mid-bucket. */
	hist[10] = 100;
	assert_int_equal(hist_quantile_ns(hist, 0.5, 0), 1024 + 512);
	assert_int_equal(hist_quantile_ns(hist, 1.0, 0), 2048);
}

static void quantile_finds_the_tail_bucket(void **state)
{
	uint64_t hist[SCHED_WAIT_SLOTS] = { 0 };
	uint64_t p50, p99;

	hist[10] = 98; /* ~1 us */
	hist[22] = 2; /* ~4-8 ms */
	p50 = hist_quantile_ns(hist, 0.5, 0);
	p99 = hist_quantile_ns(hist, 0.99, 0);
	assert_true(p50 >= 1024 && p50 < 2048);
	assert_true(p99 >= (1ULL << 22) && p99 <= (1ULL << 23));
}

static void quantile_never_exceeds_max(void **state)
{
	uint64_t hist[SCHED_WAIT_SLOTS] = { 0 };

	hist[20] = 10; /* [1048576, 2097152) */
	assert_int_equal(hist_quantile_ns(hist, 1.0, 1200000), 1200000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(wait_slot_edges),
		cmocka_unit_test(every_power_of_two_starts_its_slot),
		cmocka_unit_test(quantile_of_empty_is_zero),
		cmocka_unit_test(quantile_interpolates_in_bucket),
		cmocka_unit_test(quantile_finds_the_tail_bucket),
		cmocka_unit_test(quantile_never_exceeds_max),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
