// SPDX-License-Identifier: GPL-2.0-only
/*
 * top's data source (see top_source.h): a window from the agent's socket
 * or from the in-process measurer the command set, the vCPUs' last CPUs
 * from /proc, and the agent's socket from the configuration.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "base/log.h"
#include "config/config.h"
#include "serve/api.h"
#include "top/top_model.h"
#include "top/top_source.h"

void top_source_init(struct top_source *src, const char *socket_path)
{
	memset(src, 0, sizeof(*src));
	src->socket_path = socket_path;
}

int top_source_connect(struct top_source *src)
{
	struct json_object *answer = NULL;
	int err;

	err = api_client_request(src->socket_path, "status",
				 TOP_REQUEST_TIMEOUT_MS, &answer);
	json_object_put(answer);
	if (!err)
		src->agent = true;
	return err;
}

void top_source_measure_with(struct top_source *src, top_measure_fn measure,
			     void *measurer)
{
	src->measure = measure;
	src->measurer = measurer;
}

const char *top_source_label(const struct top_source *src)
{
	return src->agent ? "agent" : "local";
}

struct json_object *top_source_fetch(struct top_source *src, char *why,
				     size_t why_size)
{
	struct json_object *answer = NULL, *ok, *snapshot = NULL;
	char *text = NULL;
	int err;

	if (!src->agent) {
		err = src->measure(src->measurer, &text);
		if (err) {
			snprintf(why, why_size, "measuring failed: %s",
				 strerror(-err));
			return NULL;
		}
		snapshot = json_tokener_parse(text);
		free(text);
		if (!snapshot)
			snprintf(why, why_size, "window not readable");
		return snapshot;
	}
	err = api_client_request(src->socket_path, "snapshot",
				 TOP_REQUEST_TIMEOUT_MS, &answer);
	if (err) {
		snprintf(why, why_size, "agent not answering on %s: %s",
			 src->socket_path, strerror(-err));
		return NULL;
	}
	if (!json_object_object_get_ex(answer, "ok", &ok) ||
	    !json_object_get_boolean(ok) ||
	    !json_object_object_get_ex(answer, "snapshot", &snapshot)) {
		struct json_object *error = NULL;

		json_object_object_get_ex(answer, "error", &error);
		snprintf(why, why_size, "agent: %s",
			 error ? json_object_get_string(error) :
				 "unexpected answer");
		json_object_put(answer);
		return NULL;
	}
	json_object_get(snapshot);
	json_object_put(answer);
	return snapshot;
}

/* The CPU a vCPU thread last ran on, from /proc (field 39 of stat). The
 * window does not carry it: it changes faster than windows do. */
static int thread_cpu(int pid, int tid)
{
	char path[64], text[1024], *field;
	FILE *file;
	size_t len;
	int cpu = -1;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	file = fopen(path, "r");
	if (!file)
		return -1;
	len = fread(text, 1, sizeof(text) - 1, file);
	fclose(file);
	text[len] = '\0';
	/* The name may hold spaces and ')': count from the last ')'. */
	field = strrchr(text, ')');
	for (int i = 2; field && i < 39; i++)
		field = strchr(field + 1, ' ');
	if (field && sscanf(field + 1, "%d", &cpu) != 1)
		cpu = -1;
	return cpu;
}

void top_source_fill_cpus(struct top_guest *guest)
{
	for (size_t i = 0; i < guest->vcpus_len; i++)
		if (guest->vcpus[i].cpu < 0)
			guest->vcpus[i].cpu =
				thread_cpu(guest->pid, guest->vcpus[i].tid);
}

int top_source_socket_from_config(const char *path, bool explicit_path,
				  char *out, size_t size)
{
	struct config config;
	char errors[2048];

	if (!explicit_path && access(path, F_OK)) {
		snprintf(out, size, "%s", API_DEFAULT_SOCKET);
		return 0;
	}
	if (config_load(&config, path, errors, sizeof(errors))) {
		log_say("%s", errors);
		if (explicit_path)
			return -EINVAL;
		/* Only the socket's path was wanted from it: a broken file
		 * the operator did not name should not block a look. */
		log_say("using %s\n", API_DEFAULT_SOCKET);
		snprintf(out, size, "%s", API_DEFAULT_SOCKET);
		return 0;
	}
	if (!config.socket_path[0]) {
		log_say("%s: socket_path is '' (the agent "
			"serves no socket)\n",
			path);
		snprintf(out, size, "%s", API_DEFAULT_SOCKET);
		return 0;
	}
	snprintf(out, size, "%s", config.socket_path);
	return 0;
}
