// SPDX-License-Identifier: GPL-2.0-only
/*
 * The HTTP endpoint, driven over real loopback sockets: status codes and
 * content types, request size and connection limits, slow clients, basic
 * auth on every path, TLS (when openssl and curl are there to check it).
 */
#include <arpa/inet.h>
#include <crypt.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "config/endpoints.h"
#include "serve/http.h"

#define SLOW_CLIENTS 20

struct fixture {
	struct http_server *server;
	uint16_t port;
	int renders;
	int render_error; /* what the render callback returns */
	char dir[64]; /* temporary files: web.yml, certificates */
};

static int render(FILE *out, void *ctx)
{
	struct fixture *f = ctx;

	f->renders++;
	fputs("# TYPE test_metric gauge\ntest_metric 1\n", out);
	return f->render_error;
}

static int start(struct fixture *f, const struct http_options *opts)
{
	char why[256] = "";
	int err;

	err = http_start(&f->server, opts, render, f, why, sizeof(why));
	if (err)
		print_message("http_start: %s\n", why);
	else
		f->port = http_port(f->server);
	return err;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/kvmwarden-http-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	*state = f;
	return 0;
}

/* With a plain server on an ephemeral loopback port. */
static int setup_plain(void **state)
{
	struct http_options opts = { .listen_address = "127.0.0.1:0" };

	if (setup(state))
		return -1;
	return start(*state, &opts) ? -1 : 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char command[128];

	http_stop(f->server);
	snprintf(command, sizeof(command), "rm -rf '%s'", f->dir);
	if (system(command))
		return -1;
	free(f);
	return 0;
}

static int connect_to(uint16_t port)
{
	struct sockaddr_in addr = { .sin_family = AF_INET,
				    .sin_port = htons(port) };
	struct timeval timeout = { .tv_sec = 3 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout,
				    sizeof(timeout)),
			 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)),
			 0);
	return fd;
}

/* Sends `request` whole and reads until the server closes, so the reply
 * is complete. Returns the status code, or 0 when the connection ended
 * (or was reset) without a status line. */
static int exchange(uint16_t port, const char *request, char *reply,
		    size_t size)
{
	int fd = connect_to(port), status = 0;
	size_t used = 0, len = strlen(request);
	ssize_t n;

	/* A server that refuses early may reset while this still sends. */
	for (size_t sent = 0; sent < len; sent += (size_t)n) {
		n = send(fd, request + sent, len - sent, MSG_NOSIGNAL);
		if (n <= 0)
			break;
	}
	while (used + 1 < size &&
	       (n = recv(fd, reply + used, size - 1 - used, 0)) > 0)
		used += (size_t)n;
	reply[used] = '\0';
	close(fd);
	sscanf(reply, "HTTP/1.%*d %d", &status);
	return status;
}

static int get(uint16_t port, const char *method, const char *path,
	       const char *extra_headers, char *reply, size_t size)
{
	char request[1024];

	snprintf(request, sizeof(request),
		 "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sConnection: close"
		 "\r\n\r\n",
		 method, path, extra_headers ? extra_headers : "");
	return exchange(port, request, reply, size);
}

static bool has_header(const char *reply, const char *header)
{
	const char *end = strstr(reply, "\r\n\r\n");
	const char *at = strcasestr(reply, header);

	return at && end && at < end && at[-1] == '\n';
}

static const char *body_of(const char *reply)
{
	const char *end = strstr(reply, "\r\n\r\n");

	return end ? end + 4 : "";
}

static void metrics_are_served(void **state)
{
	struct fixture *f = *state;
	char reply[4096];

	assert_int_equal(get(f->port, "GET", "/metrics", NULL, reply,
			     sizeof(reply)),
			 200);
	assert_true(has_header(reply, "Content-Type: text/plain; "
				      "version=0.0.4; charset=utf-8\r\n"));
	assert_string_equal(body_of(reply),
			    "# TYPE test_metric gauge\ntest_metric 1\n");
	assert_int_equal(f->renders, 1);
	/* A query string does not change the path. */
	assert_int_equal(get(f->port, "GET", "/metrics?x=1", NULL, reply,
			     sizeof(reply)),
			 200);
	assert_int_equal(get(f->port, "HEAD", "/metrics", NULL, reply,
			     sizeof(reply)),
			 200);
	assert_string_equal(body_of(reply), "");
}

