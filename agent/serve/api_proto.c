// SPDX-License-Identifier: GPL-2.0-only
/*
 * The local socket's protocol, pure: bytes in, whole request lines out,
 * and a line parsed into a request. No sockets here, so the unit tests and
 * the fuzzer (fuzz_api) drive exactly what a peer's bytes go through.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "serve/api_proto.h"

int api_proto_take_line(struct api_inbuf *in, char *line)
{
	char *newline = memchr(in->data, '\n', in->used);
	size_t len;

	if (!newline)
		return in->used >= sizeof(in->data) ? -EMSGSIZE : -EAGAIN;
	len = (size_t)(newline - in->data);
	memcpy(line, in->data, len);
	line[len] = '\0';
	/* Tolerate CRLF from people typing at socat or nc. */
	if (len && line[len - 1] == '\r')
		line[--len] = '\0';
	in->used -= (size_t)(newline - in->data) + 1;
	memmove(in->data, newline + 1, in->used);
	return (int)len;
}

int api_proto_parse_request(const char *line, size_t len, char *why,
			    size_t why_size)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *doc, *request;
	const char *name;
	int result = -EINVAL;

	if (!tok) {
		snprintf(why, why_size, "out of memory");
		return -EINVAL;
	}
	doc = json_tokener_parse_ex(tok, line, (int)len);
	/* Exactly one whole value: "{} x" or a truncated object is garbage. */
	if (!doc || json_tokener_get_error(tok) != json_tokener_success ||
	    (size_t)json_tokener_get_parse_end(tok) != len) {
		snprintf(why, why_size, "not a JSON object");
		goto cleanup;
	}
	if (!json_object_is_type(doc, json_type_object)) {
		snprintf(why, why_size, "not a JSON object");
		goto cleanup;
	}
	if (!json_object_object_get_ex(doc, "request", &request) ||
	    !json_object_is_type(request, json_type_string)) {
		snprintf(why, why_size, "missing \"request\" string");
		goto cleanup;
	}
	name = json_object_get_string(request);
	if (!strcmp(name, "snapshot"))
		result = API_REQUEST_SNAPSHOT;
	else if (!strcmp(name, "status"))
		result = API_REQUEST_STATUS;
	else
		snprintf(why, why_size,
			 "unknown request (try \"snapshot\" or \"status\")");
cleanup:
	json_object_put(doc);
	json_tokener_free(tok);
	return result;
}
