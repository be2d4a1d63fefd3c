// SPDX-License-Identifier: GPL-2.0-only
/*
 * The local socket's file: its group, its directory, a stale one left by a
 * dead agent, and binding it so that no peer ever sees it with the default
 * permissions. Apart from api.c, which serves what connects to it.
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "serve/api_socket.h"

/* Connections the kernel queues before accept(): a burst of connects
 * beyond API_MAX_CLIENTS still gets its "too many clients" answer instead
 * of EAGAIN at connect(). */
#define API_LISTEN_BACKLOG 128

int api_socket_resolve_group(const char *name, gid_t *gid, char *why,
			     size_t why_size)
{
	struct group entry, *found = NULL;
	char buf[4096];
	char *end;
	unsigned long number;

	*gid = 0;
	if (!name || !name[0])
		return 0;
	if (getgrnam_r(name, &entry, buf, sizeof(buf), &found) == 0 && found) {
		*gid = found->gr_gid;
		return 0;
	}
	errno = 0;
	number = strtoul(name, &end, 10);
	if (!errno && end != name && !*end && number < (gid_t)-1) {
		*gid = (gid_t)number;
		return 0;
	}
	snprintf(why, why_size, "socket_group: no group named '%s'", name);
	return -ENOENT;
}

/* A socket file left by an agent that died is removed; a live agent's, or
 * a file that is not a socket, is not ours to remove. */
static int clear_stale(const char *path, char *why, size_t why_size)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, err;

	if (lstat(path, &st)) {
		if (errno == ENOENT)
			return 0;
		err = -errno;
		snprintf(why, why_size, "%s: %s", path, strerror(-err));
		return err;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(why, why_size,
			 "%s exists and is not a socket; not replacing it",
			 path);
		return -EEXIST;
	}
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		snprintf(why, why_size, "socket: %s", strerror(-err));
		return err;
	}
	err = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
	close(fd);
	if (err == 0) {
		snprintf(why, why_size,
			 "%s: another kvmwarden agent serves it already", path);
		return -EADDRINUSE;
	}
	unlink(path);
	return 0;
}

/* The directory of the socket (/run/kvmwarden by default) is made when
 * missing, one level only: a typo in a deep path should fail loudly. */
static int make_parent(const char *path, char *why, size_t why_size)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0755) && errno != EEXIST) {
		int err = -errno;

		snprintf(why, why_size, "cannot create %s: %s", dir,
			 strerror(-err));
		return err;
	}
	return 0;
}

int api_socket_listen(const char *path, gid_t gid, int *fd, char *why,
		      size_t why_size)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int err;

	err = make_parent(path, why, why_size);
	if (!err)
		err = clear_stale(path, why, why_size);
	if (err)
		return err;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	*fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (*fd < 0) {
		err = -errno;
		snprintf(why, why_size, "socket: %s", strerror(-err));
		return err;
	}
	if (bind(*fd, (struct sockaddr *)&addr, sizeof(addr))) {
		err = -errno;
		snprintf(why, why_size, "cannot bind %s: %s", path,
			 strerror(-err));
		return err;
	}
	/* Before listen(): until then nobody can connect, so no peer ever
	 * sees the default permissions. */
	/* The agent runs as root; only tests run it otherwise, and they
	 * cannot give a file away. */
	if ((geteuid() == 0 ? chown(path, 0, gid) :
	     gid	    ? chown(path, (uid_t)-1, gid) :
			      0) ||
	    chmod(path, 0660)) {
		err = -errno;
		snprintf(why, why_size, "cannot set owner and mode of %s: %s",
			 path, strerror(-err));
		unlink(path);
		return err;
	}
	if (listen(*fd, API_LISTEN_BACKLOG)) {
		err = -errno;
		snprintf(why, why_size, "cannot listen on %s: %s", path,
			 strerror(-err));
		unlink(path);
		return err;
	}
	return 0;
}
