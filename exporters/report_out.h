/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Writers of a window report: one JSON document (the `dump --json`
 * contract, documented in README.md) or a readable table.
 */
#ifndef KVMWARDEN_REPORT_OUT_H
#define KVMWARDEN_REPORT_OUT_H

#include <stdio.h>

#include "model/model.h"

/* 0, or a negative errno; writes nothing partial on -ENOMEM. */
int json_write_report(FILE *out, const struct report *report);
int table_write_report(FILE *out, const struct report *report);

#endif
