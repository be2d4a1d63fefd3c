/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The enforcement keys' parser: config.c hands over each top-level key it
 * does not know itself, then asks for the cross-key checks. The keys fill
 * a struct enforce_config (enforce_config.h).
 */
#ifndef KVMWARDEN_ENFORCE_KEYS_H
#define KVMWARDEN_ENFORCE_KEYS_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>

#include <yaml.h>

#include "config/config_yaml.h"
#include "config/enforce_config.h"

/* Handles one top-level key when it is enforcement's: returns true when it
 * was (problems, if any, are in `p`), false for a key it does not know. */
bool enforce_keys_parse(struct config_problems *p, yaml_document_t *doc,
			const char *key, yaml_node_t *value,
			struct enforce_config *enforce);
/* Cross-key checks once the whole document is read; sets each budget's
 * class_rank. */
void enforce_keys_check(struct config_problems *p,
			struct enforce_config *enforce);

#endif
