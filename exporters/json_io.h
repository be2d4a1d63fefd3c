/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The I/O parts of the `dump` outputs: per-guest "io" lists and the
 * document's "host_io" list (README.md), and the table's I/O lines. Added
 * to what json.c and table.c write; they never change those.
 */
#ifndef KVMWARDEN_JSON_IO_H
#define KVMWARDEN_JSON_IO_H

#include <stdio.h>

#include <json-c/json.h>

#include "model/io_model.h"
#include "model/model.h"

/* Adds "io" to each element of `guests` (the JSON of report->guests, in
 * the same order) and "io_available", "host_io" and "io_errors" to doc. */
void json_io_add(struct json_object *doc, struct json_object *guests,
		 const struct report *report);
/* One JSON object per device of an owner. */
struct json_object *json_io_devices(const struct io_owner *owner);
/* The table's I/O section: a line per guest or host cgroup and device. */
void json_io_write_table(FILE *out, const struct report *report);

#endif
