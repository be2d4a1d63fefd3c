/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Where top's windows come from: the running agent's socket (api.h), or a
 * measurer in the same process that builds the same document (the top
 * command's, cmd/top.c). The view reads window documents only; loading
 * BPF and tracking guests is the command's work, not the view's. Also the
 * agent's socket from the configuration, which `status` asks for too.
 */
#ifndef KVMWARDEN_TOP_SOURCE_H
#define KVMWARDEN_TOP_SOURCE_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>

/* How long top and status wait for the agent's answer. */
#define TOP_REQUEST_TIMEOUT_MS 2000

struct json_object;
struct top_guest;

/* Builds one window document in-process: JSON text in *text (the caller
 * frees it), 0 or -errno. */
typedef int (*top_measure_fn)(void *measurer, char **text);

struct top_source {
	const char *socket_path;
	bool agent; /* reading the agent's socket, else measuring here */
	top_measure_fn measure; /* in-process only */
	void *measurer;
};

/* Neither connected nor measuring yet. */
void top_source_init(struct top_source *src, const char *socket_path);
/* Asks the agent on the socket for its status: 0 when it answers, and
 * windows come from it from then on; else -errno. */
int top_source_connect(struct top_source *src);
/* Windows come from `measure` from now on. */
void top_source_measure_with(struct top_source *src, top_measure_fn measure,
			     void *measurer);
/* "agent" or "local", as the host line shows it. */
const char *top_source_label(const struct top_source *src);
/* One window document, or NULL with a reason in `why`. */
struct json_object *top_source_fetch(struct top_source *src, char *why,
				     size_t why_size);
/* Fills the vCPUs' last CPUs that the window left unknown, from /proc. */
void top_source_fill_cpus(struct top_guest *guest);

/* The agent's socket_path from the configuration at `path` (the default
 * socket when the file is missing and was not named, or is broken and was
 * not named). Returns 0, or -EINVAL for a named file that is broken. */
int top_source_socket_from_config(const char *path, bool explicit_path,
				  char *out, size_t size);

#endif
