// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for the HTTP request path: each input is sent as raw
 * bytes to the agent's real endpoint (libmicrohttpd and the agent's
 * handler, on a loopback port of its own) and whatever comes back must be
 * an HTTP response or nothing. Runs the server for the whole fuzzing
 * session, as the agent does.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "serve/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct http_server *server;
static uint16_t port;

static int render(FILE *out, void *ctx)
{
	fputs("kvmwarden_fuzz 1\n", out);
	return 0;
}

static void start_server(void)
{
	struct http_options opts = { .listen_address = "127.0.0.1:0",
				     .timeout_s = 1 };
	char why[256];

	if (http_start(&server, &opts, render, NULL, why, sizeof(why))) {
		fprintf(stderr, "fuzz_http: %s\n", why);
		abort();
	}
	port = http_port(server);
}

/* Reads until the server closes or goes quiet; returns bytes read. */
static size_t read_reply(int fd, char *buf, size_t size)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t got = 0;

	while (got < size && poll(&pfd, 1, 300) == 1) {
		ssize_t n = read(fd, buf + got, size - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	char reply[512];
	size_t got;
	int fd;

	if (!server)
		start_server();
	addr.sin_port = htons(port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		abort();
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		perror("fuzz_http: connect");
		abort(); /* the server must always accept */
	}
	if (size && send(fd, data, size, MSG_NOSIGNAL) < 0 && errno != EPIPE &&
	    errno != ECONNRESET)
		abort();
	shutdown(fd, SHUT_WR);
	got = read_reply(fd, reply, sizeof(reply));
	if (got >= 5 && memcmp(reply, "HTTP/", 5) != 0)
		abort(); /* anything sent back is an HTTP response */
	close(fd);
	return 0;
}
