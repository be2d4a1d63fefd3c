// SPDX-License-Identifier: GPL-2.0-only
/*
 * Per-device cgroup entries: finding one device's line, the kernel's
 * no-limit value when there is none, and the text written for a value
 * (v2 io.max keeps the byte limits it found).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "actuate/actuate_io.h"

static void entry_found_or_default(void **state)
{
	char value[64];

	(void)state;
	assert_int_equal(io_entry_parse("8:0 100\n254:0 25\n", "254:0", "0",
					value, sizeof(value)),
			 0);
	assert_string_equal(value, "25");
	/* "254:1" is not "254:10". */
	io_entry_parse("254:10 7\n", "254:1", "0", value, sizeof(value));
	assert_string_equal(value, "0");
	io_entry_parse("", "254:0", "default", value, sizeof(value));
	assert_string_equal(value, "default");
	io_entry_parse("254:0 rbps=max wbps=1000 riops=max wiops=max",
		       "254:0", "x", value, sizeof(value));
	assert_string_equal(value, "rbps=max wbps=1000 riops=max wiops=max");
}

static void entry_names(void **state)
{
	(void)state;
	assert_true(io_is_entry(
		"/sys/fs/cgroup/blkio/a/blkio.throttle.read_iops_device#8:0"));
	assert_false(io_is_entry("/sys/fs/cgroup/cpu/a/cpu.shares"));
	assert_false(io_is_entry("/sys/fs/cgroup/blkio/a#b/blkio.weight"));
	assert_false(io_is_entry("/x/io.max#8:0x"));
	assert_false(io_is_entry("affinity:12:345"));
}

static void texts(void **state)
{
	char text[256];

	(void)state;
	io_knob_text("/c/blkio.throttle.read_iops_device#8:0",
		     POLICY_KNOB_IO_IOPS, 250, "0", text, sizeof(text));
	assert_string_equal(text, "250");
	/* 0 is "no limit" to v1: the least cap is 1. */
	io_knob_text("/c/blkio.throttle.write_iops_device#8:0",
		     POLICY_KNOB_IO_IOPS, 0, "0", text, sizeof(text));
	assert_string_equal(text, "1");
	io_knob_text("/c/io.max#8:0", POLICY_KNOB_IO_IOPS, 300,
		     "rbps=max wbps=1000 riops=max wiops=max", text,
		     sizeof(text));
	assert_string_equal(text, "rbps=max wbps=1000 riops=300 wiops=300");
	io_knob_text("/c/io.weight#8:0", POLICY_KNOB_IO_WEIGHT, 500, "default",
		     text, sizeof(text));
	assert_string_equal(text, "500");
	/* v1: the same default (100), so the same number, up to 1000. */
	io_knob_text("/c/blkio.bfq.weight", POLICY_KNOB_IO_WEIGHT, 500, "100",
		     text, sizeof(text));
	assert_string_equal(text, "500");
	io_knob_text("/c/blkio.bfq.weight", POLICY_KNOB_IO_WEIGHT, 10000,
		     "100", text, sizeof(text));
	assert_string_equal(text, "1000");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(entry_found_or_default),
		cmocka_unit_test(entry_names),
		cmocka_unit_test(texts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
