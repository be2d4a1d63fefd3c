// SPDX-License-Identifier: GPL-2.0-only
/*
 * What every YAML file the agent reads shares (kvmwarden.conf with its
 * enforcement keys, web.yml): the problem list, reading the file, scalars,
 * numbers, booleans and strings checked with the key and line they came
 * from. Apart from config.c so that enforce_config.c and web_config.c lean
 * on these helpers and not on the agent's config, which leans on them.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "config/config_yaml.h"

#define MAX_FILE_BYTES (1 << 20)

void config_yaml_complain(struct config_problems *p, size_t line,
			  const char *key, const char *fmt, ...)
{
	va_list args;
	int n;

	p->count++;
	if (p->used + 1 >= p->size)
		return;
	n = snprintf(p->text + p->used, p->size - p->used, "%s:%zu: %s%s",
		     p->source, line, key ? key : "", key ? ": " : "");
	if (n > 0)
		p->used += (size_t)n < p->size - p->used ?
				   (size_t)n :
				   p->size - p->used - 1;
	va_start(args, fmt);
	n = vsnprintf(p->text + p->used, p->size - p->used, fmt, args);
	va_end(args);
	if (n > 0)
		p->used += (size_t)n < p->size - p->used ?
				   (size_t)n :
				   p->size - p->used - 1;
	if (p->used + 1 < p->size) {
		p->text[p->used++] = '\n';
		p->text[p->used] = '\0';
	}
}

const char *config_yaml_scalar(yaml_node_t *node)
{
	return node && node->type == YAML_SCALAR_NODE ?
		       (const char *)node->data.scalar.value :
		       NULL;
}

size_t config_yaml_line_of(yaml_node_t *node)
{
	return node ? node->start_mark.line + 1 : 0;
}

int config_yaml_u32(struct config_problems *p, yaml_node_t *node,
		    const char *key, uint32_t min, uint32_t max, uint32_t *out)
{
	const char *text = config_yaml_scalar(node);
	unsigned long long value;
	char *end;

	if (!text) {
		config_yaml_complain(p, node->start_mark.line + 1, key,
				     "expected a number");
		return -EINVAL;
	}
	errno = 0;
	value = strtoull(text, &end, 10);
	if (errno || end == text || *end || text[0] == '-' || value < min ||
	    value > max) {
		config_yaml_complain(
			p, node->start_mark.line + 1, key,
			"expected a whole number from %u to %u, got '%s'", min,
			max, text);
		return -EINVAL;
	}
	*out = (uint32_t)value;
	return 0;
}

void config_yaml_bool(struct config_problems *p, yaml_node_t *node,
		      const char *key, bool *out)
{
	const char *text = config_yaml_scalar(node);

	if (text && !strcmp(text, "true"))
		*out = true;
	else if (text && !strcmp(text, "false"))
		*out = false;
	else
		config_yaml_complain(p, node->start_mark.line + 1, key,
				     "expected true or false, got '%s'",
				     text ? text : "(not a scalar)");
}

void config_yaml_string(struct config_problems *p, yaml_node_t *node,
			const char *key, char *out, size_t size)
{
	const char *text = config_yaml_scalar(node);

	const char *control = text;

	/* No key takes a control character, and one echoed into a log line
	 * or a cgroup path would do harm; say where it is, not what. */
	while (control && *control && (unsigned char)*control >= 0x20 &&
	       *control != 0x7f)
		control++;
	if (!text)
		config_yaml_complain(p, node->start_mark.line + 1, key,
				     "expected a string");
	else if (*control)
		config_yaml_complain(p, node->start_mark.line + 1, key,
				     "control character (0x%02x) at offset %zu",
				     (unsigned char)*control,
				     (size_t)(control - text));
	else if (strlen(text) >= size)
		config_yaml_complain(p, node->start_mark.line + 1, key,
				     "longer than %zu characters", size - 1);
	else
		snprintf(out, size, "%s", text);
}

bool config_yaml_u32_keys(struct config_problems *p,
			  const struct config_yaml_u32_key *keys, size_t count,
			  const char *key, yaml_node_t *value, void *out)
{
	for (size_t i = 0; i < count; i++)
		if (!strcmp(key, keys[i].name)) {
			config_yaml_u32(
				p, value, key, keys[i].min, keys[i].max,
				(uint32_t *)((char *)out + keys[i].offset));
			return true;
		}
	return false;
}

