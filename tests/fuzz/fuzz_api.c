// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for the local socket's request path (agent/serve/api.c):
 * the bytes a peer sends go through the same framing (api_inbuf) and
 * request parser the server uses, fed in pieces the way recv() hands them
 * over, so a request split anywhere, a line over the limit, CRLF, NULs
 * and any JSON are covered. Checks what the server relies on: a line
 * comes out without its newline and within API_MAX_REQUEST, the buffer
 * never claims more than it holds, and every request is either one of the
 * known ones or refused with a reason.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "serve/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The server's answer_next() step: one line out of the buffer, parsed. */
static int take_and_parse(struct api_inbuf *in)
{
	char line[API_MAX_REQUEST];
	char why[128];
	int len, request;

	len = api_proto_take_line(in, line);
	if (len == -EAGAIN)
		return len;
	if (len == -EMSGSIZE) {
		/* Only a full buffer without a newline may say so. */
		if (in->used != sizeof(in->data) ||
		    memchr(in->data, '\n', in->used))
			abort();
		return len;
	}
	if (len < 0 || (size_t)len >= API_MAX_REQUEST ||
	    line[len] != '\0' || memchr(line, '\n', (size_t)len))
		abort();
	if (in->used > sizeof(in->data))
		abort();
	why[0] = '\0';
	request = api_proto_parse_request(line, (size_t)len, why, sizeof(why));
	if (request == -EINVAL) {
		if (!why[0] || !memchr(why, '\0', sizeof(why)))
			abort(); /* a refusal always says why */
	} else if (request != API_REQUEST_SNAPSHOT &&
		   request != API_REQUEST_STATUS) {
		abort();
	}
	return request;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct api_inbuf in;
	char why[128];
	size_t pos = 1, chunk;
	int got;

	/* The whole input as one line, with no framing: the parser alone. */
	got = api_proto_parse_request((const char *)data, size, why, sizeof(why));
	if (got != -EINVAL && got != API_REQUEST_SNAPSHOT &&
	    got != API_REQUEST_STATUS)
		abort();
	if (size == 0)
		return 0;
	/* The first byte picks the recv() size: 1 to 256 bytes at a time. */
	chunk = (size_t)data[0] + 1;
	in.used = 0;
	while (pos < size) {
		size_t room = sizeof(in.data) - in.used;
		size_t n = size - pos < chunk ? size - pos : chunk;

		if (n > room)
			n = room;
		memcpy(in.data + in.used, data + pos, n);
		in.used += n;
		pos += n;
		/* Take every complete line, as the server does after a read. */
		while ((got = take_and_parse(&in)) != -EAGAIN) {
			if (got == -EMSGSIZE)
				return 0; /* the server closes such a peer */
		}
	}
	return 0;
}
