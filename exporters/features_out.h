/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The feature table (model/features.h) as the outputs show it: the "features"
 * object of the dump document and of the socket's status, and the
 * kvmwarden_feature_available family of /metrics. Read-only.
 */
#ifndef KVMWARDEN_FEATURES_OUT_H
#define KVMWARDEN_FEATURES_OUT_H

#include <stdio.h>

#include <json-c/json.h>

#include "model/features.h"

/* {"steal": {"available": true}, "attribution": {"available": false,
 * "reason": "..."}, ...}: every feature, "reason" only when unavailable.
 * NULL when out of memory. */
struct json_object *features_out_json(const struct features *features);
/* # HELP, # TYPE and one kvmwarden_feature_available{feature="..."}
 * sample (1 or 0) per feature. */
void features_out_prom(FILE *out, const struct features *features);

#endif
