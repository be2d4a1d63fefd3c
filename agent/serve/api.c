// SPDX-License-Identifier: GPL-2.0-only
/*
 * The local socket server (protocol in api.h and README.md). One thread,
 * one poll() loop over a wake-up pipe, the listening socket and at most
 * API_MAX_CLIENTS connections, all non-blocking. A client's next request
 * is read only once it has taken the previous answer out of the socket
 * (SIOCOUTQ is 0), so a client that never reads holds one answer and is
 * dropped at its timeout; it never makes the server wait. Progress, which
 * the timeout measures, is what the peer does: a complete request read, or
 * bytes of an answer taken; never what the server writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "base/units.h"
#include "base/version.h"
#include "serve/api.h"
#include "serve/api_socket.h"

struct api_client {
	int fd;
	struct api_inbuf in;
	char *out; /* the pending answer, or NULL */
	size_t out_len;
	size_t out_sent;
	bool close_after; /* the answer is the last word: the peer broke rules */
	uint64_t last_progress_ns;
	/* What the socket still holds for the peer at the last look, in the
	 * kernel's accounting (SIOCOUTQ counts buffer memory, not bytes): a
	 * drop means the peer read. */
	int unread;
};

struct api_server {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int listen_fd;
	int wake[2]; /* written once by api_stop */
	uint64_t timeout_ns;
	uint64_t started_ns;
	thrd_t thread;
	bool thread_started;
	struct api_client clients[API_MAX_CLIENTS];
	size_t client_count;
	uint64_t served; /* answers queued, for status */
	uint64_t dropped; /* connections closed for breaking the rules */

	mtx_t lock; /* guards what follows: written by api_publish */
	char *snapshot;
	struct api_status status;
};

/* ------------------------------------------------------------ answers */

/* One answer line: `doc` as plain JSON and a newline, malloc'd (NULL when
 * out of memory). Takes `doc`. */
static char *json_line(struct json_object *doc)
{
	char *line = NULL;

	if (asprintf(&line, "%s\n",
		     json_object_to_json_string_ext(
			     doc, JSON_C_TO_STRING_PLAIN)) < 0)
		line = NULL;
	json_object_put(doc);
	return line;
}

static char *error_line(const char *why)
{
	struct json_object *doc = json_object_new_object();

	json_object_object_add(doc, "ok", json_object_new_boolean(false));
	json_object_object_add(doc, "error", json_object_new_string(why));
	return json_line(doc);
}

static char *status_line(struct api_server *server)
{
	struct json_object *doc = json_object_new_object();
	struct json_object *status = json_object_new_object();

	mtx_lock(&server->lock);
	json_object_object_add(
		status, "mode",
		json_object_new_string(
			server->status.mode ? server->status.mode : "monitor"));
	json_object_object_add(status, "guests",
			       json_object_new_uint64(server->status.guests));
	json_object_object_add(status, "seq",
			       json_object_new_uint64(server->status.seq));
	if (server->status.features_json)
		json_object_object_add(
			status, "features",
			json_tokener_parse(server->status.features_json));
	mtx_unlock(&server->lock);
	json_object_object_add(status, "version",
			       json_object_new_string(KVMWARDEN_VERSION));
	json_object_object_add(status, "pid", json_object_new_int(getpid()));
	json_object_object_add(
		status, "uptime_s",
		json_object_new_uint64((monotonic_ns() - server->started_ns) /
				       NS_PER_SEC));
	json_object_object_add(status, "clients",
			       json_object_new_uint64(server->client_count));
	json_object_object_add(status, "answers",
			       json_object_new_uint64(server->served));
	json_object_object_add(status, "dropped_clients",
			       json_object_new_uint64(server->dropped));
	json_object_object_add(doc, "ok", json_object_new_boolean(true));
	json_object_object_add(doc, "request",
			       json_object_new_string("status"));
	json_object_object_add(doc, "status", status);
	return json_line(doc);
}

