/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's HTTP endpoint (libmicrohttpd): GET /metrics, a landing page,
 * optional TLS and basic auth from a web.yml. It owns sockets, limits and
 * authentication; what /metrics says is the render callback's business.
 */
#ifndef KVMWARDEN_HTTP_H
#define KVMWARDEN_HTTP_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

struct http_options {
	const char *listen_address; /* NULL: ENDPOINTS_DEFAULT_LISTEN */
	unsigned connection_limit; /* 0: 64 */
	unsigned per_ip_connection_limit; /* 0: half of connection_limit */
	unsigned timeout_s; /* idle connections are closed; 0: 10 */
	size_t max_request_bytes; /* request line and headers; 0: 16 KiB */
	const char *web_config_path; /* NULL or "": no TLS, no auth */
};

/*
 * Writes the /metrics body. It runs on the server's own thread, at the same
 * time as the caller's threads, so whatever it reads must be protected by
 * the caller (run.c holds a mutex around its snapshot). It should return
 * quickly: one scrape is served at a time. Returns 0 or a negative errno
 * (the scrape then gets a 500).
 */
typedef int (*http_render_fn)(FILE *out, void *ctx);

struct http_server;

/* Listens and serves from a thread of its own. Returns 0, or a negative
 * errno with one line for the operator in `why`. */
int http_start(struct http_server **out, const struct http_options *opts,
	       http_render_fn render, void *ctx, char *why, size_t why_size);
/* http_start in two steps: read the web config and bind (a low port or a
 * root-only key may need privileges the agent drops), then start MHD's
 * thread. A thread keeps the capabilities it started with, so the agent
 * drops them between the two (run.c). http_stop undoes either. */
int http_open(struct http_server **out, const struct http_options *opts,
	      http_render_fn render, void *ctx, char *why, size_t why_size);
int http_serve(struct http_server *server, char *why, size_t why_size);
/* Reads the web config at `path` as http_start would, certificate and key
 * included, and serves nothing: 0, or a negative errno with one line in
 * `why`. *auth_without_tls (may be NULL) says whether it asks for
 * passwords over plain HTTP. */
int http_check_web_config(const char *path, bool *auth_without_tls,
			  char *why, size_t why_size);
/* Closes every connection and waits for the thread; accepts NULL. */
void http_stop(struct http_server *server);
/* The port actually bound (useful with port 0). */
uint16_t http_port(const struct http_server *server);

#endif
