// SPDX-License-Identifier: GPL-2.0-only
/*
 * steering: in kvmwarden.conf (steering_keys.h). The names here are only
 * patterns: which device or IRQ they match is decided at each interval
 * (enforce_config_steerable), and the paths built from what matched are
 * checked again where they are written (actuate_steer.c).
 */
#include <stdio.h>
#include <string.h>

#include "config/steering_keys.h"

/* A glob that could never match a device's or an action's name, or one
 * that would reach outside its directory once it names a path. */
static const char *bad_name(const char *name)
{
	if (!name[0])
		return "is empty";
	if (strchr(name, '/'))
		return "holds '/'";
	for (const char *c = name; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return "holds a control character";
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return "is '.' or '..'";
	return NULL;
}

static void parse_names(struct config_problems *p, yaml_document_t *doc,
			yaml_node_t *node, const char *key,
			char out[][ENFORCE_STEER_NAME_LEN], size_t *count)
{
	yaml_node_item_t *item;

	*count = 0;
	if (node->type != YAML_SEQUENCE_NODE) {
		config_yaml_complain(p, config_yaml_line_of(node), key,
				     "expected a list of names or globs");
		return;
	}
	for (item = node->data.sequence.items.start;
	     item < node->data.sequence.items.top; item++) {
		yaml_node_t *entry = yaml_document_get_node(doc, *item);
		char name[ENFORCE_STEER_NAME_LEN] = "";
		int before = p->count;
		const char *why;

		if (*count == ENFORCE_MAX_STEER_NAMES) {
			config_yaml_complain(p, config_yaml_line_of(entry), key,
					     "at most %d entries",
					     ENFORCE_MAX_STEER_NAMES);
			return;
		}
		config_yaml_string(p, entry, key, name, sizeof(name));
		if (p->count != before)
			continue;
		why = bad_name(name);
		if (why) {
			config_yaml_complain(p, config_yaml_line_of(entry), key,
					     "'%s' %s: expected a device or "
					     "IRQ name, or a glob of one",
					     name, why);
			continue;
		}
		snprintf(out[(*count)++], ENFORCE_STEER_NAME_LEN, "%s", name);
	}
}

void steering_keys_parse(struct config_problems *p, yaml_document_t *doc,
			 yaml_node_t *node, struct steering_config *steering)
{
	yaml_node_t *key_node, *value;
	yaml_node_pair_t *pair = NULL;
	const char *key;

	memset(steering, 0, sizeof(*steering));
	steering->line = config_yaml_line_of(node);
	if (node->type != YAML_MAPPING_NODE) {
		config_yaml_complain(p, steering->line, "steering",
				     "expected a mapping (devices, irqs)");
		return;
	}
	while ((key = config_yaml_next(p, doc, node, "steering", &pair,
				       &key_node, &value))) {
		if (!strcmp(key, "devices"))
			parse_names(p, doc, value, "steering.devices",
				    steering->devices, &steering->device_count);
		else if (!strcmp(key, "irqs"))
			parse_names(p, doc, value, "steering.irqs",
				    steering->irqs, &steering->irq_count);
		else
			config_yaml_complain(p, config_yaml_line_of(key_node),
					     key, "unknown key in steering");
	}
}
