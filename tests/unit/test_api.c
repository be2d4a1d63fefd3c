// SPDX-License-Identifier: GPL-2.0-only
/* The local socket: request framing and parsing (garbage, oversized, half
 * messages), and a real server on a temporary path that keeps answering
 * while bad peers hang around. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "serve/api.h"

static void feed(struct api_inbuf *in, const char *text)
{
	size_t len = strlen(text);

	assert_true(in->used + len <= sizeof(in->data));
	memcpy(in->data + in->used, text, len);
	in->used += len;
}

static void lines_come_out_whole(void **state)
{
	struct api_inbuf in = { .used = 0 };
	char line[API_MAX_REQUEST];

	feed(&in, "{\"request\":");
	assert_int_equal(api_proto_take_line(&in, line), -EAGAIN);
	feed(&in, "\"status\"}\n{\"req");
	assert_int_equal(api_proto_take_line(&in, line), 20);
	assert_string_equal(line, "{\"request\":\"status\"}");
	/* The half of the next request stays for later. */
	assert_int_equal(api_proto_take_line(&in, line), -EAGAIN);
	assert_int_equal(in.used, 5);
	feed(&in, "uest\":\"snapshot\"}\r\n");
	assert_int_equal(api_proto_take_line(&in, line), 22);
	assert_string_equal(line, "{\"request\":\"snapshot\"}");
	assert_int_equal(in.used, 0);
}

static void oversized_request_is_refused(void **state)
{
	struct api_inbuf in = { .used = 0 };
	char line[API_MAX_REQUEST];

	memset(in.data, 'x', sizeof(in.data));
	in.used = sizeof(in.data) - 1;
	assert_int_equal(api_proto_take_line(&in, line), -EAGAIN);
	in.used = sizeof(in.data);
	assert_int_equal(api_proto_take_line(&in, line), -EMSGSIZE);
	/* The largest allowed request: a newline in the last byte. */
	in.data[sizeof(in.data) - 1] = '\n';
	assert_int_equal(api_proto_take_line(&in, line), API_MAX_REQUEST - 1);
}

static int parse(const char *text, char *why)
{
	return api_proto_parse_request(text, strlen(text), why, 96);
}

static void requests_are_parsed(void **state)
{
	char why[96];

	assert_int_equal(parse("{\"request\":\"snapshot\"}", why),
			 API_REQUEST_SNAPSHOT);
	assert_int_equal(parse(" { \"request\" : \"status\", \"x\": 1 } ", why),
			 API_REQUEST_STATUS);
}

static void garbage_is_refused_with_a_reason(void **state)
{
	static const char *const garbage[] = {
		"",
		"hello",
		"\x01\x02\xff\xfe",
		"{\"request\":\"snap", /* a half message */
		"{\"request\":\"snapshot\"} trailing",
		"{\"request\":\"snapshot\"}{}",
		"[\"snapshot\"]",
		"\"snapshot\"",
		"{}",
		"{\"request\":7}",
		"{\"request\":null}",
		"{\"request\":\"delete-everything\"}",
	};

	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		char why[96] = "";

		assert_int_equal(parse(garbage[i], why), -EINVAL);
		assert_true(strlen(why) > 0);
	}
}

/* ------------------------------------------------------------ server */

static char socket_dir[64];
static char socket_path[100];

static int connect_raw(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", socket_path);
	assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)),
			 0);
	return fd;
}

static bool answer_ok(const char *request)
{
	struct json_object *answer = NULL, *ok;
	bool result;

	if (api_client_request(socket_path, request, 2000, &answer))
		return false;
	result = json_object_object_get_ex(answer, "ok", &ok) &&
		 json_object_get_boolean(ok);
	json_object_put(answer);
	return result;
}

static uint64_t status_field(const char *key)
{
	struct json_object *answer = NULL, *status, *value;
	uint64_t result = UINT64_MAX;

	if (api_client_request(socket_path, "status", 2000, &answer))
		return result;
	if (json_object_object_get_ex(answer, "status", &status) &&
	    json_object_object_get_ex(status, key, &value))
		result = json_object_get_uint64(value);
	json_object_put(answer);
	return result;
}

static int start(struct api_server **server, uint32_t timeout_ms)
{
	struct api_options opts = { .path = socket_path,
				    .client_timeout_ms = timeout_ms };
	char why[256] = "";
	int err = api_start(server, &opts, why, sizeof(why));

	if (err)
		fprintf(stderr, "api_start: %s\n", why);
	return err;
}

