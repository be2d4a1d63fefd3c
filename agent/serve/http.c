// SPDX-License-Identifier: GPL-2.0-only
/*
 * The HTTP endpoint on libmicrohttpd. One epoll thread of MHD's own serves
 * every connection without blocking, so a slow or idle client costs a
 * socket, not a thread, and scrapes never wait for the measurement loop
 * (nor it for them). Limits bound what a client can hold: connections in
 * all and per address, idle time, and request size.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "base/log.h"
#include "base/units.h"
#include "config/config_yaml.h"
#include "config/endpoints.h"
#include "config/web_config.h"
#include "serve/http.h"
#include "serve/http_auth.h"

#define DEFAULT_CONNECTION_LIMIT 64
#define DEFAULT_TIMEOUT_S 10
/* Prometheus sends about 300 bytes of request; 16 KiB leaves room for a
 * proxy's headers and still caps what 64 connections can pin at 1 MiB. */
#define DEFAULT_MAX_REQUEST_BYTES (16 * 1024)
#define REALM "kvmwarden"
/* TLS 1.2 and 1.3 only: 1.0 and 1.1 lack AEAD suites and are deprecated
 * (RFC 8996); GnuTLS's defaults would still take them. */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

static const char landing_page[] =
	"<!DOCTYPE html>\n<html><head><title>kvmwarden</title></head>\n"
	"<body><h1>kvmwarden</h1>\n"
	"<p>Per-guest and per-vCPU steal time of this KVM host.</p>\n"
	"<p><a href=\"/metrics\">Metrics</a></p>\n</body></html>\n";

struct http_server {
	struct MHD_Daemon *daemon;
	http_render_fn render;
	void *ctx;
	uint16_t port;
	struct web_config web;
	char *cert_pem; /* MHD reads them at start; freed at stop */
	char *key_pem;
	int listen_fd; /* bound by http_open, MHD's from http_serve on */
	struct http_options opts; /* limits, for http_serve */
	char address[80]; /* for messages */
	struct http_auth auth; /* only MHD's one thread touches it */
};

/* Our own socket rather than MHD's, so that a failed bind reports its real
 * errno and a test can ask for port 0 and learn the port. */
static int listen_on(const struct sockaddr_storage *addr, socklen_t addr_len,
		     uint16_t *port)
{
	int fd, on = 1, off = 0;
	struct sockaddr_storage bound;
	socklen_t bound_len = sizeof(bound);

	fd = socket(addr->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A restarted agent must rebind while old connections sit in
	 * TIME_WAIT. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) ||
	    (addr->ss_family == AF_INET6 &&
	     IN6_IS_ADDR_UNSPECIFIED(
		     &((const struct sockaddr_in6 *)addr)->sin6_addr) &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off))) ||
	    bind(fd, (const struct sockaddr *)addr, addr_len) ||
	    listen(fd, 64) ||
	    getsockname(fd, (struct sockaddr *)&bound, &bound_len)) {
		int err = -errno;

		close(fd);
		return err;
	}
	*port = endpoints_address_port(&bound);
	return fd;
}

/* MHD reports every client that hangs up early or sends garbage: on an
 * exposed port that is noise, so, as for libbpf, only with KVMWARDEN_DEBUG.
 * What stops the server from starting reaches the operator through `why`. */
static void log_mhd(void *ctx, const char *fmt, va_list args)
	__attribute__((format(printf, 2, 0)));

static void log_mhd(void *ctx, const char *fmt, va_list args)
{
	static int verbose = -1;
	char text[1024];

	if (verbose < 0)
		verbose = getenv("KVMWARDEN_DEBUG") != NULL;
	if (!verbose)
		return;
	vsnprintf(text, sizeof(text), fmt, args);
	log_line(LOG_PRIO_DEBUG, "http: %s", text);
}

/* A persistent plain-text body; NULL when out of memory. */
static struct MHD_Response *text_response(const char *text)
{
	struct MHD_Response *response;

	response = MHD_create_response_from_buffer(strlen(text), (void *)text,
						   MHD_RESPMEM_PERSISTENT);
	if (response)
		MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
					"text/plain; charset=utf-8");
	return response;
}

static enum MHD_Result queue_text(struct MHD_Connection *conn,
				  unsigned int status, const char *text)
{
	struct MHD_Response *response = text_response(text);
	enum MHD_Result result;

	if (!response)
		return MHD_NO;
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW,
					"GET, HEAD");
	result = MHD_queue_response(conn, status, response);
	MHD_destroy_response(response);
	return result;
}

