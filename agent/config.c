// SPDX-License-Identifier: GPL-2.0-only
/*
 * Configuration parsing on libyaml's document API, which keeps each node's
 * line, so an error points at the offending key. Unknown keys are errors:
 * a misspelt budget silently ignored is worse than a refusal to start.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "config.h"

#define MAX_FILE_BYTES (1 << 20)

struct problems {
	const char *source;
	char *text;
	size_t size;
	size_t used;
	int count;
};

static void complain(struct problems *p, size_t line, const char *key,
		     const char *fmt, ...)
{
	va_list args;
	int n;

	p->count++;
	if (p->used + 1 >= p->size)
		return;
	n = snprintf(p->text + p->used, p->size - p->used, "%s:%zu: %s%s",
		     p->source, line, key ? key : "", key ? ": " : "");
	if (n > 0)
		p->used += (size_t)n < p->size - p->used ? (size_t)n :
							    p->size - p->used - 1;
	va_start(args, fmt);
	n = vsnprintf(p->text + p->used, p->size - p->used, fmt, args);
	va_end(args);
	if (n > 0)
		p->used += (size_t)n < p->size - p->used ? (size_t)n :
							    p->size - p->used - 1;
	if (p->used + 1 < p->size) {
		p->text[p->used++] = '\n';
		p->text[p->used] = '\0';
	}
}

void config_defaults(struct config *config)
{
	config->mode = CONFIG_MODE_MONITOR;
	config->interval_ms = 1000;
	config->discover_interval_ms = 500;
	config->retain_exited_s = 60;
	config->summary_interval_s = 10;
}

const char *config_mode_name(enum config_mode mode)
{
	return mode == CONFIG_MODE_ENFORCE ? "enforce" : "monitor";
}

static const char *scalar(yaml_node_t *node)
{
	return node && node->type == YAML_SCALAR_NODE ?
		       (const char *)node->data.scalar.value :
		       NULL;
}

static int parse_u32(struct problems *p, yaml_node_t *node, const char *key,
		     uint32_t min, uint32_t max, uint32_t *out)
{
	const char *text = scalar(node);
	unsigned long long value;
	char *end;

	if (!text) {
		complain(p, node->start_mark.line + 1, key,
			 "expected a number");
		return -EINVAL;
	}
	errno = 0;
	value = strtoull(text, &end, 10);
	if (errno || end == text || *end || text[0] == '-' || value < min ||
	    value > max) {
		complain(p, node->start_mark.line + 1, key,
			 "expected a whole number from %u to %u, got '%s'",
			 min, max, text);
		return -EINVAL;
	}
	*out = (uint32_t)value;
	return 0;
}

static void parse_mode(struct problems *p, yaml_node_t *node,
		       struct config *config)
{
	const char *text = scalar(node);

	if (text && !strcmp(text, "monitor"))
		config->mode = CONFIG_MODE_MONITOR;
	else if (text && !strcmp(text, "enforce"))
		config->mode = CONFIG_MODE_ENFORCE;
	else
		complain(p, node->start_mark.line + 1, "mode",
			 "expected 'monitor' or 'enforce', got '%s'",
			 text ? text : "(not a scalar)");
}

static void parse_top(struct problems *p, yaml_document_t *doc,
		      yaml_node_t *root, struct config *config)
{
	yaml_node_pair_t *pair;

	for (pair = root->data.mapping.pairs.start;
	     pair < root->data.mapping.pairs.top; pair++) {
		yaml_node_t *key_node = yaml_document_get_node(doc, pair->key);
		yaml_node_t *value = yaml_document_get_node(doc, pair->value);
		const char *key = scalar(key_node);
		size_t line = key_node ? key_node->start_mark.line + 1 : 0;

		if (!key || !value) {
			complain(p, line, NULL, "keys must be plain names");
			continue;
		}
		if (!strcmp(key, "mode"))
			parse_mode(p, value, config);
		else if (!strcmp(key, "interval_ms"))
			parse_u32(p, value, key, 100, 3600000,
				  &config->interval_ms);
		else if (!strcmp(key, "discover_interval_ms"))
			parse_u32(p, value, key, 10, 60000,
				  &config->discover_interval_ms);
		else if (!strcmp(key, "summary_interval_s"))
			parse_u32(p, value, key, 0, 86400,
				  &config->summary_interval_s);
		else if (!strcmp(key, "retain_exited_s"))
			parse_u32(p, value, key, 0, 86400,
				  &config->retain_exited_s);
		else
			complain(p, line, key, "unknown key");
	}
}

int config_parse(struct config *config, const char *text, size_t len,
		 const char *source, char *errors, size_t errors_size)
{
	struct problems p = { .source = source, .text = errors,
			      .size = errors_size };
	struct config parsed;
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;

	if (errors_size)
		errors[0] = '\0';
	config_defaults(&parsed);
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		complain(&p, parser.problem_mark.line + 1, NULL,
			 "not valid YAML: %s",
			 parser.problem ? parser.problem : "parse error");
		yaml_parser_delete(&parser);
		return -EINVAL;
	}
	root = yaml_document_get_root_node(&doc);
	/* An empty file (or only comments) means every default. */
	if (root && root->type != YAML_MAPPING_NODE)
		complain(&p, root->start_mark.line + 1, NULL,
			 "the top level must be a mapping of keys");
	else if (root)
		parse_top(&p, &doc, root, &parsed);
	if (!p.count && parsed.discover_interval_ms > parsed.interval_ms)
		complain(&p, 1, "discover_interval_ms",
			 "must not exceed interval_ms (%u)",
			 parsed.interval_ms);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (p.count)
		return -EINVAL;
	*config = parsed;
	return 0;
}

int config_load(struct config *config, const char *path, char *errors,
		size_t errors_size)
{
	char *text = NULL;
	size_t len = 0;
	FILE *file;
	int err;

	file = fopen(path, "r");
	if (!file) {
		err = -errno;
		snprintf(errors, errors_size, "%s: cannot open: %s\n", path,
			 strerror(-err));
		return err;
	}
	text = malloc(MAX_FILE_BYTES + 1);
	if (!text) {
		fclose(file);
		return -ENOMEM;
	}
	len = fread(text, 1, MAX_FILE_BYTES + 1, file);
	if (ferror(file) || len > MAX_FILE_BYTES) {
		snprintf(errors, errors_size, "%s: %s\n", path,
			 ferror(file) ? "read error" : "larger than 1 MiB");
		err = -EINVAL;
		goto cleanup;
	}
	err = config_parse(config, text, len, path, errors, errors_size);
cleanup:
	free(text);
	fclose(file);
	return err;
}