static void landing_page_links_metrics(void **state)
{
	struct fixture *f = *state;
	char reply[4096];

	assert_int_equal(get(f->port, "GET", "/", NULL, reply, sizeof(reply)),
			 200);
	assert_true(has_header(reply, "Content-Type: text/html"));
	assert_non_null(strstr(body_of(reply), "<a href=\"/metrics\">"));
	assert_int_equal(f->renders, 0);
}

static void other_paths_and_methods_are_refused(void **state)
{
	struct fixture *f = *state;
	char reply[4096];

	assert_int_equal(
		get(f->port, "GET", "/nope", NULL, reply, sizeof(reply)), 404);
	assert_int_equal(get(f->port, "GET", "/metrics/", NULL, reply,
			     sizeof(reply)),
			 404);
	assert_int_equal(get(f->port, "POST", "/metrics",
			     "Content-Length: 3\r\n", reply, sizeof(reply)),
			 405);
	assert_true(has_header(reply, "Allow: GET, HEAD\r\n"));
	assert_int_equal(
		get(f->port, "DELETE", "/", NULL, reply, sizeof(reply)), 405);
	assert_int_equal(f->renders, 0);
}

static void render_failure_is_a_500(void **state)
{
	struct fixture *f = *state;
	char reply[4096];

	f->render_error = -ENOMEM;
	assert_int_equal(get(f->port, "GET", "/metrics", NULL, reply,
			     sizeof(reply)),
			 500);
	assert_null(strstr(reply, "test_metric"));
}

static void oversized_requests_are_refused(void **state)
{
	struct fixture *f = *state;
	size_t big = 64 * 1024, prefix_len;
	char *request = malloc(big + 256), reply[4096];
	int status;

	assert_non_null(request);
	/* Headers far past the 16 KiB limit. */
	strcpy(request, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ");
	prefix_len = strlen(request);
	memset(request + prefix_len, 'a', big);
	strcpy(request + prefix_len + big, "\r\n\r\n");
	status = exchange(f->port, request, reply, sizeof(reply));
	assert_true(status == 0 || status == 400 || status == 413 ||
		    status == 414 || status == 431);
	/* A request line far past it. */
	strcpy(request, "GET /");
	memset(request + 5, 'b', big);
	strcpy(request + 5 + big, " HTTP/1.1\r\nHost: x\r\n\r\n");
	status = exchange(f->port, request, reply, sizeof(reply));
	assert_true(status == 0 || status == 400 || status == 413 ||
		    status == 414 || status == 431);
	free(request);
	assert_int_equal(f->renders, 0);
	/* And the server still serves. */
	assert_int_equal(get(f->port, "GET", "/metrics", NULL, reply,
			     sizeof(reply)),
			 200);
}

static double elapsed_s(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - since->tv_sec) +
	       (double)(now.tv_nsec - since->tv_nsec) / 1e9;
}