static enum http_auth_result authorized(struct http_server *server,
					struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *info;
	char *user, *password = NULL;
	enum http_auth_result result = HTTP_AUTH_DENIED;

	if (!server->web.user_count)
		return HTTP_AUTH_OK;
	user = MHD_basic_auth_get_username_password(conn, &password);
	info = MHD_get_connection_info(conn,
				       MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (user && password)
		result = http_auth_check(&server->auth, &server->web, user,
					 password,
					 info ? info->client_addr : NULL,
					 monotonic_ns());
	if (password) {
		explicit_bzero(password, strlen(password));
		MHD_free(password);
	}
	MHD_free(user);
	return result;
}

/* Over its share of bcrypt time: told to come back, not checked. */
static enum MHD_Result queue_busy(struct MHD_Connection *conn)
{
	struct MHD_Response *response = text_response(
		"Too Many Requests: authentication is rate-limited\n");
	enum MHD_Result result;

	if (!response)
		return MHD_NO;
	MHD_add_response_header(response, MHD_HTTP_HEADER_RETRY_AFTER, "1");
	result = MHD_queue_response(conn, MHD_HTTP_TOO_MANY_REQUESTS, response);
	MHD_destroy_response(response);
	return result;
}

static enum MHD_Result queue_unauthorized(struct MHD_Connection *conn)
{
	struct MHD_Response *response = text_response("Unauthorized\n");
	enum MHD_Result result;

	if (!response)
		return MHD_NO;
	result = MHD_queue_basic_auth_fail_response(conn, REALM, response);
	MHD_destroy_response(response);
	return result;
}

/* A 200 of `content_type`; a MUST_FREE body is freed even when no
 * response can be made. */
static enum MHD_Result queue_ok(struct MHD_Connection *conn, size_t len,
				void *body, enum MHD_ResponseMemoryMode mode,
				const char *content_type)
{
	struct MHD_Response *response =
		MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result result;

	if (!response) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
				content_type);
	result = MHD_queue_response(conn, MHD_HTTP_OK, response);
	MHD_destroy_response(response);
	return result;
}

static enum MHD_Result queue_metrics(struct http_server *server,
				     struct MHD_Connection *conn)
{
	char *body = NULL;
	size_t len = 0;
	FILE *out;
	int err;

	out = open_memstream(&body, &len);
	if (!out)
		return queue_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
				  "out of memory\n");
	err = server->render(out, server->ctx);
	if (fclose(out) && !err)
		err = -ENOMEM;
	if (err) {
		free(body);
		return queue_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
				  "cannot render the metrics\n");
	}
	return queue_ok(conn, len, body, MHD_RESPMEM_MUST_FREE,
			"text/plain; version=0.0.4; charset=utf-8");
}

/* Answers on the first call, before any body arrives: nothing served here
 * takes a body, and MHD closes the connection after a response sent early. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	struct http_server *server = cls;

	/* Authentication first, so that not even a 404 or 405 tells an
	 * unauthenticated client which paths exist. */
	switch (authorized(server, conn)) {
	case HTTP_AUTH_OK:
		break;
	case HTTP_AUTH_BUSY:
		return queue_busy(conn);
	default:
		return queue_unauthorized(conn);
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD))
		return queue_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
				  "Method Not Allowed\n");
	if (!strcmp(url, "/metrics"))
		return queue_metrics(server, conn);
	if (strcmp(url, "/"))
		return queue_text(conn, MHD_HTTP_NOT_FOUND, "Not Found\n");
	return queue_ok(conn, sizeof(landing_page) - 1, (void *)landing_page,
			MHD_RESPMEM_PERSISTENT, "text/html; charset=utf-8");
}

static int read_pem(const char *path, char **out, char *why, size_t why_size)
{
	size_t len;
	int err;

	err = config_yaml_read_text(path, out, &len, why, why_size);
	if (err)
		return err;
	(*out)[len] = '\0'; /* MHD wants a C string */
	return 0;
}

static int load_web_config(struct http_server *server, const char *path,
			   char *why, size_t why_size)
{
	char errors[1024];
	int err;

	err = web_config_load(&server->web, path, errors, sizeof(errors));
	if (err) {
		/* The first problem is the one line the operator needs. */
		errors[strcspn(errors, "\n")] = '\0';
		snprintf(why, why_size, "web config: %s", errors);
		return err;
	}
	if (!server->web.tls)
		return 0;
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
		snprintf(why, why_size,
			 "%s asks for TLS, but this libmicrohttpd was built "
			 "without it",
			 path);
		return -ENOTSUP;
	}
	err = read_pem(server->web.cert_file, &server->cert_pem, errors,
		       sizeof(errors));
	if (!err)
		err = read_pem(server->web.key_file, &server->key_pem, errors,
			       sizeof(errors));
	if (err) {
		errors[strcspn(errors, "\n")] = '\0';
		snprintf(why, why_size, "web config: %s", errors);
	}
	return err;
}

