/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What basic auth may cost the endpoint. bcrypt is slow on purpose (about
 * 50 ms at cost 10, 200 ms at 12, here), and the server has one thread: so
 * a credential that verified is remembered for a short while (keyed by a
 * salted SHA-256, never the password), and the bcrypt time any one client
 * address (an IPv6 /64) and all of them together may spend is metered by
 * token buckets. A client over its share gets 429 without a bcrypt run; a
 * scrape whose credential is remembered never waits for one.
 */
#ifndef KVMWARDEN_HTTP_AUTH_H
#define KVMWARDEN_HTTP_AUTH_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config/web_config.h"

#define HTTP_AUTH_CACHE_ENTRIES 32
#define HTTP_AUTH_CACHE_TTL_NS (60ULL * 1000000000ULL)
#define HTTP_AUTH_CLIENTS 64
/* bcrypt time per second of wall time, in thousandths: one address may
 * take a tenth of the server thread, all together a quarter, so a scrape
 * waits at most about one bcrypt run behind them. */
#define HTTP_AUTH_CLIENT_PERMILLE 100
#define HTTP_AUTH_TOTAL_PERMILLE 250
#define HTTP_AUTH_CLIENT_BURST_NS (500ULL * 1000000ULL)
#define HTTP_AUTH_TOTAL_BURST_NS (1000ULL * 1000000ULL)

enum http_auth_result {
	HTTP_AUTH_OK = 0,
	HTTP_AUTH_DENIED, /* wrong user or password: 401 */
	HTTP_AUTH_BUSY, /* over its bcrypt share, not checked: 429 */
};

struct http_auth_bucket {
	int64_t tokens_ns; /* bcrypt time still allowed; negative: owed */
	uint64_t updated_ns;
};

struct http_auth_client {
	unsigned char addr[16]; /* IPv4 address, or an IPv6 /64 */
	size_t addr_len; /* 0: free */
	uint64_t last_ns;
	struct http_auth_bucket bucket;
};

struct http_auth_cached {
	unsigned char key[32];
	uint64_t expires_ns; /* 0: free */
};

struct http_auth {
	unsigned char salt[32]; /* per process: cache keys are not a plain hash */
	struct http_auth_cached cache[HTTP_AUTH_CACHE_ENTRIES];
	struct http_auth_client clients[HTTP_AUTH_CLIENTS];
	struct http_auth_bucket total;
	uint64_t bcrypt_runs; /* for tests and curiosity */
	uint64_t busy_refusals;
};

/* Fresh state with a random salt: 0 or a negative errno. */
int http_auth_init(struct http_auth *auth, uint64_t now_ns);
/* Checks `user`:`password` against `web` for the client at `addr` (NULL:
 * one anonymous client) at `now_ns` (CLOCK_MONOTONIC). Runs bcrypt only for
 * a credential not remembered, and only within the client's and the
 * total share. Not thread-safe: the server calls it from its one thread. */
enum http_auth_result http_auth_check(struct http_auth *auth,
				      const struct web_config *web,
				      const char *user, const char *password,
				      const struct sockaddr *addr,
				      uint64_t now_ns);

#endif
