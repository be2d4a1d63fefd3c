// SPDX-License-Identifier: GPL-2.0-only
/*
 * The sd_notify(3) protocol through libsystemd, and nothing else: when to
 * say what is run.c's business. Failures to send are ignored on purpose:
 * there is nothing the agent could do about them, and the manager acts on
 * the silence itself (a start timeout, a watchdog restart).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>

#include "serve/notify.h"

/* sd_notify() checks this too, but the watchdog is read from other
 * variables: a WATCHDOG_USEC left in the environment with no socket to
 * ping must not make the loop think someone is listening. */
static int notify_wanted(void)
{
	const char *socket = getenv("NOTIFY_SOCKET");

	return socket && *socket;
}

void notify_ready(const char *status)
{
	if (!notify_wanted())
		return;
	if (status)
		sd_notifyf(0, "READY=1\nSTATUS=%s", status);
	else
		sd_notify(0, "READY=1");
}

void notify_status(const char *fmt, ...)
{
	char line[256];
	va_list args;

	if (!notify_wanted())
		return;
	va_start(args, fmt);
	vsnprintf(line, sizeof(line), fmt, args);
	va_end(args);
	/* The message is newline-separated assignments: a newline inside the
	 * status (a guest name, say) would start a field of its own. */
	for (char *c = line; *c; c++)
		if (*c == '\n')
			*c = ' ';
	sd_notifyf(0, "STATUS=%s", line);
}

void notify_stopping(void)
{
	if (notify_wanted())
		sd_notify(0, "STOPPING=1");
}

uint64_t notify_watchdog_usec(void)
{
	uint64_t usec = 0;

	/* > 0: enabled for this process (WATCHDOG_PID, when set, is ours). */
	if (!notify_wanted() || sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	return usec;
}

void notify_watchdog(void)
{
	if (notify_wanted())
		sd_notify(0, "WATCHDOG=1");
}
