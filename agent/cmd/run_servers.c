// SPDX-License-Identifier: GPL-2.0-only
/*
 * `run`'s servers and privileges (cmd/run_servers.h): bound while the agent
 * still holds its capabilities, served from threads started only after it
 * dropped them.
 */
#include <errno.h>
#include <linux/capability.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "cmd/run_servers.h"
#include "load/privilege.h"

/* The metrics endpoint, when listen_address names one. Failing to serve
 * what the operator configured is fatal: better than a silent gap. */
int run_servers_open_http(struct http_server **http,
			  const struct config *config, struct metrics *metrics)
{
	struct http_options opts = { .listen_address = config->listen_address,
				     .web_config_path = config->web_config };
	char why[512];

	*http = NULL;
	if (!config->listen_address[0])
		return 0;
	/* Bound only: its thread starts in serve() once privileges are
	 * dropped. */
	if (http_open(http, &opts, metrics_render, metrics, why, sizeof(why))) {
		log_err("%s\n", why);
		return 1;
	}
	return 0;
}

/* Attaching needed CAP_PERFMON (and CAP_BPF); from here on only what
 * measuring and enforcing use is kept, so a compromised agent can do less,
 * and the agent checks that it can no longer load a BPF program. */
void run_servers_drop_privileges(struct loader *loader, bool keep_net_admin)
{
	bool keep_bpf =
		privilege_bpf_fd_ops_need_cap(loader_probe_map_fd(loader));
	uint64_t keep = privilege_keep_mask(keep_bpf);
	int err;

	if (keep_net_admin)
		keep |= 1ULL << CAP_NET_ADMIN;
	err = privilege_drop(keep);

	if (err) {
		log_warn("cannot drop capabilities: %s\n", strerror(-err));
		return;
	}
	log_info("dropped the capabilities attaching needed%s\n",
		 keep_bpf ? " (CAP_BPF stays: this kernel wants it for every "
			    "bpf() call)" :
			    ", CAP_BPF included");
	if (keep_bpf)
		return; /* with CAP_BPF, loading stays possible: nothing to prove */
	err = privilege_check_bpf_load_denied();
	if (err == 0)
		log_info("loading a BPF program is now refused\n");
	else if (err == -EEXIST)
		log_warn("loading a BPF program still works "
			 "(kernel.unprivileged_bpf_disabled is 0?)\n");
	else
		log_warn("BPF load probe failed: %s\n", strerror(-err));
}

/* The local socket, when socket_path names one; failing to serve it is
 * fatal for the same reason as the endpoint's. */
int run_servers_open_api(struct api_server **api, const struct config *config)
{
	struct api_options opts = { .path = config->socket_path,
				    .group = config->socket_group };
	char why[512];

	*api = NULL;
	if (!config->socket_path[0])
		return 0;
	if (api_open(api, &opts, why, sizeof(why))) {
		log_err("%s\n", why);
		return 1;
	}
	return 0;
}

/* Capabilities are per thread, and a thread keeps what it had when it
 * started: the servers' threads, which talk to the network and to local
 * clients, start only after drop_privileges(), and the agent checks that
 * none of its threads holds more than the main one. */
int run_servers_serve(struct http_server *http, struct api_server *api,
		      const struct config *config)
{
	char why[512];
	int above, tid;

	if (http && http_serve(http, why, sizeof(why))) {
		log_err("%s\n", why);
		return 1;
	}
	if (http)
		log_info("serving /metrics on %s%s%s\n", config->listen_address,
			 config->web_config[0] ? " with " : "",
			 config->web_config);
	if (api && api_serve(api, why, sizeof(why))) {
		log_err("%s\n", why);
		return 1;
	}
	if (api)
		log_info("serving the local socket %s\n", config->socket_path);
	above = privilege_threads_above_main("/proc", getpid(), &tid);
	if (above > 0)
		log_err("%d thread%s (tid %d) hold%s capabilities the main "
			"thread dropped\n",
			above, above == 1 ? "" : "s", tid,
			above == 1 ? "s" : "");
	return 0;
}
