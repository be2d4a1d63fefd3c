// SPDX-License-Identifier: GPL-2.0-only
/*
 * The libvirt backend's connection (libvirt_conn.h), apart from the
 * values it carries (actuate_libvirt.c): one connection to qemu:///system,
 * opened on first need and reopened after libvirtd went away; libvirt's
 * own error printing is silenced, errors become negative errnos (a missing
 * or restarted domain is -ENOENT, a libvirtd that does not answer
 * -ENOTCONN) and the caller logs them.
 *
 * libvirt's client has no per-call timeout: a libvirtd that hangs (stopped,
 * deadlocked) would hold the control loop inside a call for good. Its
 * keepalive is the way out: with libvirt's default event loop running on a
 * thread of its own, a connection whose daemon misses KEEPALIVE_COUNT
 * pings KEEPALIVE_INTERVAL_S apart is closed, and the call in flight
 * returns an error instead. Opening a connection has no keepalive yet, so
 * it runs on a thread of its own that the control loop waits for at most
 * OPEN_WAIT_MS; an open still hanging is picked up by a later call once
 * libvirtd answers.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "actuate/libvirt_conn.h"
#include "base/log.h"

#define KEEPALIVE_INTERVAL_S 1
#define KEEPALIVE_COUNT 2
#define OPEN_WAIT_MS 2000

static virConnectPtr connection;
static uint64_t retry_at_ms;
static bool event_loop_running;

/* The open in flight: started by one call, its result taken by the call
 * that finds it done. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t done_cond;
	bool busy;
	bool done;
	virConnectPtr result;
} opener = { .lock = PTHREAD_MUTEX_INITIALIZER,
	     .done_cond = PTHREAD_COND_INITIALIZER };

/* libvirt prints every error to stderr by default; ours are logged where
 * there is context. */
static void quiet(void *data, virErrorPtr error)
{
}

int libvirt_conn_error(void)
{
	virErrorPtr error = virGetLastError();
	int code = error ? error->code : VIR_ERR_INTERNAL_ERROR;

	switch (code) {
	case VIR_ERR_NO_DOMAIN:
	case VIR_ERR_OPERATION_INVALID: /* not running (any more) */
		return -ENOENT;
	case VIR_ERR_NO_CONNECT:
	case VIR_ERR_INVALID_CONN:
	case VIR_ERR_RPC:
	case VIR_ERR_SYSTEM_ERROR:
		libvirt_conn_disconnect();
		return -ENOTCONN;
	case VIR_ERR_INVALID_ARG:
	case VIR_ERR_OVERFLOW:
		return -EINVAL;
	case VIR_ERR_OPERATION_DENIED:
	case VIR_ERR_ACCESS_DENIED:
		return -EPERM;
	case VIR_ERR_NO_SUPPORT:
	case VIR_ERR_ARGUMENT_UNSUPPORTED:
		return -EOPNOTSUPP;
	default:
		return -EIO;
	}
}

static void *run_event_loop(void *unused)
{
	(void)unused;
	for (;;)
		virEventRunDefaultImpl();
	return NULL;
}

/* libvirt's default event loop on a thread of its own, once per process;
 * every signal stays with the agent's own threads. Without it keepalive
 * cannot run, and a hung libvirtd blocks as before. */
static void start_event_loop(void)
{
	sigset_t all, saved;
	pthread_t thread;

	if (event_loop_running || virEventRegisterDefaultImpl() < 0)
		return;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &saved);
	if (pthread_create(&thread, NULL, run_event_loop, NULL) == 0) {
		pthread_detach(thread);
		event_loop_running = true;
	}
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
}

static void *open_connection(void *unused)
{
	virConnectPtr opened;

	(void)unused;
	opened = virConnectOpen(LIBVIRT_URI);
	pthread_mutex_lock(&opener.lock);
	opener.result = opened;
	opener.done = true;
	pthread_cond_signal(&opener.done_cond);
	pthread_mutex_unlock(&opener.lock);
	return NULL;
}

/* A connection, opened on the opener thread and waited for at most
 * OPEN_WAIT_MS; NULL when libvirtd refused or has not answered yet. Only
 * the call that starts an open waits: while one hangs, the others (every
 * value read of every interval) return at once. */
static virConnectPtr open_bounded(void)
{
	struct timespec deadline;
	virConnectPtr opened = NULL;
	sigset_t all, saved;
	pthread_t thread;
	bool started = false;

	pthread_mutex_lock(&opener.lock);
	if (!opener.busy) {
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &saved);
		if (pthread_create(&thread, NULL, open_connection, NULL) == 0) {
			pthread_detach(thread);
			opener.busy = true;
			opener.done = false;
			started = true;
		}
		pthread_sigmask(SIG_SETMASK, &saved, NULL);
	}
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += OPEN_WAIT_MS / 1000;
	deadline.tv_nsec += (OPEN_WAIT_MS % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	while (started && !opener.done &&
	       pthread_cond_timedwait(&opener.done_cond, &opener.lock,
				      &deadline) == 0)
		;
	if (opener.busy && opener.done) {
		opened = opener.result;
		opener.result = NULL;
		opener.busy = false;
	}
	pthread_mutex_unlock(&opener.lock);
	return opened;
}

bool libvirt_conn_available(uint64_t now_ms)
{
	if (connection && virConnectIsAlive(connection) == 1)
		return true;
	if (connection) {
		/* Dead (keepalive or a restart): reopen a retry later, so the
		 * loss is seen and logged before a new open is tried. */
		libvirt_conn_disconnect();
		retry_at_ms = now_ms + LIBVIRT_RETRY_MS;
		return false;
	}
	if (now_ms < retry_at_ms)
		return false;
	virSetErrorFunc(NULL, quiet);
	start_event_loop();
	connection = open_bounded();
	if (!connection) {
		retry_at_ms = now_ms + LIBVIRT_RETRY_MS;
		return false;
	}
	if (event_loop_running &&
	    virConnectSetKeepAlive(connection, KEEPALIVE_INTERVAL_S,
				   KEEPALIVE_COUNT) < 0)
		log_warn("libvirt keepalive not set: a hung libvirtd would "
			 "block enforcement");
	return true;
}

void libvirt_conn_disconnect(void)
{
	if (connection)
		virConnectClose(connection);
	connection = NULL;
}

int libvirt_conn_ensure(void)
{
	if (connection && virConnectIsAlive(connection) == 1)
		return 0;
	libvirt_conn_disconnect();
	retry_at_ms = 0;
	return libvirt_conn_available(0) ? 0 : -ENOTCONN;
}

struct _virConnect *libvirt_conn_handle(void)
{
	return connection;
}