static void slow_clients_do_not_stall_a_scrape(void **state)
{
	static const char partial[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
	struct fixture *f = *state;
	int slow[SLOW_CLIENTS];
	struct timespec since;
	char reply[4096];

	for (int i = 0; i < SLOW_CLIENTS; i++) {
		slow[i] = connect_to(f->port);
		assert_int_equal(send(slow[i], partial, sizeof(partial) - 1,
				      MSG_NOSIGNAL),
				 sizeof(partial) - 1);
	}
	clock_gettime(CLOCK_MONOTONIC, &since);
	assert_int_equal(get(f->port, "GET", "/metrics", NULL, reply,
			     sizeof(reply)),
			 200);
	assert_true(elapsed_s(&since) < 1.0);
	for (int i = 0; i < SLOW_CLIENTS; i++)
		close(slow[i]);
}

static void idle_connections_time_out(void **state)
{
	struct http_options opts = { .listen_address = "127.0.0.1:0",
				     .timeout_s = 1 };
	struct fixture *f = *state;
	struct timespec since;
	char byte;
	int fd;

	assert_int_equal(start(f, &opts), 0);
	fd = connect_to(f->port);
	assert_int_equal(send(fd, "GET", 3, MSG_NOSIGNAL), 3);
	clock_gettime(CLOCK_MONOTONIC, &since);
	/* The server closes it: recv sees the end, not its own 3 s limit. */
	assert_true(recv(fd, &byte, 1, 0) <= 0);
	assert_true(elapsed_s(&since) < 2.9);
	close(fd);
}

static void connection_limit_per_address(void **state)
{
	struct http_options opts = { .listen_address = "127.0.0.1:0",
				     .connection_limit = 8,
				     .per_ip_connection_limit = 2 };
	struct fixture *f = *state;
	char reply[4096];
	int held[2];

	assert_int_equal(start(f, &opts), 0);
	held[0] = connect_to(f->port);
	held[1] = connect_to(f->port);
	/* Give the server a moment to accept both. */
	usleep(100 * 1000);
	assert_int_equal(
		get(f->port, "GET", "/metrics", NULL, reply, sizeof(reply)), 0);
	close(held[0]);
	close(held[1]);
	usleep(100 * 1000);
	assert_int_equal(get(f->port, "GET", "/metrics", NULL, reply,
			     sizeof(reply)),
			 200);
}

static size_t open_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	size_t count = 0;

	assert_non_null(dir);
	while (readdir(dir))
		count++;
	closedir(dir);
	return count;
}

static void bad_addresses_are_refused(void **state)
{
	struct http_options opts = { 0 };
	struct fixture *f = *state, other = { 0 };
	char why[256];
	size_t fds = open_fds();

	opts.listen_address = "localhost:80";
	assert_int_equal(http_start(&other.server, &opts, render, &other, why,
				    sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, "localhost:80"));
	assert_null(other.server);
	/* The fixture's port is taken. */
	snprintf(why, sizeof(why), "127.0.0.1:%u", f->port);
	opts.listen_address = why;
	{
		char reason[256];

		assert_int_equal(http_start(&other.server, &opts, render,
					    &other, reason, sizeof(reason)),
				 -EADDRINUSE);
		assert_non_null(strstr(reason, "in use"));
	}
	assert_int_equal(open_fds(), fds);
}

static void stop_releases_everything(void **state)
{
	struct http_options opts = { .listen_address = "127.0.0.1:0" };
	struct fixture *f = *state;
	size_t fds = open_fds();
	char reply[4096];

	for (int i = 0; i < 3; i++) {
		assert_int_equal(start(f, &opts), 0);
		assert_int_equal(get(f->port, "GET", "/", NULL, reply,
				     sizeof(reply)),
				 200);
		http_stop(f->server);
		f->server = NULL;
	}
	assert_int_equal(open_fds(), fds);
	http_stop(NULL);
}

static void ipv6_loopback(void **state)
{
	struct http_options opts = { .listen_address = "[::1]:0" };
	struct sockaddr_in6 addr = { .sin6_family = AF_INET6,
				     .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct fixture *f = *state;
	char reply[512] = "";
	ssize_t n;
	int fd;

	if (start(f, &opts))
		skip(); /* no IPv6 on this host */
	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	addr.sin6_port = htons(f->port);
	assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)),
			 0);
	n = send(fd, "GET / HTTP/1.0\r\n\r\n", 18, MSG_NOSIGNAL);
	assert_int_equal(n, 18);
	assert_true(recv(fd, reply, sizeof(reply) - 1, 0) > 12);
	assert_memory_equal(reply, "HTTP/1.", 7);
	assert_memory_equal(reply + 9, "200", 3);
	close(fd);
}