/* The window is already JSON text: wrap it without reparsing. */
static char *snapshot_line(struct api_server *server)
{
	char *line = NULL;

	mtx_lock(&server->lock);
	if (server->snapshot &&
	    asprintf(&line,
		     "{\"ok\":true,\"request\":\"snapshot\","
		     "\"snapshot\":%s}\n",
		     server->snapshot) < 0)
		line = NULL;
	mtx_unlock(&server->lock);
	if (!server->snapshot && !line)
		return error_line("no window yet: the agent just started");
	if (line && strlen(line) > API_MAX_RESPONSE) {
		free(line);
		return error_line("snapshot too large");
	}
	return line;
}

/* ------------------------------------------------------------ clients */

static void drop_client(struct api_server *server, size_t index)
{
	struct api_client *client = &server->clients[index];

	close(client->fd);
	free(client->out);
	/* Keep the array dense: the last one takes this place. */
	server->client_count--;
	if (index != server->client_count)
		*client = server->clients[server->client_count];
	memset(&server->clients[server->client_count], 0,
	       sizeof(server->clients[0]));
}

static void queue_answer(struct api_client *client, char *line,
			 bool close_after)
{
	client->out = line;
	client->out_len = line ? strlen(line) : 0;
	client->out_sent = 0;
	client->close_after = close_after || !line;
}

/* Bytes the server wrote that the peer has not read yet. */
static int peer_unread(int fd)
{
	int unread = 0;

	if (ioctl(fd, SIOCOUTQ, &unread) < 0)
		return 0;
	return unread;
}

/* Answers the next complete request, if any, and only when the previous
 * answer is gone, out of the server and out of the socket: one answer in
 * flight per client bounds what it can hold. */
static void answer_next(struct api_server *server, struct api_client *client)
{
	char line[API_MAX_REQUEST];
	char why[96];
	int len, request;

	if (client->out || client->close_after || client->unread > 0)
		return;
	len = api_proto_take_line(&client->in, line);
	if (len == -EAGAIN)
		return;
	if (len == -EMSGSIZE) {
		/* No resynchronising in the middle of a huge line. */
		snprintf(why, sizeof(why),
			 "request longer than %d bytes; closing",
			 API_MAX_REQUEST - 1);
		queue_answer(client, error_line(why), true);
		server->dropped++;
		return;
	}
	request = api_proto_parse_request(line, (size_t)len, why, sizeof(why));
	server->served++;
	if (request == API_REQUEST_SNAPSHOT)
		queue_answer(client, snapshot_line(server), false);
	else if (request == API_REQUEST_STATUS)
		queue_answer(client, status_line(server), false);
	else
		/* A bad request gets an answer, not a hang-up: a typo at
		 * socat should be explained. */
		queue_answer(client, error_line(why), false);
}

/* Returns false when the client is to be dropped. */
static bool client_write(struct api_server *server, struct api_client *client,
			 uint64_t now_ns)
{
	while (client->out && client->out_sent < client->out_len) {
		ssize_t n = send(client->fd, client->out + client->out_sent,
				 client->out_len - client->out_sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK;
		}
		/* Room for more of an answer begun means the peer read. */
		if (client->out_sent)
			client->last_progress_ns = now_ns;
		client->out_sent += (size_t)n;
	}
	if (client->out) {
		free(client->out);
		client->out = NULL;
		if (client->close_after)
			return false;
		client->unread = peer_unread(client->fd);
		answer_next(server, client);
	}
	return true;
}

static bool client_read(struct api_server *server, struct api_client *client,
			uint64_t now_ns)
{
	size_t room = sizeof(client->in.data) - client->in.used;
	ssize_t n;

	if (!room) {
		answer_next(server, client);
		return true;
	}
	n = recv(client->fd, client->in.data + client->in.used, room,
		 MSG_DONTWAIT);
	if (n == 0)
		return false; /* the peer closed */
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ||
		       errno == EINTR;
	client->in.used += (size_t)n;
	/* A byte at a time must not keep a connection alive forever: only a
	 * complete request counts as progress. */
	if (memchr(client->in.data, '\n', client->in.used))
		client->last_progress_ns = now_ns;
	answer_next(server, client);
	return true;
}

