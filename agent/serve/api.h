/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's local socket: a Unix stream socket that `kvmwarden top` and
 * `kvmwarden status` read the live window from, so they need not load a
 * second copy of the BPF programs. The protocol (README.md, "The local
 * socket"): newline-delimited JSON requests such as
 *   {"request":"snapshot"}   {"request":"status"}
 * each answered by exactly one line of JSON, {"ok":true,...} or
 * {"ok":false,"error":"..."}.
 *
 * The server runs on a thread of its own with one poll() loop, so a slow
 * or hostile peer costs it at most a buffer and a slot until its timeout,
 * and never delays measuring (run.c's loop only swaps a string under a
 * mutex). Bounds: API_MAX_REQUEST bytes per request line, API_MAX_CLIENTS
 * connections, one answer in flight per client (its next request waits
 * until the peer has read the last answer out of the socket), and a client
 * that makes no progress (no complete request, nothing of its answer read
 * by the peer) for the timeout is dropped.
 */
#ifndef KVMWARDEN_API_H
#define KVMWARDEN_API_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config/endpoints.h"
#include "serve/api_proto.h"

/* The clients' name for the default (top, status). */
#define API_DEFAULT_SOCKET ENDPOINTS_DEFAULT_SOCKET
#define API_MAX_CLIENTS 16
#define API_CLIENT_TIMEOUT_MS 5000
/* A whole response, snapshot included; larger ones are refused rather
 * than buffered without bound (tens of guests take a few tens of KiB). */
#define API_MAX_RESPONSE (16u << 20)

struct api_options {
	const char *path; /* the socket's */
	const char *group; /* owning group of the socket; "": root's */
	uint32_t client_timeout_ms; /* 0: API_CLIENT_TIMEOUT_MS */
};

/* What `status` reports besides what the server knows itself. */
struct api_status {
	const char *mode; /* static string */
	uint64_t guests; /* running now */
	uint64_t seq; /* windows published */
	/* What loaded on this kernel: the "features" object of feature_table.h
	 * as JSON text, NULL: not reported. Set once at start and never
	 * changed, so it is not copied: it must outlive the server. Text,
	 * so this module stays free of the exporters (the fuzzer links it
	 * alone). */
	const char *features_json;
};

struct api_server;

/* Creates the socket (root-owned, mode 0660, the configured group) and
 * starts serving. 0, or a negative errno with one line in `why`. */
int api_start(struct api_server **out, const struct api_options *opts,
	      char *why, size_t why_size);
/* api_start in two steps: the socket (which may need privileges the agent
 * drops: its group), then the thread. Capabilities are per thread and a
 * thread keeps what it had when it started, so the agent drops between
 * the two (run.c). api_stop undoes either. */
int api_open(struct api_server **out, const struct api_options *opts, char *why,
	     size_t why_size);
int api_serve(struct api_server *server, char *why, size_t why_size);
/* Stops the thread, closes every connection, removes the socket. NULL is
 * fine. */
void api_stop(struct api_server *server);
/* Replaces the window served (one line of JSON, no newline; copied) and
 * the status figures. snapshot NULL keeps the previous window. */
int api_publish(struct api_server *server, const char *snapshot,
		const struct api_status *status);

/* The client side (api_client.c): sends {"request":"REQUEST"} to the
 * socket at path and parses the one-line answer into *answer (the caller
 * puts it). 0, or a negative errno: -ENOENT/-ECONNREFUSED when no agent
 * serves it, -ETIMEDOUT after timeout_ms, -EPROTO for a garbled answer. */
struct json_object;
int api_client_request(const char *path, const char *request, int timeout_ms,
		       struct json_object **answer);

#endif
