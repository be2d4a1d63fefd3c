// SPDX-License-Identifier: GPL-2.0-only
/*
 * enforce_write_forget_idle: entries neither in force nor backing off from an
 * outside change go, the rest stay in order, for plain managed files and
 * for structs that begin with one (enforce_io's).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "actuate/enforce.h"
#include "actuate/enforce_io.h"

static void name(struct managed_file *m, const char *cgroup, bool active,
		 uint64_t hands_off_until_ms)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->cgroup, sizeof(m->cgroup), "%s", cgroup);
	m->active = active;
	m->hands_off_until_ms = hands_off_until_ms;
}

static void keeps_active_and_backing_off(void **state)
{
	struct managed_file files[5];

	(void)state;
	name(&files[0], "/a", false, 0); /* idle: goes */
	name(&files[1], "/b", true, 0); /* in force */
	name(&files[2], "/c", false, 5000); /* backing off until 5 s */
	name(&files[3], "/d", false, 1000); /* backed off until 1 s: over */
	name(&files[4], "/e", true, 9000);
	size_t left =
		enforce_write_forget_idle(files, 5, sizeof(files[0]), 2000);

	assert_int_equal(left, 3);
	assert_string_equal(files[0].cgroup, "/b");
	assert_string_equal(files[1].cgroup, "/c");
	assert_string_equal(files[2].cgroup, "/e");
	/* Once the back-off is over, that one goes too. */
	left = enforce_write_forget_idle(files, left, sizeof(files[0]), 6000);
	assert_int_equal(left, 2);
	assert_string_equal(files[1].cgroup, "/e");
}

static void io_entries_move_whole(void **state)
{
	struct io_managed files[3];

	(void)state;
	memset(files, 0, sizeof(files));
	name(&files[0].file, "/x", false, 0);
	name(&files[1].file, "/y", true, 0);
	files[1].wanted_at = 42;
	name(&files[2].file, "/z", false, 0);
	size_t left = enforce_write_forget_idle(files, 3, sizeof(files[0]), 10);

	assert_int_equal(left, 1);
	assert_string_equal(files[0].file.cgroup, "/y");
	assert_int_equal(files[0].wanted_at, 42);
}

static void empty_and_all_idle(void **state)
{
	struct managed_file files[2];

	(void)state;
	assert_int_equal(
		enforce_write_forget_idle(files, 0, sizeof(files[0]), 0), 0);
	name(&files[0], "/a", false, 0);
	name(&files[1], "/b", false, 0);
	assert_int_equal(
		enforce_write_forget_idle(files, 2, sizeof(files[0]), 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(keeps_active_and_backing_off),
		cmocka_unit_test(io_entries_move_whole),
		cmocka_unit_test(empty_and_all_idle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