/* ":PORT" is every address, IPv4 ones included. */
static void every_address_takes_ipv4(void **state)
{
	struct http_options opts = { .listen_address = ":0" };
	struct fixture *f = *state;
	char reply[4096];

	if (start(f, &opts))
		skip(); /* no IPv6 on this host */
	assert_int_equal(get(f->port, "GET", "/", NULL, reply, sizeof(reply)),
			 200);
}

static void addresses_parse(void **state)
{
	struct sockaddr_storage addr;
	socklen_t len;

	assert_int_equal(endpoints_parse_address("127.0.0.1:19857", &addr, &len), 0);
	assert_int_equal(addr.ss_family, AF_INET);
	assert_int_equal(endpoints_address_port(&addr), 19857);
	assert_int_equal(endpoints_parse_address("[::1]:9", &addr, &len), 0);
	assert_int_equal(addr.ss_family, AF_INET6);
	assert_int_equal(endpoints_address_port(&addr), 9);
	assert_int_equal(endpoints_parse_address(":8080", &addr, &len), 0);
	assert_int_equal(addr.ss_family, AF_INET6);
	assert_int_equal(endpoints_parse_address("0.0.0.0:0", &addr, &len), 0);
	static const char *const bad[] = {
		"127.0.0.1",	"127.0.0.1:",	"127.0.0.1:65536", "::1:80",
		"[::1]80",	"[::1]:",	"host:80",	   "1.2.3:80",
		"127.0.0.1:-1", "127.0.0.1:8 ", "[127.0.0.1]:80",  "",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (endpoints_parse_address(bad[i], &addr, &len) != -EINVAL)
			fail_msg("accepted '%s'", bad[i]);
}

/* Basic auth: a web.yml with one user whose hash is made here. */
static void write_web_config_cost(struct fixture *f, unsigned long cost,
				  const char *extra, char *path, size_t size)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data data;
	const char *hash;
	FILE *file;

	memset(&data, 0, sizeof(data));
	assert_non_null(
		crypt_gensalt_rn("$2b$", cost, NULL, 0, salt, sizeof(salt)));
	hash = crypt_r("s3cret", salt, &data);
	assert_non_null(hash);
	assert_memory_equal(hash, "$2b$", 4);
	snprintf(path, size, "%s/web.yml", f->dir);
	file = fopen(path, "w");
	assert_non_null(file);
	fprintf(file, "basic_auth_users:\n  alice: %s\n%s", hash,
		extra ? extra : "");
	fclose(file);
}

static void write_web_config(struct fixture *f, const char *extra, char *path,
			     size_t size)
{
	write_web_config_cost(f, 5, extra, path, size);
}

static void base64(const char *in, char *out)
{
	static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				     "abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t len = strlen(in), o = 0;

	for (size_t i = 0; i < len; i += 3) {
		uint32_t chunk = (uint32_t)(unsigned char)in[i] << 16;

		if (i + 1 < len)
			chunk |= (uint32_t)(unsigned char)in[i + 1] << 8;
		if (i + 2 < len)
			chunk |= (unsigned char)in[i + 2];
		out[o++] = digits[chunk >> 18 & 63];
		out[o++] = digits[chunk >> 12 & 63];
		out[o++] = i + 1 < len ? digits[chunk >> 6 & 63] : '=';
		out[o++] = i + 2 < len ? digits[chunk & 63] : '=';
	}
	out[o] = '\0';
}

static const char *credentials(const char *user_password, char *header)
{
	char encoded[128];

	base64(user_password, encoded);
	sprintf(header, "Authorization: Basic %s\r\n", encoded);
	return header;
}

