/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The local socket's file (api.h serves it): the group socket_group names,
 * and a listening socket at a path, root-owned, mode 0660.
 */
#ifndef KVMWARDEN_API_SOCKET_H
#define KVMWARDEN_API_SOCKET_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stddef.h>
#include <sys/types.h>

/* socket_group's gid: a group name, or a number; "" or NULL is root's
 * (0). -ENOENT with one line in `why` for a name no group has. */
int api_socket_resolve_group(const char *name, gid_t *gid, char *why,
			     size_t why_size);
/* Makes the socket's directory (one level), removes a stale socket left
 * by a dead agent (not a live one's, nor a file that is no socket), binds
 * and listens, owned by root and `gid`, mode 0660. *fd is set as soon as
 * the socket exists, so that the caller closes it on failure too. 0, or a
 * negative errno with one line in `why`. */
int api_socket_listen(const char *path, gid_t gid, int *fd, char *why,
		      size_t why_size);

#endif