static struct MHD_Daemon *start_daemon(struct http_server *server,
				       const struct http_options *opts,
				       int listen_fd)
{
	unsigned limit = opts->connection_limit ? opts->connection_limit :
						  DEFAULT_CONNECTION_LIMIT;
	unsigned per_ip = opts->per_ip_connection_limit ?
				  opts->per_ip_connection_limit :
				  (limit + 1) / 2;
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC |
			 MHD_USE_ERROR_LOG;
	size_t request_bytes = opts->max_request_bytes ?
				       opts->max_request_bytes :
				       DEFAULT_MAX_REQUEST_BYTES;

	if (server->web.tls)
		flags |= MHD_USE_TLS;
	/* Without TLS, MHD_OPTION_END ends the list before the PEMs. */
	return MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, server,
		MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL,
		MHD_OPTION_LISTEN_SOCKET, listen_fd,
		MHD_OPTION_CONNECTION_LIMIT, limit,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
		MHD_OPTION_CONNECTION_TIMEOUT,
		opts->timeout_s ? opts->timeout_s : DEFAULT_TIMEOUT_S,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, request_bytes,
		server->web.tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END,
		server->cert_pem, MHD_OPTION_HTTPS_MEM_KEY, server->key_pem,
		MHD_OPTION_HTTPS_PRIORITIES, TLS_PRIORITIES, MHD_OPTION_END);
}

int http_open(struct http_server **out, const struct http_options *opts,
	      http_render_fn render, void *ctx, char *why, size_t why_size)
{
	const char *address = opts->listen_address ? opts->listen_address :
						     ENDPOINTS_DEFAULT_LISTEN;
	struct sockaddr_storage addr;
	struct http_server *server;
	socklen_t addr_len;
	int err;

	*out = NULL;
	if (endpoints_parse_address(address, &addr, &addr_len)) {
		snprintf(why, why_size,
			 "cannot listen on '%s': expected IPv4:PORT, "
			 "[IPv6]:PORT or :PORT",
			 address);
		return -EINVAL;
	}
	server = calloc(1, sizeof(*server));
	if (!server) {
		snprintf(why, why_size, "out of memory");
		return -ENOMEM;
	}
	server->listen_fd = -1;
	server->render = render;
	server->ctx = ctx;
	server->opts = *opts;
	server->opts.listen_address = NULL; /* not kept: the caller's */
	server->opts.web_config_path = NULL;
	snprintf(server->address, sizeof(server->address), "%s", address);
	err = http_auth_init(&server->auth, monotonic_ns());
	if (err) {
		snprintf(why, why_size, "no random bytes for the auth cache");
		goto cleanup;
	}
	if (opts->web_config_path && opts->web_config_path[0]) {
		err = load_web_config(server, opts->web_config_path, why,
				      why_size);
		if (err)
			goto cleanup;
	}
	server->listen_fd = listen_on(&addr, addr_len, &server->port);
	if (server->listen_fd < 0) {
		err = server->listen_fd;
		snprintf(why, why_size, "cannot listen on %s: %s", address,
			 strerror(-err));
		goto cleanup;
	}
	*out = server;
	return 0;

cleanup:
	http_stop(server);
	return err;
}

int http_serve(struct http_server *server, char *why, size_t why_size)
{
	server->daemon = start_daemon(server, &server->opts, server->listen_fd);
	/* MHD owns the socket now, or closed it on most of its failure
	 * paths but not all: leaking it beats closing a descriptor reused
	 * since. */
	server->listen_fd = -1;
	if (!server->daemon) {
		snprintf(why, why_size,
			 "cannot start the HTTP server on %s (a TLS "
			 "certificate and key that do not load or match?)",
			 server->address);
		return -EINVAL;
	}
	return 0;
}

int http_start(struct http_server **out, const struct http_options *opts,
	       http_render_fn render, void *ctx, char *why, size_t why_size)
{
	int err = http_open(out, opts, render, ctx, why, why_size);

	if (err)
		return err;
	err = http_serve(*out, why, why_size);
	if (err) {
		http_stop(*out);
		*out = NULL;
	}
	return err;
}

int http_check_web_config(const char *path, bool *auth_without_tls, char *why,
			  size_t why_size)
{
	struct http_server *server = calloc(1, sizeof(*server));
	int err;

	if (!server) {
		snprintf(why, why_size, "out of memory");
		return -ENOMEM;
	}
	server->listen_fd = -1;
	/* The very loading http_start does, certificate and key included. */
	err = load_web_config(server, path, why, why_size);
	if (!err && auth_without_tls)
		*auth_without_tls = server->web.user_count && !server->web.tls;
	http_stop(server);
	return err;
}

void http_stop(struct http_server *server)
{
	if (!server)
		return;
	/* Closes the listening socket too, and joins MHD's thread. */
	if (server->daemon)
		MHD_stop_daemon(server->daemon);
	else if (server->listen_fd >= 0)
		close(server->listen_fd);
	if (server->key_pem)
		explicit_bzero(server->key_pem, strlen(server->key_pem));
	free(server->key_pem);
	free(server->cert_pem);
	free(server);
}

uint16_t http_port(const struct http_server *server)
{
	return server->port;
}
