// SPDX-License-Identifier: GPL-2.0-only
/*
 * Configuration parsing on libyaml's document API, which keeps each node's
 * line, so an error points at the offending key. Unknown keys are errors:
 * a misspelt budget silently ignored is worse than a refusal to start.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "config/config.h"
#include "config/endpoints.h"
#include "config/enforce_keys.h"

void config_defaults(struct config *config)
{
	config->mode = CONFIG_MODE_MONITOR;
	config->interval_ms = 1000;
	config->discover_interval_ms = 500;
	config->retain_exited_s = 60;
	config->summary_interval_s = 10;
	snprintf(config->listen_address, sizeof(config->listen_address), "%s",
		 ENDPOINTS_DEFAULT_LISTEN);
	config->web_config[0] = '\0';
	config->per_vcpu_metrics = false;
	enforce_config_defaults(&config->enforce);
	snprintf(config->socket_path, sizeof(config->socket_path), "%s",
		 ENDPOINTS_DEFAULT_SOCKET);
	config->socket_group[0] = '\0';
}

const char *config_mode_name(enum config_mode mode)
{
	return mode == CONFIG_MODE_ENFORCE ? "enforce" : "monitor";
}

/* An empty address turns the endpoint off; port 0 (any free port) would
 * leave Prometheus nothing to scrape. */
static void parse_listen(struct config_problems *p, yaml_node_t *node,
			 struct config *config)
{
	struct sockaddr_storage addr;
	socklen_t addr_len;
	int before = p->count;

	config_yaml_string(p, node, "listen_address", config->listen_address,
			   sizeof(config->listen_address));
	if (p->count != before || !config->listen_address[0])
		return;
	if (endpoints_parse_address(config->listen_address, &addr, &addr_len) ||
	    endpoints_address_port(&addr) == 0)
		config_yaml_complain(p, node->start_mark.line + 1,
				     "listen_address",
				     "expected IPv4:PORT, [IPv6]:PORT or :PORT "
				     "with a port from 1 to 65535, got '%s'",
				     config->listen_address);
}

/* Relative paths would depend on the agent's working directory. */
static void parse_socket_path(struct config_problems *p, yaml_node_t *node,
			      struct config *config)
{
	int before = p->count;

	config_yaml_string(p, node, "socket_path", config->socket_path,
			   sizeof(config->socket_path));
	if (p->count == before && config->socket_path[0] &&
	    config->socket_path[0] != '/')
		config_yaml_complain(
			p, node->start_mark.line + 1, "socket_path",
			"expected an absolute path or '', got '%s'",
			config->socket_path);
}

static void parse_mode(struct config_problems *p, yaml_node_t *node,
		       struct config *config)
{
	const char *text = config_yaml_scalar(node);

	if (text && !strcmp(text, "monitor"))
		config->mode = CONFIG_MODE_MONITOR;
	else if (text && !strcmp(text, "enforce"))
		config->mode = CONFIG_MODE_ENFORCE;
	else
		config_yaml_complain(
			p, node->start_mark.line + 1, "mode",
			"expected 'monitor' or 'enforce', got '%s'",
			text ? text : "(not a scalar)");
}

static const struct config_yaml_u32_key u32_keys[] = {
	{ "interval_ms", 100, 3600000, offsetof(struct config, interval_ms) },
	{ "discover_interval_ms", 10, 60000,
	  offsetof(struct config, discover_interval_ms) },
	{ "summary_interval_s", 0, 86400,
	  offsetof(struct config, summary_interval_s) },
	{ "retain_exited_s", 0, 86400,
	  offsetof(struct config, retain_exited_s) },
};

static void parse_top(struct config_problems *p, yaml_document_t *doc,
		      yaml_node_t *root, struct config *config)
{
	yaml_node_t *key_node, *value;
	yaml_node_pair_t *pair = NULL;
	const char *key;

	while ((key = config_yaml_next(p, doc, root, NULL, &pair, &key_node,
				       &value))) {
		size_t line = config_yaml_line_of(key_node);

		if (!strcmp(key, "mode"))
			parse_mode(p, value, config);
		else if (config_yaml_u32_keys(p, u32_keys,
					      sizeof(u32_keys) /
						      sizeof(u32_keys[0]),
					      key, value, config))
			continue;
		else if (!strcmp(key, "listen_address"))
			parse_listen(p, value, config);
		else if (!strcmp(key, "web_config")) {
			config_yaml_string(p, value, key, config->web_config,
					   sizeof(config->web_config));
			config->web_config_line = line;
		} else if (!strcmp(key, "per_vcpu_metrics"))
			config_yaml_bool(p, value, key,
					 &config->per_vcpu_metrics);
		else if (enforce_keys_parse(p, doc, key, value,
					    &config->enforce))
			continue;
		else if (!strcmp(key, "socket_path"))
			parse_socket_path(p, value, config);
		else if (!strcmp(key, "socket_group")) {
			config_yaml_string(p, value, key, config->socket_group,
					   sizeof(config->socket_group));
			config->socket_group_line = line;
		} else
			config_yaml_complain(p, line, key, "unknown key");
	}
}

int config_parse(struct config *config, const char *text, size_t len,
		 const char *source, char *errors, size_t errors_size)
{
	struct config_yaml_doc yd;
	struct config parsed;
	yaml_node_t *root;
	int err;

	config_defaults(&parsed);
	err = config_yaml_open(&yd, text, len, source, errors, errors_size,
			       &root);
	if (err)
		return err;
	/* An empty file (or only comments) means every default. */
	if (root)
		parse_top(&yd.problems, &yd.doc, root, &parsed);
	config_yaml_close(&yd);
	enforce_keys_check(&yd.problems, &parsed.enforce);
	if (!yd.problems.count &&
	    parsed.discover_interval_ms > parsed.interval_ms)
		config_yaml_complain(&yd.problems, 1, "discover_interval_ms",
				     "must not exceed interval_ms (%u)",
				     parsed.interval_ms);
	if (yd.problems.count)
		return -EINVAL;
	*config = parsed;
	return 0;
}

static int parse_into(void *config, const char *text, size_t len,
		      const char *source, char *errors, size_t errors_size)
{
	return config_parse(config, text, len, source, errors, errors_size);
}

int config_load(struct config *config, const char *path, char *errors,
		size_t errors_size)
{
	return config_yaml_load(path, parse_into, config, errors, errors_size);
}

int config_load_or_defaults(struct config *config, const char *path,
			    bool path_given, bool *defaulted, char *errors,
			    size_t errors_size)
{
	int err;

	*defaulted = false;
	err = config_load(config, path, errors, errors_size);
	/* Only ENOENT: EACCES or a directory at the default path means
	 * someone meant to configure the agent there, and guessing would
	 * hide that. */
	if (err != -ENOENT || path_given)
		return err;
	config_defaults(config);
	if (errors_size)
		errors[0] = '\0';
	*defaulted = true;
	return 0;
}