static void basic_auth_guards_every_path(void **state)
{
	struct http_options opts = { .listen_address = "127.0.0.1:0" };
	static const char *const paths[] = { "/metrics", "/", "/nope" };
	struct fixture *f = *state;
	char path[128], reply[4096], right[160], wrong[160], nobody[160];

	write_web_config(f, NULL, path, sizeof(path));
	opts.web_config_path = path;
	assert_int_equal(start(f, &opts), 0);
	credentials("alice:s3cret", right);
	credentials("alice:s3creT", wrong);
	credentials("bob:s3cret", nobody);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		assert_int_equal(get(f->port, "GET", paths[i], NULL, reply,
				     sizeof(reply)),
				 401);
		assert_true(has_header(reply, "WWW-Authenticate: Basic "
					      "realm=\"kvmwarden\""));
		assert_int_equal(get(f->port, "GET", paths[i], wrong, reply,
				     sizeof(reply)),
				 401);
		assert_int_equal(get(f->port, "GET", paths[i], nobody, reply,
				     sizeof(reply)),
				 401);
		assert_int_equal(get(f->port, "GET", paths[i],
				     "Authorization: Basic !!!\r\n", reply,
				     sizeof(reply)),
				 401);
	}
	assert_int_equal(f->renders, 0);
	assert_int_equal(get(f->port, "GET", "/metrics", right, reply,
			     sizeof(reply)),
			 200);
	assert_int_equal(f->renders, 1);
	assert_int_equal(get(f->port, "GET", "/", right, reply, sizeof(reply)),
			 200);
	assert_int_equal(
		get(f->port, "GET", "/nope", right, reply, sizeof(reply)), 404);
	assert_int_equal(get(f->port, "POST", "/metrics", right, reply,
			     sizeof(reply)),
			 405);
}

static void bad_web_config_is_refused(void **state)
{
	struct http_options opts = { .listen_address = "127.0.0.1:0" };
	struct fixture *f = *state;
	char path[128], why[256];
	int err;

	write_web_config(f, "tls_server_config:\n  cert_file: cert.pem\n", path,
			 sizeof(path));
	opts.web_config_path = path;
	assert_int_equal(http_start(&f->server, &opts, render, f, why,
				    sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, "web.yml:3: tls_server_config: needs "
				    "both cert_file and key_file"));
	/* Files that are not a certificate and key. */
	write_web_config(f,
			 "tls_server_config:\n  cert_file: web.yml\n"
			 "  key_file: web.yml\n",
			 path, sizeof(path));
	err = http_start(&f->server, &opts, render, f, why, sizeof(why));
	assert_true(err == -EINVAL || err == -ENOTSUP);
	assert_non_null(strstr(why, "TLS"));
	opts.web_config_path = "/nonexistent/web.yml";
	assert_int_equal(http_start(&f->server, &opts, render, f, why,
				    sizeof(why)),
			 -ENOENT);
	assert_non_null(strstr(why, "/nonexistent/web.yml: cannot open"));
	assert_null(f->server);
}

static bool have_tools(void)
{
	return system("command -v openssl >/dev/null && "
		      "command -v curl >/dev/null") == 0;
}

static void tls_serves_https(void **state)
{
	struct http_options opts = { .listen_address = "127.0.0.1:0" };
	struct fixture *f = *state;
	char path[128], command[512], output[256] = "";
	FILE *pipe;

	if (!have_tools())
		skip(); /* openssl and curl check what is served */
	snprintf(command, sizeof(command),
		 "cd '%s' && openssl req -x509 -newkey ec -pkeyopt "
		 "ec_paramgen_curve:P-256 -nodes -subj /CN=localhost -days 1 "
		 "-keyout key.pem -out cert.pem 2>/dev/null",
		 f->dir);
	assert_int_equal(system(command), 0);
	/* Relative paths are taken from web.yml's directory. */
	write_web_config(f,
			 "tls_server_config:\n  cert_file: cert.pem\n"
			 "  key_file: key.pem\n",
			 path, sizeof(path));
	opts.web_config_path = path;
	assert_int_equal(start(f, &opts), 0);
	snprintf(
		command, sizeof(command),
		"curl -sk --max-time 5 -u alice:s3cret -o /dev/null -w "
		"'%%{http_code} %%{content_type}' https://127.0.0.1:%u/metrics",
		f->port);
	pipe = popen(command, "r");
	assert_non_null(pipe);
	assert_non_null(fgets(output, sizeof(output), pipe));
	pclose(pipe);
	assert_string_equal(output,
			    "200 text/plain; version=0.0.4; charset=utf-8");
	/* Plain HTTP to the TLS port gets no page. */
	assert_int_equal(get(f->port, "GET", "/metrics", NULL, output,
			     sizeof(output)),
			 0);
	assert_int_equal(f->renders, 1);
}

