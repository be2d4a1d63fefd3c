// SPDX-License-Identifier: GPL-2.0-only
/* The reason read from a verifier log: the real tail of the log that made
 * handle_sched_switch fail on a 6.18 build, an ordinary refusal, a log cut
 * short (6.1 keeps the head of an overflowing log), and no log at all. Also
 * which check rows pass. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "load/prog_load.h"

static char *read_fixture(const char *name)
{
	const char *dir = getenv("KVMWARDEN_FIXTURES");
	char path[512];
	char *text;
	FILE *file;
	long size;

	snprintf(path, sizeof(path), "%s/verifier/%s",
		 dir ? dir : "tests/fixtures", name);
	file = fopen(path, "r");
	assert_non_null(file);
	assert_int_equal(fseek(file, 0, SEEK_END), 0);
	size = ftell(file);
	rewind(file);
	text = calloc(1, (size_t)size + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)size, file), (size_t)size);
	fclose(file);
	return text;
}

static void too_large_names_the_counts(void **state)
{
	char *log = read_fixture("too-large-6.18.log");
	char reason[200];

	prog_log_reason(log, -E2BIG, reason, sizeof(reason));
	assert_string_equal(reason, "BPF program is too large (1000001 "
				    "instructions processed, limit 1000000)");
	free(log);
}

static void ordinary_refusal_keeps_the_verifiers_line(void **state)
{
	const char *log =
		"0: R1=ctx() R10=fp0\n"
		"0: (79) r1 = *(u64 *)(r1 +0)\n"
		"1: (61) r0 = *(u32 *)(r1 +8)\n"
		"R1 invalid mem access 'scalar'\n"
		"processed 2 insns (limit 1000000) max_states_per_insn 0 "
		"total_states 0 peak_states 0 mark_read 0\n";
	char reason[200];

	prog_log_reason(log, -EACCES, reason, sizeof(reason));
	assert_string_equal(reason, "R1 invalid mem access 'scalar' (2 "
				    "instructions processed, limit 1000000)");
}

static void a_log_cut_short_says_so(void **state)
{
	const char *log = "0: R1=ctx() R10=fp0\n0: (79) r1 = *(u64 *)(r1 +0)\n";
	char reason[200];

	prog_log_reason(log, -ENOSPC, reason, sizeof(reason));
	assert_non_null(strstr(reason, "log too long to keep"));
}

static void no_log_falls_back_to_errno(void **state)
{
	char reason[200];

	prog_log_reason(NULL, -EPERM, reason, sizeof(reason));
	assert_string_equal(reason, strerror(EPERM));
	prog_log_reason("", -ENOENT, reason, sizeof(reason));
	assert_string_equal(reason, strerror(ENOENT));
}

static void a_short_buffer_is_cut_not_overrun(void **state)
{
	char *log = read_fixture("too-large-6.18.log");
	char reason[12];

	memset(reason, 'x', sizeof(reason));
	prog_log_reason(log, -E2BIG, reason, sizeof(reason));
	assert_int_equal(strlen(reason), sizeof(reason) - 1);
	free(log);
}

static void rows_pass_within_budget_or_when_not_needed(void **state)
{
	struct prog_check row = { .needed = true, .loaded = true };

	row.verified_insns = PROG_VERIFIER_BUDGET;
	assert_true(prog_check_passes(&row));
	row.verified_insns = PROG_VERIFIER_BUDGET + 1;
	assert_false(prog_check_passes(&row));
	row.loaded = false;
	row.verified_insns = 0;
	assert_false(prog_check_passes(&row));
	row.needed = false;
	assert_true(prog_check_passes(&row));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(too_large_names_the_counts),
		cmocka_unit_test(ordinary_refusal_keeps_the_verifiers_line),
		cmocka_unit_test(a_log_cut_short_says_so),
		cmocka_unit_test(no_log_falls_back_to_errno),
		cmocka_unit_test(a_short_buffer_is_cut_not_overrun),
		cmocka_unit_test(rows_pass_within_budget_or_when_not_needed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
