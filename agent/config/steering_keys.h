/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The `steering:` key of kvmwarden.conf: which network devices and IRQs
 * a hidden-steal budget may move off a protected guest's CPUs. Parsed
 * here for enforce_keys.c, into struct steering_config (enforce_config.h);
 * no I/O.
 */
#ifndef KVMWARDEN_STEERING_KEYS_H
#define KVMWARDEN_STEERING_KEYS_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <yaml.h>

#include "config/config_yaml.h"
#include "config/enforce_config.h"

/* steering: {devices: [...], irqs: [...]}: names or globs, neither empty
 * nor holding '/' (a name becomes a path component under /sys/class/net
 * or /proc/irq). Problems go to `p`, with their lines. */
void steering_keys_parse(struct config_problems *p, yaml_document_t *doc,
			 yaml_node_t *node, struct steering_config *steering);

#endif
