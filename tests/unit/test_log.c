// SPDX-License-Identifier: GPL-2.0-only
/*
 * base/log.h: the priority prefix, one newline, a long line whole and in
 * one write, and a command's line without a priority. stderr is pointed at
 * a temporary file for each test and read back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/log.h"

struct captured {
	int saved_fd;
	FILE *file;
	char text[16384];
};

static void capture_start(struct captured *cap)
{
	fflush(stderr);
	cap->file = tmpfile();
	assert_non_null(cap->file);
	cap->saved_fd = dup(STDERR_FILENO);
	assert_true(cap->saved_fd >= 0);
	assert_true(dup2(fileno(cap->file), STDERR_FILENO) >= 0);
}

static const char *capture_end(struct captured *cap)
{
	size_t got;

	fflush(stderr);
	assert_true(dup2(cap->saved_fd, STDERR_FILENO) >= 0);
	close(cap->saved_fd);
	rewind(cap->file);
	got = fread(cap->text, 1, sizeof(cap->text) - 1, cap->file);
	cap->text[got] = '\0';
	fclose(cap->file);
	return cap->text;
}

static void priority_prefix_and_newline(void **state)
{
	struct captured cap;

	capture_start(&cap);
	log_info("guest %s found (pid %d)", "web", 42);
	log_warn("window not published: %s\n", "out of memory");
	log_err("invalid configuration:");
	assert_string_equal(capture_end(&cap),
			    "<6>kvmwarden: guest web found (pid 42)\n"
			    "<4>kvmwarden: window not published: out of "
			    "memory\n"
			    "<3>kvmwarden: invalid configuration:\n");
}

static void command_line_has_no_priority(void **state)
{
	struct captured cap;

	capture_start(&cap);
	log_say("dump: unexpected argument '%s'", "x");
	assert_string_equal(capture_end(&cap),
			    "kvmwarden: dump: unexpected argument 'x'\n");
}

/* A list of configuration problems can be long: it is not cut. */
static void long_line_whole(void **state)
{
	char problems[9000];
	struct captured cap;
	const char *text;

	memset(problems, 'p', sizeof(problems) - 1);
	problems[sizeof(problems) - 1] = '\0';
	capture_start(&cap);
	log_err("invalid configuration:\n%s", problems);
	text = capture_end(&cap);
	assert_int_equal(strlen(text),
			 strlen("<3>kvmwarden: invalid configuration:\n") +
				 strlen(problems) + 1);
	assert_int_equal(text[strlen(text) - 1], '\n');
	assert_int_equal(text[strlen(text) - 2], 'p');
}

static void empty_text_is_one_line(void **state)
{
	struct captured cap;

	capture_start(&cap);
	log_notice("%s", "");
	assert_string_equal(capture_end(&cap), "<5>kvmwarden: \n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(priority_prefix_and_newline),
		cmocka_unit_test(command_line_has_no_priority),
		cmocka_unit_test(long_line_whole),
		cmocka_unit_test(empty_text_is_one_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
