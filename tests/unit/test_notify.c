// SPDX-License-Identifier: GPL-2.0-only
/* sd_notify through notify.c: what reaches a real datagram socket, and
 * that nothing does (nor a watchdog appears) without NOTIFY_SOCKET. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "serve/notify.h"

struct listener {
	char dir[64];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd;
};

static int setup(void **state)
{
	static struct listener l;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	strcpy(l.dir, "/tmp/kvmw-notify.XXXXXX");
	if (!mkdtemp(l.dir))
		return -1;
	snprintf(l.path, sizeof(l.path), "%s/notify", l.dir);
	memcpy(addr.sun_path, l.path, sizeof(l.path));
	l.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (l.fd < 0 || bind(l.fd, (struct sockaddr *)&addr, sizeof(addr)))
		return -1;
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	*state = &l;
	return 0;
}

static int teardown(void **state)
{
	struct listener *l = *state;

	close(l->fd);
	unlink(l->path);
	rmdir(l->dir);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	return 0;
}

/* The next datagram, or "" when none is waiting (sd_notify sends
 * synchronously, so whatever was sent is already queued). */
static const char *next_message(struct listener *l)
{
	static char buf[512];
	ssize_t len = recv(l->fd, buf, sizeof(buf) - 1, 0);

	buf[len < 0 ? 0 : len] = '\0';
	return buf;
}

static void sends_each_state(void **state)
{
	struct listener *l = *state;

	setenv("NOTIFY_SOCKET", l->path, 1);
	notify_ready("measuring 2 guests");
	assert_string_equal(next_message(l),
			    "READY=1\nSTATUS=measuring 2 guests");
	notify_ready(NULL);
	assert_string_equal(next_message(l), "READY=1");
	notify_status("measuring %d guest%s", 1, "");
	assert_string_equal(next_message(l), "STATUS=measuring 1 guest");
	notify_watchdog();
	assert_string_equal(next_message(l), "WATCHDOG=1");
	notify_stopping();
	assert_string_equal(next_message(l), "STOPPING=1");
	assert_string_equal(next_message(l), "");
}

static void status_newline_cannot_start_a_field(void **state)
{
	struct listener *l = *state;

	setenv("NOTIFY_SOCKET", l->path, 1);
	notify_status("most steal: %s", "web\nREADY=1");
	assert_string_equal(next_message(l), "STATUS=most steal: web READY=1");
}

static void silent_without_socket(void **state)
{
	struct listener *l = *state;

	notify_ready("x");
	notify_status("x");
	notify_watchdog();
	notify_stopping();
	assert_string_equal(next_message(l), "");
}

static void watchdog_interval_is_ours_only_with_a_socket(void **state)
{
	struct listener *l = *state;
	char pid[16];

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("WATCHDOG_USEC", "30000000", 1);
	setenv("WATCHDOG_PID", pid, 1);
	/* A leftover WATCHDOG_USEC with nobody to ping: no watchdog. */
	assert_int_equal(notify_watchdog_usec(), 0);
	setenv("NOTIFY_SOCKET", l->path, 1);
	assert_int_equal(notify_watchdog_usec(), 30000000);
	/* Meant for another process (a parent that exported it). */
	setenv("WATCHDOG_PID", "1", 1);
	assert_int_equal(notify_watchdog_usec(), 0);
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	assert_int_equal(notify_watchdog_usec(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(sends_each_state, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			status_newline_cannot_start_a_field, setup, teardown),
		cmocka_unit_test_setup_teardown(silent_without_socket, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			watchdog_interval_is_ours_only_with_a_socket, setup,
			teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
