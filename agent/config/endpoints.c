// SPDX-License-Identifier: GPL-2.0-only
/*
 * The listen address's syntax, numeric only (no resolver at start-up). The
 * configuration checks the key with it and the HTTP server binds with it,
 * so what config accepts is exactly what the server can listen on.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "config/endpoints.h"

uint16_t endpoints_address_port(const struct sockaddr_storage *addr)
{
	if (addr->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)addr)->sin6_port);
	return ntohs(((const struct sockaddr_in *)addr)->sin_port);
}

static int parse_port(const char *text, uint16_t *port)
{
	unsigned long value;
	char *end;

	if (*text < '0' || *text > '9' || strlen(text) > 5)
		return -EINVAL;
	value = strtoul(text, &end, 10);
	if (*end || value > 65535)
		return -EINVAL;
	*port = (uint16_t)value;
	return 0;
}

int endpoints_parse_address(const char *text, struct sockaddr_storage *addr,
			    socklen_t *addr_len)
{
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)addr;
	struct sockaddr_in *in4 = (struct sockaddr_in *)addr;
	const char *colon;
	char host[INET6_ADDRSTRLEN];
	uint16_t port;

	memset(addr, 0, sizeof(*addr));
	if (text[0] == '[') {
		colon = strstr(text, "]:");
		if (!colon || (size_t)(colon - text - 1) >= sizeof(host))
			return -EINVAL;
		memcpy(host, text + 1, (size_t)(colon - text - 1));
		host[colon - text - 1] = '\0';
		if (parse_port(colon + 2, &port) ||
		    inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
			return -EINVAL;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		*addr_len = sizeof(*in6);
		return 0;
	}
	colon = strrchr(text, ':');
	if (!colon || (size_t)(colon - text) >= sizeof(host) ||
	    parse_port(colon + 1, &port))
		return -EINVAL;
	if (colon == text) {
		/* Every address: one IPv6 socket that takes IPv4 too. */
		in6->sin6_family = AF_INET6;
		in6->sin6_addr = in6addr_any;
		in6->sin6_port = htons(port);
		*addr_len = sizeof(*in6);
		return 0;
	}
	memcpy(host, text, (size_t)(colon - text));
	host[colon - text] = '\0';
	if (inet_pton(AF_INET, host, &in4->sin_addr) != 1)
		return -EINVAL;
	in4->sin_family = AF_INET;
	in4->sin_port = htons(port);
	*addr_len = sizeof(*in4);
	return 0;
}
