// SPDX-License-Identifier: GPL-2.0-only
/* What the agent keeps after attaching its BPF programs, and that no
 * thread keeps more (capabilities are per thread). */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/capability.h>

#include "serve/api.h"
#include "serve/http.h"
#include "load/privilege.h"

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

static int waiting_pipe[2];

static void *wait_for_pipe(void *arg)
{
	char byte;

	*(pid_t *)arg = (pid_t)syscall(SYS_gettid);
	if (read(waiting_pipe[0], &byte, 1) < 0)
		return NULL;
	return NULL;
}

static int render_nothing(FILE *out, void *ctx)
{
	return 0;
}

/* In a child, so the test process keeps its own capabilities: a thread
 * started before the drop keeps everything, and the check finds it; the
 * servers opened before the drop but started after it hold no more than
 * the main thread. Exit status: 0 when both hold, else which failed. */
static int child_checks(void)
{
	struct http_options http_opts = { .listen_address = "127.0.0.1:0" };
	char dir[] = "/tmp/kvmwarden-priv-XXXXXX", sock[64], why[256];
	struct api_options api_opts = { .path = sock };
	struct http_server *http = NULL;
	struct api_server *api = NULL;
	volatile pid_t early_tid = 0;
	pthread_t early;
	int tid, code = 0;

	if (!mkdtemp(dir) || pipe(waiting_pipe))
		return 10;
	snprintf(sock, sizeof(sock), "%s/s.sock", dir);
	if (pthread_create(&early, NULL, wait_for_pipe, (void *)&early_tid))
		return 11;
	while (!early_tid)
		usleep(1000);
	if (http_open(&http, &http_opts, render_nothing, NULL, why,
		      sizeof(why)) ||
	    api_open(&api, &api_opts, why, sizeof(why)))
		return 12;
	if (privilege_drop(privilege_keep_mask(false)))
		return 13;
	if (privilege_threads_above_main("/proc", getpid(), &tid) != 1 ||
	    tid != early_tid)
		code = 1; /* the early thread went unnoticed */
	if (write(waiting_pipe[1], "x", 1) != 1 || pthread_join(early, NULL))
		return 14;
	if (http_serve(http, why, sizeof(why)) ||
	    api_serve(api, why, sizeof(why)))
		return 15;
	if (privilege_threads_above_main("/proc", getpid(), &tid) != 0)
		code |= 2; /* a server thread kept what the main one dropped */
	api_stop(api);
	http_stop(http);
	rmdir(dir);
	return code;
}

static void no_thread_keeps_more_than_main(void **state)
{
	int status;
	pid_t child;

	uint64_t effective = 0, permitted = 0;

	/* Dropping needs capabilities to drop: not a user, nor fakeroot's
	 * pretend root. */
	if (geteuid() != 0 ||
	    privilege_read_caps("/proc", getpid(), getpid(), &effective,
				&permitted) ||
	    !effective)
		skip();
	child = fork();
	assert_true(child >= 0);
	if (child == 0)
		_exit(child_checks());
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(keeps_bpf_drops_perfmon_and_admin),
		cmocka_unit_test(drop_never_adds),
		cmocka_unit_test(no_thread_keeps_more_than_main),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