static int make_dir(void **state)
{
	snprintf(socket_dir, sizeof(socket_dir), "/tmp/kvmwarden-ut-XXXXXX");
	if (!mkdtemp(socket_dir))
		return -1;
	snprintf(socket_path, sizeof(socket_path), "%s/api.sock", socket_dir);
	return 0;
}

static int remove_dir(void **state)
{
	unlink(socket_path);
	rmdir(socket_dir);
	return 0;
}

static void server_answers_and_cleans_up(void **state)
{
	struct api_server *server;
	struct api_status status = { .mode = "monitor", .guests = 2, .seq = 7 };
	struct json_object *answer = NULL, *snapshot, *value;
	struct stat st;

	assert_int_equal(start(&server, 0), 0);
	assert_int_equal(stat(socket_path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0660);
	/* Before the first window: a clear refusal, not a hang. */
	assert_false(answer_ok("snapshot"));
	assert_true(answer_ok("status"));
	assert_int_equal(
		api_publish(server, "{\"seq\":7,\"guests\":[]}", &status), 0);
	assert_int_equal(
		api_client_request(socket_path, "snapshot", 2000, &answer), 0);
	assert_true(json_object_object_get_ex(answer, "snapshot", &snapshot));
	assert_true(json_object_object_get_ex(snapshot, "seq", &value));
	assert_int_equal(json_object_get_int(value), 7);
	json_object_put(answer);
	assert_int_equal(status_field("guests"), 2);
	assert_false(answer_ok("reboot"));
	api_stop(server);
	assert_int_equal(stat(socket_path, &st), -1);
}

static void second_agent_is_refused(void **state)
{
	struct api_server *first, *second = NULL;

	assert_int_equal(start(&first, 0), 0);
	assert_int_equal(start(&second, 0), -EADDRINUSE);
	assert_null(second);
	assert_true(answer_ok("status"));
	api_stop(first);
	/* A stale file (an agent that died) is replaced. */
	assert_int_equal(mknod(socket_path, S_IFSOCK | 0600, 0), 0);
	assert_int_equal(start(&first, 0), 0);
	assert_true(answer_ok("status"));
	api_stop(first);
}

static void sleep_ms(long ms)
{
	struct timespec span = { .tv_sec = ms / 1000,
				 .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&span, NULL);
}

static void bad_peers_do_not_disturb(void **state)
{
	struct api_server *server;
	struct api_status status = { .mode = "monitor" };
	char big[API_MAX_REQUEST + 100], reply[256];
	int garbage, half, deaf, oversized, extra[API_MAX_CLIENTS];
	char *window;
	ssize_t n;

	assert_int_equal(start(&server, 300), 0);
	/* A large window, so a peer that never reads fills its buffer. */
	window = malloc(1 << 20);
	assert_non_null(window);
	memset(window, ' ', 1 << 20);
	memcpy(window, "{\"pad\":\"", 8);
	memcpy(window + (1 << 20) - 3, "\"}", 3);
	assert_int_equal(api_publish(server, window, &status), 0);
	free(window);

	garbage = connect_raw();
	assert_true(write(garbage, "\x01\x02 nonsense\n", 12) == 12);
	n = read(garbage, reply, sizeof(reply) - 1);
	assert_true(n > 0);
	reply[n] = '\0';
	assert_non_null(strstr(reply, "\"ok\":false"));

	half = connect_raw();
	assert_true(write(half, "{\"request\":\"sta", 15) == 15);

	deaf = connect_raw();
	for (int i = 0; i < 50; i++)
		if (write(deaf, "{\"request\":\"snapshot\"}\n", 23) != 23)
			break;

	oversized = connect_raw();
	memset(big, 'x', sizeof(big));
	assert_true(write(oversized, big, sizeof(big)) > 0);

	/* Everyone else still gets answers, big ones included. */
	for (int i = 0; i < 5; i++) {
		assert_true(answer_ok("status"));
		assert_true(answer_ok("snapshot"));
	}
	n = read(oversized, reply, sizeof(reply) - 1);
	assert_true(n > 0);
	reply[n] = '\0';
	assert_non_null(strstr(reply, "longer than"));

	/* The half message and the deaf peer are dropped at the timeout. */
	sleep_ms(1500);
	assert_true(status_field("dropped_clients") >= 3);
	assert_int_equal(read(half, reply, sizeof(reply)), 0);

	/* A full house is told so and closed; existing clients go on. */
	for (int i = 0; i < API_MAX_CLIENTS; i++)
		extra[i] = connect_raw();
	sleep_ms(100);
	{
		int late = connect_raw();

		n = read(late, reply, sizeof(reply) - 1);
		assert_true(n > 0);
		reply[n] = '\0';
		assert_non_null(strstr(reply, "too many clients"));
		close(late);
	}
	assert_true(write(extra[0], "{\"request\":\"status\"}\n", 21) == 21);
	n = read(extra[0], reply, sizeof(reply) - 1);
	assert_true(n > 0);
	reply[n] = '\0';
	assert_non_null(strstr(reply, "\"ok\":true"));
	for (int i = 0; i < API_MAX_CLIENTS; i++)
		close(extra[i]);
	close(garbage);
	close(half);
	close(deaf);
	close(oversized);
	api_stop(server);
}

/* Requests sent together are answered in order, one line each. */
static void pipelined_requests_are_answered_in_order(void **state)
{
	static const char three[] = "{\"request\":\"status\"}\n"
				    "{\"request\":\"snapshot\"}\n"
				    "{\"request\":\"status\"}\n";
	struct api_server *server;
	struct api_status status = { .mode = "monitor" };
	char reply[4096];
	size_t used = 0;
	int fd, lines = 0;

	assert_int_equal(start(&server, 0), 0);
	assert_int_equal(api_publish(server, "{\"seq\":1}", &status), 0);
	fd = connect_raw();
	assert_true(write(fd, three, sizeof(three) - 1) ==
		    (ssize_t)sizeof(three) - 1);
	while (lines < 3 && used < sizeof(reply) - 1) {
		ssize_t n = read(fd, reply + used, sizeof(reply) - 1 - used);

		assert_true(n > 0);
		for (ssize_t i = 0; i < n; i++)
			lines += reply[used + (size_t)i] == '\n';
		used += (size_t)n;
	}
	reply[used] = '\0';
	assert_int_equal(lines, 3);
	assert_true(strstr(reply, "\"request\":\"status\"") <
		    strstr(reply, "\"request\":\"snapshot\""));
	close(fd);
	api_stop(server);
}

/* A small answer fits in the socket: a peer that never reads is still
 * dropped, because the next request waits until it has taken the last
 * answer, and writing is no progress of the peer's. */
static void deaf_peer_with_small_answers_is_dropped(void **state)
{
	struct api_server *server;
	struct api_status status = { .mode = "monitor" };
	int deaf, sent = 0;

	assert_int_equal(start(&server, 300), 0);
	assert_int_equal(api_publish(server, "{\"seq\":1}", &status), 0);
	deaf = connect_raw();
	for (int i = 0; i < 100; i++)
		sent += write(deaf, "{\"request\":\"snapshot\"}\n", 23) == 23;
	assert_int_equal(sent, 100);
	sleep_ms(1000);
	assert_true(answer_ok("status"));
	assert_int_equal(status_field("dropped_clients"), 1);
	/* It got the first answer only, then the end. */
	{
		char reply[4096];
		ssize_t n = read(deaf, reply, sizeof(reply) - 1);

		assert_true(n > 0);
		reply[n] = '\0';
		assert_non_null(strstr(reply, "\"snapshot\""));
		assert_ptr_equal(strchr(reply, '\n'), reply + n - 1);
		/* The end: EOF, or a reset when the server closed with
		 * requests of the peer still unread (the kernel's choice). */
		n = read(deaf, reply, sizeof(reply));
		assert_true(n == 0 || (n < 0 && errno == ECONNRESET));
	}
	close(deaf);
	api_stop(server);
}

static void bad_options_are_refused(void **state)
{
	struct api_options opts = { .path = "" };
	struct api_server *server = NULL;
	char why[256];

	assert_int_equal(api_start(&server, &opts, why, sizeof(why)), -EINVAL);
	opts.path = socket_path;
	opts.group = "no-such-group-kvmwarden";
	assert_int_equal(api_start(&server, &opts, why, sizeof(why)), -ENOENT);
	assert_non_null(strstr(why, "no-such-group-kvmwarden"));
	assert_null(server);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lines_come_out_whole),
		cmocka_unit_test(oversized_request_is_refused),
		cmocka_unit_test(requests_are_parsed),
		cmocka_unit_test(garbage_is_refused_with_a_reason),
		cmocka_unit_test_setup_teardown(server_answers_and_cleans_up,
						make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(second_agent_is_refused,
						make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(bad_peers_do_not_disturb,
						make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(
			pipelined_requests_are_answered_in_order, make_dir,
			remove_dir),
		cmocka_unit_test_setup_teardown(
			deaf_peer_with_small_answers_is_dropped, make_dir,
			remove_dir),
		cmocka_unit_test_setup_teardown(bad_options_are_refused,
						make_dir, remove_dir),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
