/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's configuration file (YAML, read with libyaml). This module
 * owns the defaults, the parsing and the validation; every rejection names
 * the file, the line and the key.
 */
#ifndef KVMWARDEN_CONFIG_H
#define KVMWARDEN_CONFIG_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config_yaml.h"
#include "config/enforce_config.h"

enum config_mode { CONFIG_MODE_MONITOR = 0, CONFIG_MODE_ENFORCE = 1 };

struct config {
	enum config_mode mode;
	uint32_t interval_ms; /* how often figures are computed and logged */
	uint32_t discover_interval_ms; /* how often guests are looked for */
	uint32_t retain_exited_s; /* how long exited guests stay listed */
	uint32_t summary_interval_s; /* per-guest log summary; 0: none */
	char listen_address[80]; /* the /metrics endpoint's; "": none */
	char web_config[512]; /* TLS and basic auth (web.yml); "": neither */
	bool per_vcpu_metrics; /* per-vCPU series as well as per guest */
	struct enforce_config enforce; /* budgets and the controller's tuning */
	char socket_path[108]; /* the local socket (api.h); "": none */
	char socket_group[64]; /* group allowed to read it; "": root only */
	size_t web_config_line, socket_group_line; /* for later complaints */
};

void config_defaults(struct config *config);
/* Parses YAML text; `source` names it in errors. Returns 0, or -EINVAL with
 * one line per problem in `errors` (NUL-terminated, truncated to fit). */
int config_parse(struct config *config, const char *text, size_t len,
		 const char *source, char *errors, size_t errors_size);
int config_load(struct config *config, const char *path, char *errors,
		size_t errors_size);
/* config_load(), except that when no path was given (path_given false) and
 * nothing is at `path` (the default one), that is no error: the built-in
 * defaults apply and *defaulted says so. Like other agents, a first run by
 * hand then needs no file. A missing file that was named, or one that
 * exists but cannot be read or parsed, stays an error. */
int config_load_or_defaults(struct config *config, const char *path,
			    bool path_given, bool *defaulted, char *errors,
			    size_t errors_size);
const char *config_mode_name(enum config_mode mode);

#endif
