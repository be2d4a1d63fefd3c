/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `run`'s servers (/metrics over HTTP, the local socket) and the dropping
 * of capabilities between binding them and starting their threads.
 */
#ifndef KVMWARDEN_CMD_RUN_SERVERS_H
#define KVMWARDEN_CMD_RUN_SERVERS_H

#include "config/config.h"
#include "load/loader.h"
#include "serve/api.h"
#include "serve/http.h"
#include "serve/metrics.h"

/* Bind what the configuration names (nothing: *server NULL, 0); 1 after
 * logging why not. */
int run_servers_open_http(struct http_server **http,
			  const struct config *config, struct metrics *metrics);
int run_servers_open_api(struct api_server **api, const struct config *config);
/* Drops the capabilities attaching needed; logs what it kept. */
/* keep_net_admin: CAP_NET_ADMIN stays too, for device steering's
 * rps_cpus writes (a hidden-steal budget: enforce_steer.h). */
void run_servers_drop_privileges(struct loader *loader, bool keep_net_admin);
/* Starts the bound servers' threads: 0, or 1 after logging why not. */
int run_servers_serve(struct http_server *http, struct api_server *api,
		      const struct config *config);

#endif
