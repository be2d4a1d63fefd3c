/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the YAML files the agent reads (config.c, the
 * enforcement keys in enforce_config.c, web_config.c): the problem list,
 * the file's text, and typed scalars that complain with key and line.
 * No knowledge of any key here.
 */
#ifndef KVMWARDEN_CONFIG_YAML_H
#define KVMWARDEN_CONFIG_YAML_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

/* One line per problem, "SOURCE:LINE: KEY: what", truncated to fit
 * `text`. */
struct config_problems {
	const char *source;
	char *text;
	size_t size;
	size_t used;
	int count;
};

void config_yaml_complain(struct config_problems *p, size_t line,
			  const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The whole file, at most 1 MiB, NUL-free by contract of YAML; *text is
 * malloc'd. Errors go to `errors` as one line naming the path. */
int config_yaml_read_text(const char *path, char **text, size_t *len,
			  char *errors, size_t errors_size);

/* The parsing helpers, for every module that reads keys of a document.
 * Each complains into `p` itself. */
const char *config_yaml_scalar(yaml_node_t *node);
/* The node's line, counted from 1; 0 for NULL. */
size_t config_yaml_line_of(yaml_node_t *node);
/* Every key that a mapping anywhere in `doc` holds twice, with both
 * lines. */
void config_yaml_check_repeated_keys(struct config_problems *p,
				     yaml_document_t *doc);
int config_yaml_u32(struct config_problems *p, yaml_node_t *node,
		    const char *key, uint32_t min, uint32_t max, uint32_t *out);
void config_yaml_bool(struct config_problems *p, yaml_node_t *node,
		      const char *key, bool *out);
void config_yaml_string(struct config_problems *p, yaml_node_t *node,
			const char *key, char *out, size_t size);

#endif