struct attacker {
	uint16_t port;
	volatile bool *stop;
	int answers_401, answers_429;
};

static void *attack(void *arg)
{
	struct attacker *a = arg;
	char header[160], reply[1024];

	credentials("alice:guess", header);
	while (!*a->stop) {
		int status = get(a->port, "GET", "/metrics", header, reply,
				 sizeof(reply));

		a->answers_401 += status == 401;
		a->answers_429 += status == 429;
	}
	return NULL;
}

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Issue 14: one server thread ran bcrypt for every request with a
 * password, so a few clients guessing at cost 12 held every scrape up
 * by a bcrypt run or more. Now the scraper's verified credential is
 * remembered and the guessers get a bounded share of bcrypt time. */
static void guessing_clients_do_not_stall_a_scrape(void **state)
{
	enum { ATTACKERS = 4, SCRAPES = 15 };
	struct http_options opts = { .listen_address = "127.0.0.1:0" };
	struct fixture *f = *state;
	struct attacker attackers[ATTACKERS];
	pthread_t threads[ATTACKERS];
	volatile bool stop = false;
	char path[128], reply[4096], right[160], salt[64];
	double bcrypt_s, took[SCRAPES];
	struct crypt_data data;
	struct timespec since;
	int busy = 0;

	write_web_config_cost(f, 12, NULL, path, sizeof(path));
	/* What one bcrypt run at cost 12 takes on this machine now. */
	memset(&data, 0, sizeof(data));
	assert_non_null(
		crypt_gensalt_rn("$2b$", 12, NULL, 0, salt, sizeof(salt)));
	clock_gettime(CLOCK_MONOTONIC, &since);
	assert_non_null(crypt_r("x", salt, &data));
	bcrypt_s = elapsed_s(&since);
	opts.web_config_path = path;
	assert_int_equal(start(f, &opts), 0);
	credentials("alice:s3cret", right);
	assert_int_equal(get(f->port, "GET", "/metrics", right, reply,
			     sizeof(reply)),
			 200);
	for (int i = 0; i < ATTACKERS; i++) {
		attackers[i] =
			(struct attacker){ .port = f->port, .stop = &stop };
		assert_int_equal(pthread_create(&threads[i], NULL, attack,
						&attackers[i]),
				 0);
	}
	usleep(300000);
	for (int i = 0; i < SCRAPES; i++) {
		clock_gettime(CLOCK_MONOTONIC, &since);
		assert_int_equal(get(f->port, "GET", "/metrics", right, reply,
				     sizeof(reply)),
				 200);
		took[i] = elapsed_s(&since);
		usleep(100000);
	}
	stop = true;
	for (int i = 0; i < ATTACKERS; i++) {
		pthread_join(threads[i], NULL);
		busy += attackers[i].answers_429;
	}
	qsort(took, SCRAPES, sizeof(took[0]), compare_double);
	print_message("bcrypt at cost 12: %.0f ms; scrapes under attack: "
		      "median %.1f ms, max %.1f ms; guesses refused as busy: "
		      "%d\n",
		      bcrypt_s * 1e3, took[SCRAPES / 2] * 1e3,
		      took[SCRAPES - 1] * 1e3, busy);
	/* Each scrape paid a bcrypt run of its own before. */
	assert_true(took[SCRAPES / 2] < bcrypt_s / 2);
	assert_true(busy > 0);
}