/* After poll: what the peer took since the last look, requests waiting
 * for it to take an answer first, and the timeout. */
static bool client_tick(struct api_server *server, struct api_client *client,
			uint64_t now_ns)
{
	int unread;

	if (client->close_after && !client->out)
		return false; /* its last answer could not even be built */
	unread = peer_unread(client->fd);
	if (unread < client->unread)
		client->last_progress_ns = now_ns;
	client->unread = unread;
	answer_next(server, client);
	if (client->out && !client->out_sent &&
	    !client_write(server, client, now_ns))
		return false;
	if (now_ns - client->last_progress_ns > server->timeout_ns) {
		server->dropped++;
		return false;
	}
	return true;
}

/* Drops clients whose peer has gone (EOF with nothing left to read) and
 * that wait for no answer. Run when the table is full: a burst of
 * connections closed at once would otherwise hold every slot until the
 * next poll() and turn away a client that is still there. */
static void reap_closed(struct api_server *server)
{
	for (size_t i = server->client_count; i-- > 0;) {
		struct api_client *client = &server->clients[i];
		char byte;

		if (!client->out &&
		    recv(client->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0)
			drop_client(server, i);
	}
}

static void accept_clients(struct api_server *server, uint64_t now_ns)
{
	for (;;) {
		int fd = accept4(server->listen_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct api_client *client;

		if (fd < 0)
			return; /* EAGAIN, or a peer gone before we got it */
		if (server->client_count >= API_MAX_CLIENTS)
			reap_closed(server);
		if (server->client_count >= API_MAX_CLIENTS) {
			static const char full[] =
				"{\"ok\":false,\"error\":\"too many clients\"}\n";

			/* Best effort: the socket buffer is empty, so this
			 * short line fits; then it is closed at once. */
			if (send(fd, full, sizeof(full) - 1,
				 MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				errno = 0;
			close(fd);
			server->dropped++;
			continue;
		}
		client = &server->clients[server->client_count++];
		memset(client, 0, sizeof(*client));
		client->fd = fd;
		client->last_progress_ns = now_ns;
	}
}

static int serve(void *arg)
{
	struct api_server *server = arg;
	struct pollfd fds[2 + API_MAX_CLIENTS];

	for (;;) {
		size_t count = server->client_count;
		int wait_ms = 1000; /* at least once a second, for timeouts */
		uint64_t now_ns;

		fds[0] = (struct pollfd){ .fd = server->wake[0],
					  .events = POLLIN };
		fds[1] = (struct pollfd){ .fd = server->listen_fd,
					  .events = POLLIN };
		for (size_t i = 0; i < count; i++) {
			const struct api_client *client = &server->clients[i];

			/* Not read while the peer has an answer to take. No
			 * event tells when it has taken it, so look often
			 * then (hang-ups are reported whatever the events). */
			fds[2 + i] = (struct pollfd){
				.fd = client->fd,
				.events = client->out	 ? POLLOUT :
					  client->unread ? 0 :
							   POLLIN,
			};
			if (!client->out && client->unread)
				wait_ms = 20;
		}
		if (poll(fds, 2 + count, wait_ms) < 0 && errno != EINTR)
			break;
		if (fds[0].revents)
			break;
		now_ns = monotonic_ns();
		/* Backwards, so dropping (which moves the last client into
		 * the hole) never skips one that has not been looked at. */
		for (size_t i = count; i-- > 0;) {
			struct api_client *client = &server->clients[i];
			short revents = fds[2 + i].revents;
			bool keep = true;

			if (revents & POLLOUT)
				keep = client_write(server, client, now_ns);
			else if (revents & POLLIN)
				keep = client_read(server, client, now_ns);
			else if (revents & (POLLHUP | POLLERR | POLLNVAL))
				keep = false;
			if (keep)
				keep = client_tick(server, client, now_ns);
			if (!keep)
				drop_client(server, i);
		}
		if (fds[1].revents & POLLIN)
			accept_clients(server, now_ns);
	}
	return 0;
}

int api_open(struct api_server **out, const struct api_options *opts, char *why,
	     size_t why_size)
{
	struct api_server *server;
	gid_t gid;
	int err;

	*out = NULL;
	if (!opts->path || !opts->path[0] ||
	    strlen(opts->path) >= sizeof(server->path)) {
		snprintf(why, why_size, "socket_path: empty or longer than %zu",
			 sizeof(server->path) - 1);
		return -EINVAL;
	}
	err = api_socket_resolve_group(opts->group, &gid, why, why_size);
	if (err)
		return err;
	server = calloc(1, sizeof(*server));
	if (!server) {
		snprintf(why, why_size, "out of memory");
		return -ENOMEM;
	}
	snprintf(server->path, sizeof(server->path), "%s", opts->path);
	server->listen_fd = -1;
	server->wake[0] = server->wake[1] = -1;
	server->timeout_ns = (uint64_t)(opts->client_timeout_ms ?
						opts->client_timeout_ms :
						API_CLIENT_TIMEOUT_MS) *
			     NS_PER_MS;
	server->started_ns = monotonic_ns();
	if (mtx_init(&server->lock, mtx_plain) != thrd_success) {
		free(server);
		snprintf(why, why_size, "cannot create a mutex");
		return -ENOMEM;
	}
	err = api_socket_listen(server->path, gid, &server->listen_fd, why,
				why_size);
	if (err)
		goto fail;
	if (pipe2(server->wake, O_CLOEXEC | O_NONBLOCK)) {
		err = -errno;
		snprintf(why, why_size, "pipe: %s", strerror(-err));
		goto fail;
	}
	*out = server;
	return 0;
fail:
	api_stop(server);
	return err;
}

int api_serve(struct api_server *server, char *why, size_t why_size)
{
	if (thrd_create(&server->thread, serve, server) != thrd_success) {
		snprintf(why, why_size, "cannot start the socket thread");
		return -EAGAIN;
	}
	server->thread_started = true;
	return 0;
}

int api_start(struct api_server **out, const struct api_options *opts,
	      char *why, size_t why_size)
{
	int err = api_open(out, opts, why, why_size);

	if (err)
		return err;
	err = api_serve(*out, why, why_size);
	if (err) {
		api_stop(*out);
		*out = NULL;
	}
	return err;
}

void api_stop(struct api_server *server)
{
	if (!server)
		return;
	if (server->thread_started) {
		if (write(server->wake[1], "x", 1) < 0)
			errno = 0; /* the pipe is empty: cannot fail here */
		thrd_join(server->thread, NULL);
	}
	while (server->client_count)
		drop_client(server, server->client_count - 1);
	if (server->listen_fd >= 0) {
		close(server->listen_fd);
		unlink(server->path);
	}
	if (server->wake[0] >= 0)
		close(server->wake[0]);
	if (server->wake[1] >= 0)
		close(server->wake[1]);
	free(server->snapshot);
	mtx_destroy(&server->lock);
	free(server);
}

int api_publish(struct api_server *server, const char *snapshot,
		const struct api_status *status)
{
	char *copy = NULL, *old = NULL;

	if (!server)
		return 0;
	if (snapshot) {
		copy = strdup(snapshot);
		if (!copy)
			return -ENOMEM;
	}
	mtx_lock(&server->lock);
	if (copy) {
		old = server->snapshot;
		server->snapshot = copy;
	}
	if (status)
		server->status = *status;
	mtx_unlock(&server->lock);
	free(old);
	return 0;
}
