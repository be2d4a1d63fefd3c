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
/* The parsing helpers, for the modules that read their own keys of the
 * same document (enforce_config.c). Each complains into `p` itself. */
const char *config_scalar(yaml_node_t *node);
int config_parse_u32(struct config_problems *p, yaml_node_t *node,
		     const char *key, uint32_t min, uint32_t max,
		     uint32_t *out);
void config_parse_bool(struct config_problems *p, yaml_node_t *node,
		       const char *key, bool *out);
void config_parse_string(struct config_problems *p, yaml_node_t *node,
			 const char *key, char *out, size_t size);

#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* Shared with the other YAML files the agent reads (web_config.c): one line
 * per problem, "SOURCE:LINE: KEY: what", truncated to fit `text`. */
struct config_problems {
	const char *source;
	char *text;
	size_t size;
	size_t used;
	int count;
};

void config_complain(struct config_problems *p, size_t line, const char *key,
		     const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The whole file, at most 1 MiB, NUL-free by contract of YAML; *text is
 * malloc'd. Errors go to `errors` as one line naming the path. */
int config_read_text(const char *path, char **text, size_t *len, char *errors,
		     size_t errors_size);

/* The parsing helpers, for the modules that read their own keys of the
 * same document (enforce_config.c). Each complains into `p` itself. */
const char *config_scalar(yaml_node_t *node);
/* Every key that a mapping anywhere in `doc` holds twice, with both
 * lines (web_config.c uses it too). */
void config_check_repeated_keys(struct config_problems *p,
				yaml_document_t *doc);
int config_parse_u32(struct config_problems *p, yaml_node_t *node,
		     const char *key, uint32_t min, uint32_t max,
		     uint32_t *out);
void config_parse_bool(struct config_problems *p, yaml_node_t *node,
		       const char *key, bool *out);
void config_parse_string(struct config_problems *p, yaml_node_t *node,
			 const char *key, char *out, size_t size);

#endif