/* A bcrypt cost above 12 is refused when the server starts. */
static void expensive_hashes_are_refused(void **state)
{
	struct http_options opts = { .listen_address = "127.0.0.1:0" };
	struct fixture *f = *state;
	char path[128], why[256];
	FILE *file;

	snprintf(path, sizeof(path), "%s/web.yml", f->dir);
	file = fopen(path, "w");
	assert_non_null(file);
	fputs("basic_auth_users:\n  alice: $2b$31$abcdefghijklmnopqrstuu"
	      "abcdefghijklmnopqrstuvwxyzABCDE\n",
	      file);
	fclose(file);
	opts.web_config_path = path;
	assert_int_equal(http_start(&f->server, &opts, render, f, why,
				    sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, "cost 31"));
}

static bool have_gnutls_cli(void)
{
	return system("command -v gnutls-cli >/dev/null && "
		      "command -v openssl >/dev/null") == 0;
}

static int handshake(uint16_t port, const char *version)
{
	char command[512];

	/* Debian's OpenSSL client refuses TLS 1.1 by itself; GnuTLS's can
	 * be told to offer exactly one version. */
	snprintf(command, sizeof(command),
		 "gnutls-cli --insecure --logfile=/dev/null "
		 "--priority 'NORMAL:-VERS-ALL:+VERS-%s' -p %u 127.0.0.1 "
		 "</dev/null >/dev/null 2>&1",
		 version, port);
	return system(command);
}

static void tls_below_1_2_is_refused(void **state)
{
	struct http_options opts = { .listen_address = "127.0.0.1:0" };
	struct fixture *f = *state;
	char path[128], command[512];

	if (!have_gnutls_cli())
		skip(); /* gnutls-bin (scripts/deps.sh test) */
	snprintf(command, sizeof(command),
		 "cd '%s' && openssl req -x509 -newkey ec -pkeyopt "
		 "ec_paramgen_curve:P-256 -nodes -subj /CN=localhost -days 1 "
		 "-keyout key.pem -out cert.pem 2>/dev/null",
		 f->dir);
	assert_int_equal(system(command), 0);
	write_web_config(f,
			 "tls_server_config:\n  cert_file: cert.pem\n"
			 "  key_file: key.pem\n",
			 path, sizeof(path));
	opts.web_config_path = path;
	assert_int_equal(start(f, &opts), 0);
	/* The client works at all: 1.2 and 1.3 shake hands... */
	assert_int_equal(handshake(f->port, "TLS1.2"), 0);
	assert_int_equal(handshake(f->port, "TLS1.3"), 0);
	/* ...and 1.1 and 1.0 are refused. */
	assert_int_not_equal(handshake(f->port, "TLS1.1"), 0);
	assert_int_not_equal(handshake(f->port, "TLS1.0"), 0);
}

int main(void)
{
#define PLAIN(test) cmocka_unit_test_setup_teardown(test, setup_plain, teardown)
#define BARE(test) cmocka_unit_test_setup_teardown(test, setup, teardown)
	const struct CMUnitTest tests[] = {
		PLAIN(metrics_are_served),
		PLAIN(landing_page_links_metrics),
		PLAIN(other_paths_and_methods_are_refused),
		PLAIN(render_failure_is_a_500),
		PLAIN(oversized_requests_are_refused),
		PLAIN(slow_clients_do_not_stall_a_scrape),
		BARE(idle_connections_time_out),
		BARE(connection_limit_per_address),
		PLAIN(bad_addresses_are_refused),
		BARE(stop_releases_everything),
		BARE(ipv6_loopback),
		BARE(every_address_takes_ipv4),
		cmocka_unit_test(addresses_parse),
		BARE(basic_auth_guards_every_path),
		BARE(bad_web_config_is_refused),
		BARE(tls_serves_https),
		BARE(guessing_clients_do_not_stall_a_scrape),
		BARE(expensive_hashes_are_refused),
		BARE(tls_below_1_2_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
