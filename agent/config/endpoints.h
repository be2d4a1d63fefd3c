/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Where the agent serves, as the configuration spells it: the defaults of
 * listen_address (the /metrics endpoint) and socket_path (the local
 * socket), and the listen address's syntax. Here rather than in serve/ so
 * that the configuration, which checks these keys, needs no server.
 */
#ifndef KVMWARDEN_ENDPOINTS_H
#define KVMWARDEN_ENDPOINTS_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdint.h>
#include <sys/socket.h>

/* Not in Prometheus's default port allocations, whose 9100-9999 range is
 * exhausted (see README.md); loopback only unless configured otherwise. */
#define ENDPOINTS_DEFAULT_LISTEN "127.0.0.1:19857"
/* The local socket (serve/api.h) that top and status read. */
#define ENDPOINTS_DEFAULT_SOCKET "/run/kvmwarden/kvmwarden.sock"

/* "IPv4:PORT", "[IPv6]:PORT" or ":PORT" (every address, IPv4 and IPv6),
 * numeric only, port 0 to 65535. Returns 0 or -EINVAL. */
int endpoints_parse_address(const char *text, struct sockaddr_storage *addr,
			    socklen_t *addr_len);
uint16_t endpoints_address_port(const struct sockaddr_storage *addr);

#endif
