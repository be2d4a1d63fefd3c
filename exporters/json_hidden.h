/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Hidden steal in the `dump --json` document (README.md): a "hidden"
 * object per vCPU, per other thread and per guest, and "softirq" and "irq"
 * per host CPU. Added to what json.c writes; it never changes those
 * fields. guests[].net[] is json_net.c's, not this file's.
 */
#ifndef KVMWARDEN_JSON_HIDDEN_H
#define KVMWARDEN_JSON_HIDDEN_H

#include <json-c/json.h>

#include "model/model.h"

/* Adds "hidden" to each element of `guests` (the JSON of report->guests,
 * in the same order), to its "vcpus" and "other_threads" elements, and
 * "softirq" and "irq" to each element of `cpus`. Adds nothing when
 * report->cpu_irq is NULL: the interrupt programs did not measure this
 * window, and a missing figure must not read as zero. */
void json_hidden_add(struct json_object *guests, struct json_object *cpus,
		     const struct report *report);

/* Adds "irq_errors": {"culprits_full": N, "unmatched_exit": N}, the
 * window's, to doc; nothing when report->cpu_irq is NULL, as above. */
void json_hidden_add_errors(struct json_object *doc,
			    const struct report *report);

#endif
