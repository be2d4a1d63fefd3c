/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The "kvm" object of a guest in the `dump --json` document (README.md).
 */
#ifndef KVMWARDEN_JSON_KVM_H
#define KVMWARDEN_JSON_KVM_H

#include <json-c/json.h>

#include "model/model.h"

/* A new object, or NULL when out of memory. */
struct json_object *kvm_json(const struct report *report,
			     const struct report_guest *guest);

#endif
