/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Guests' network devices in the Prometheus text format (README.md).
 */
#ifndef KVMWARDEN_PROMETHEUS_NET_H
#define KVMWARDEN_PROMETHEUS_NET_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdio.h>

#include "model/model.h"

/* The six kvmwarden_guest_net_* counter families, each with # HELP and
 * # TYPE, a sample per guest device the agent has read. */
void prometheus_net_write(FILE *out, const struct guest_table *table);

#endif
