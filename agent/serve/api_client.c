// SPDX-License-Identifier: GPL-2.0-only
/*
 * The client side of the local socket (api.h), for top and status: one
 * connection per request, so an agent that restarted in between, or that
 * dropped an idle connection, costs nothing but a reconnect.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "base/units.h"
#include "serve/api.h"

static uint64_t clock_ms(void)
{
	return monotonic_ns() / NS_PER_MS;
}

/* Waits for `events` on fd until deadline_ms; 0 or -ETIMEDOUT/-errno. */
static int wait_for(int fd, short events, uint64_t deadline_ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	uint64_t now = clock_ms();
	int ready;

	if (now >= deadline_ms)
		return -ETIMEDOUT;
	ready = poll(&pfd, 1, (int)(deadline_ms - now));
	if (ready < 0)
		return errno == EINTR ? 0 : -errno;
	return ready ? 0 : -ETIMEDOUT;
}

int api_client_request(const char *path, const char *request, int timeout_ms,
		       struct json_object **answer)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	uint64_t deadline_ms = clock_ms() + (uint64_t)timeout_ms;
	size_t used = 0, cap = 0, sent = 0, len;
	char line[128], *text = NULL, *bigger;
	int fd, err = 0;

	*answer = NULL;
	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	len = (size_t)snprintf(line, sizeof(line), "{\"request\":\"%s\"}\n",
			       request);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* A Unix socket connects at once or fails; EAGAIN means the
	 * agent's backlog is full for a moment (a burst of clients), so try
	 * again until the deadline. */
	while (connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		struct timespec pause = { .tv_nsec = 10000000 };

		err = -errno;
		if (err != -EAGAIN || clock_ms() >= deadline_ms)
			goto cleanup;
		nanosleep(&pause, NULL);
		err = 0;
	}
	while (sent < len) {
		ssize_t n = send(fd, line + sent, len - sent, MSG_NOSIGNAL);

		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			err = -errno;
			goto cleanup;
		}
		if (n > 0)
			sent += (size_t)n;
		else if ((err = wait_for(fd, POLLOUT, deadline_ms)))
			goto cleanup;
	}
	for (;;) {
		ssize_t n;

		if (cap - used < 4096) {
			if (cap >= API_MAX_RESPONSE) {
				err = -EMSGSIZE;
				goto cleanup;
			}
			cap = cap ? cap * 2 : 65536;
			bigger = realloc(text, cap + 1);
			if (!bigger) {
				err = -ENOMEM;
				goto cleanup;
			}
			text = bigger;
		}
		n = recv(fd, text + used, cap - used, 0);
		if (n > 0) {
			used += (size_t)n;
			if (memchr(text + used - (size_t)n, '\n', (size_t)n))
				break;
		} else if (n == 0) {
			err = -ECONNRESET; /* closed before a whole line */
			goto cleanup;
		} else if (errno != EAGAIN && errno != EINTR) {
			err = -errno;
			goto cleanup;
		} else if ((err = wait_for(fd, POLLIN, deadline_ms))) {
			goto cleanup;
		}
	}
	text[used] = '\0';
	*answer = json_tokener_parse(text);
	if (!*answer || !json_object_is_type(*answer, json_type_object)) {
		json_object_put(*answer);
		*answer = NULL;
		err = -EPROTO;
	}
cleanup:
	free(text);
	close(fd);
	return err;
}
