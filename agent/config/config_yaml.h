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

/* A whole-number key of a mapping: its name, its bounds, and where it
 * lands as an offset into the struct being filled. */
struct config_yaml_u32_key {
	const char *name;
	uint32_t min, max;
	size_t offset;
};
/* When `key` is one of `keys`, reads it into its field of `out` and
 * returns true; false leaves it to the caller. */
bool config_yaml_u32_keys(struct config_problems *p,
			  const struct config_yaml_u32_key *keys, size_t count,
			  const char *key, yaml_node_t *value, void *out);

/* Steps *pair through the pairs of `mapping` (start with *pair NULL),
 * complaining "keys must be plain names" under `where` about each whose
 * key is not a name or that has no value; returns the next key that is,
 * with its nodes, or NULL after the last. */
const char *config_yaml_next(struct config_problems *p, yaml_document_t *doc,
			     yaml_node_t *mapping, const char *where,
			     yaml_node_pair_t **pair, yaml_node_t **key_node,
			     yaml_node_t **value);

/* One document of `text`, parsed, with the problems found in it: *root is
 * its top-level mapping, NULL for an empty document or (complained) one
 * that is not a mapping. -ENOMEM, or -EINVAL with the YAML error in
 * `errors`; on 0, config_yaml_close, which also refuses repeated keys. */
struct config_yaml_doc {
	struct config_problems problems;
	yaml_parser_t parser;
	yaml_document_t doc;
};
int config_yaml_open(struct config_yaml_doc *yd, const char *text, size_t len,
		     const char *source, char *errors, size_t errors_size,
		     yaml_node_t **root);
void config_yaml_close(struct config_yaml_doc *yd);

/* Reads `path` and hands its text to `parse` with `out`: the shape of
 * every *_load of a YAML file. */
typedef int config_yaml_parse_fn(void *out, const char *text, size_t len,
				 const char *source, char *errors,
				 size_t errors_size);
int config_yaml_load(const char *path, config_yaml_parse_fn *parse, void *out,
		     char *errors, size_t errors_size);

#endif