const char *config_yaml_next(struct config_problems *p, yaml_document_t *doc,
			     yaml_node_t *mapping, const char *where,
			     yaml_node_pair_t **pair, yaml_node_t **key_node,
			     yaml_node_t **value)
{
	*pair = *pair ? *pair + 1 : mapping->data.mapping.pairs.start;
	for (; *pair < mapping->data.mapping.pairs.top; (*pair)++) {
		const char *key;

		*key_node = yaml_document_get_node(doc, (*pair)->key);
		*value = yaml_document_get_node(doc, (*pair)->value);
		key = config_yaml_scalar(*key_node);
		if (key && *value)
			return key;
		config_yaml_complain(p, config_yaml_line_of(*key_node), where,
				     "keys must be plain names");
	}
	return NULL;
}

int config_yaml_open(struct config_yaml_doc *yd, const char *text, size_t len,
		     const char *source, char *errors, size_t errors_size,
		     yaml_node_t **root)
{
	struct config_problems *p = &yd->problems;

	*p = (struct config_problems){ .source = source,
				       .text = errors,
				       .size = errors_size };
	*root = NULL;
	if (errors_size)
		errors[0] = '\0';
	if (!yaml_parser_initialize(&yd->parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&yd->parser, (const unsigned char *)text,
				     len);
	if (!yaml_parser_load(&yd->parser, &yd->doc)) {
		config_yaml_complain(p, yd->parser.problem_mark.line + 1, NULL,
				     "not valid YAML: %s",
				     yd->parser.problem ? yd->parser.problem :
							  "parse error");
		yaml_parser_delete(&yd->parser);
		return -EINVAL;
	}
	*root = yaml_document_get_root_node(&yd->doc);
	if (*root && (*root)->type != YAML_MAPPING_NODE) {
		config_yaml_complain(p, config_yaml_line_of(*root), NULL,
				     "the top level must be a mapping of keys");
		*root = NULL;
	}
	return 0;
}

void config_yaml_close(struct config_yaml_doc *yd)
{
	/* A second mapping under one key would be merged into the first or
	 * replace it, silently. */
	config_yaml_check_repeated_keys(&yd->problems, &yd->doc);
	yaml_document_delete(&yd->doc);
	yaml_parser_delete(&yd->parser);
}

int config_yaml_load(const char *path, config_yaml_parse_fn *parse, void *out,
		     char *errors, size_t errors_size)
{
	char *text;
	size_t len;
	int err;

	err = config_yaml_read_text(path, &text, &len, errors, errors_size);
	if (err)
		return err;
	err = parse(out, text, len, path, errors, errors_size);
	free(text);
	return err;
}

void config_yaml_check_repeated_keys(struct config_problems *p,
				     yaml_document_t *doc)
{
	/* YAML leaves a repeated key to the reader; libyaml keeps both
	 * pairs, and whichever the parser met last would silently win. */
	for (yaml_node_t *node = doc->nodes.start; node < doc->nodes.top;
	     node++) {
		yaml_node_pair_t *start = node->data.mapping.pairs.start;
		yaml_node_pair_t *top = node->data.mapping.pairs.top;

		if (node->type != YAML_MAPPING_NODE)
			continue;
		for (yaml_node_pair_t *later = start; later < top; later++) {
			yaml_node_t *key =
				yaml_document_get_node(doc, later->key);
			const char *name = config_yaml_scalar(key);

			if (!name)
				continue;
			for (yaml_node_pair_t *first = start; first < later;
			     first++) {
				yaml_node_t *other =
					yaml_document_get_node(doc, first->key);

				if (!config_yaml_scalar(other) ||
				    strcmp(config_yaml_scalar(other), name))
					continue;
				config_yaml_complain(
					p, key->start_mark.line + 1, name,
					"listed twice (lines %zu and "
					"%zu): refused rather than let "
					"one silently win",
					other->start_mark.line + 1,
					key->start_mark.line + 1);
				break;
			}
		}
	}
}

int config_yaml_read_text(const char *path, char **text, size_t *len,
			  char *errors, size_t errors_size)
{
	FILE *file;
	int err = 0;

	*text = NULL;
	*len = 0;
	file = fopen(path, "r");
	if (!file) {
		err = -errno;
		snprintf(errors, errors_size, "%s: cannot open: %s\n", path,
			 strerror(-err));
		return err;
	}
	*text = malloc(MAX_FILE_BYTES + 1);
	if (!*text) {
		fclose(file);
		return -ENOMEM;
	}
	*len = fread(*text, 1, MAX_FILE_BYTES + 1, file);
	if (ferror(file) || *len > MAX_FILE_BYTES) {
		snprintf(errors, errors_size, "%s: %s\n", path,
			 ferror(file) ? "read error" : "larger than 1 MiB");
		err = -EINVAL;
		free(*text);
		*text = NULL;
		*len = 0;
	}
	fclose(file);
	return err;
}
