/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The local socket's framing and requests (the protocol is in api.h and
 * README.md): pure functions, for the server, the tests and the fuzzer.
 */
#ifndef KVMWARDEN_API_PROTO_H
#define KVMWARDEN_API_PROTO_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stddef.h>

#define API_MAX_REQUEST 4096 /* bytes, newline included */

enum api_request {
	API_REQUEST_SNAPSHOT,
	API_REQUEST_STATUS,
};

/* Framing, pure for tests: bytes come in, whole lines go out. */
struct api_inbuf {
	char data[API_MAX_REQUEST];
	size_t used;
};

/* Copies the first complete line (without its newline, NUL-terminated)
 * into line[API_MAX_REQUEST] and drops it from the buffer. Returns its
 * length, -EAGAIN when no line is complete yet, or -EMSGSIZE when the
 * buffer is full without a newline (the peer exceeded the limit). */
int api_proto_take_line(struct api_inbuf *in, char *line);

/* Parses one request line. Returns an enum api_request, or -EINVAL with
 * a short reason in `why` for the error response. */
int api_proto_parse_request(const char *line, size_t len, char *why,
			    size_t why_size);

#endif
