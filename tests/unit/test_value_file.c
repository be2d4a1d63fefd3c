// SPDX-License-Identifier: GPL-2.0-only
/*
 * The one-line value files the backends share (value_file.h), on plain
 * files in a temporary directory: a line read without its newline, a
 * write read back and compared, and no symlink ever followed.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "actuate/value_file.h"

static char dir[64];
static char knob[128];
static char link_to_knob[128];

static void put(const char *file, const char *text)
{
	FILE *out = fopen(file, "w");

	assert_non_null(out);
	assert_int_equal(fputs(text, out) >= 0, 1);
	assert_int_equal(fclose(out), 0);
}

static int setup(void **unused)
{
	snprintf(dir, sizeof(dir), "/tmp/kvmwarden-value-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(knob, sizeof(knob), "%s/cpu.max", dir);
	snprintf(link_to_knob, sizeof(link_to_knob), "%s/link", dir);
	return 0;
}

/* Every file a test may leave; each may be absent. */
static int teardown(void **unused)
{
	unlink(knob);
	unlink(link_to_knob);
	return rmdir(dir);
}

static void a_read_is_the_first_line_without_its_newline(void **unused)
{
	char value[VALUE_FILE_LEN];

	put(knob, "max 100000\nsecond line\n");
	assert_int_equal(value_file_read(knob, value, sizeof(value)), 0);
	assert_string_equal(value, "max 100000");
	/* A short buffer cuts the value, never overruns it. */
	assert_int_equal(value_file_read(knob, value, 4), 0);
	assert_string_equal(value, "max");
}

static void a_write_reads_back_the_same(void **unused)
{
	char value[VALUE_FILE_LEN];

	put(knob, "max 100000\n");
	assert_int_equal(value_file_write(knob, "50000 100000"), 0);
	assert_int_equal(value_file_check(knob, "50000 100000"), 0);
	assert_int_equal(value_file_read(knob, value, sizeof(value)), 0);
	assert_string_equal(value, "50000 100000");
}

static void a_different_value_back_is_eio(void **unused)
{
	/* As the kernel rounds a weight or refuses a mask silently. */
	put(knob, "100\n");
	assert_int_equal(value_file_check(knob, "101"), -EIO);
	assert_int_equal(value_file_check(knob, "10"), -EIO);
}

static void a_missing_file_is_enoent(void **unused)
{
	char value[VALUE_FILE_LEN];

	assert_int_equal(value_file_read(knob, value, sizeof(value)), -ENOENT);
	assert_int_equal(value_file_write(knob, "1"), -ENOENT);
	assert_int_equal(value_file_check(knob, "1"), -ENOENT);
}

static void a_symlink_is_never_followed(void **unused)
{
	char value[VALUE_FILE_LEN];

	put(knob, "100\n");
	assert_int_equal(symlink(knob, link_to_knob), 0);
	assert_int_equal(value_file_read(link_to_knob, value, sizeof(value)),
			 -ELOOP);
	assert_int_equal(value_file_write(link_to_knob, "200"), -ELOOP);
	assert_int_equal(value_file_read(knob, value, sizeof(value)), 0);
	assert_string_equal(value, "100");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			a_read_is_the_first_line_without_its_newline, setup,
			teardown),
		cmocka_unit_test_setup_teardown(a_write_reads_back_the_same,
						setup, teardown),
		cmocka_unit_test_setup_teardown(a_different_value_back_is_eio,
						setup, teardown),
		cmocka_unit_test_setup_teardown(a_missing_file_is_enoent, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_symlink_is_never_followed,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
