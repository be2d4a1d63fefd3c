/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The "net" list of a guest in the `dump --json` document (README.md):
 * its devices' own counters in the window.
 */
#ifndef KVMWARDEN_JSON_NET_H
#define KVMWARDEN_JSON_NET_H

#include <json-c/json.h>

#include "model/model.h"

/* A new array, one object per device the agent has read. */
struct json_object *json_net_list(const struct report_guest *guest);

#endif
