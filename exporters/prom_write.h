/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The Prometheus text format's primitives (0.0.4), shared by every writer
 * of /metrics text: families, escaped label values, exact seconds.
 */
#ifndef KVMWARDEN_PROM_WRITE_H
#define KVMWARDEN_PROM_WRITE_H

#ifdef __bpf__
#error "userspace-only header"/* A guest's labels, guest="..",vmm="..",pid="..", which every guest series
 * starts with. */
void prom_write_guest_labels(FILE *out, const struct guest *guest);

#endif

#include <stdint.h>
#include <stdio.h>

#include "model/model.h"

/* "# HELP name help" and "# TYPE name type". */
void prom_write_family(FILE *out, const char *name, const char *type,
		       const char *help);
/* Writes `value` with backslash, double quote and newline escaped, as a
 * label value must be. */
void prom_write_label_value(FILE *out, const char *value);
/* Writes ns as seconds, exactly and without trailing zeros: 1500000000 is
 * "1.5", 3 is "0.000000003". */
void prom_write_seconds(FILE *out, uint64_t ns);
/* A family of one unlabelled sample: a count, or nanoseconds as seconds. */
void prom_write_u64_family(FILE *out, const char *name, const char *type,
			   const char *help, uint64_t value);
void prom_write_seconds_family(FILE *out, const char *name, const char *type,
			       const char *help, uint64_t ns);
/* A guest's labels, guest="..",vmm="..",pid="..", which every guest series
 * starts with. */
void prom_write_guest_labels(FILE *out, const struct guest *guest);

#endif
