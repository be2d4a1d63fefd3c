// SPDX-License-Identifier: GPL-2.0-only
/*
 * The text format's primitives (0.0.4): a family's # HELP and # TYPE, a
 * label value escaped, nanoseconds as exact seconds, a one-sample family.
 * Every Prometheus writer (guests, I/O, features, the agent's health) uses
 * these, so none of them needs another.
 */
#include <inttypes.h>

#include "base/units.h"
#include "prom_write.h"

void prom_write_family(FILE *out, const char *name, const char *type,
		       const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void prom_write_label_value(FILE *out, const char *value)
{
	for (const char *c = value; *c; c++) {
		if (*c == '\\')
			fputs("\\\\", out);
		else if (*c == '"')
			fputs("\\\"", out);
		else if (*c == '\n')
			fputs("\\n", out);
		else
			fputc(*c, out);
	}
}

void prom_write_seconds(FILE *out, uint64_t ns)
{
	uint64_t whole = ns / NS_PER_SEC, frac = ns % NS_PER_SEC;
	int digits = 9;

	if (!frac) {
		fprintf(out, "%" PRIu64, whole);
		return;
	}
	while (frac % 10 == 0) {
		frac /= 10;
		digits--;
	}
	fprintf(out, "%" PRIu64 ".%0*" PRIu64, whole, digits, frac);
}

void prom_write_u64_family(FILE *out, const char *name, const char *type,
			   const char *help, uint64_t value)
{
	prom_write_family(out, name, type, help);
	fprintf(out, "%s %" PRIu64 "\n", name, value);
}

void prom_write_seconds_family(FILE *out, const char *name, const char *type,
			       const char *help, uint64_t ns)
{
	prom_write_family(out, name, type, help);
	fprintf(out, "%s ", name);
	prom_write_seconds(out, ns);
	fputc('\n', out);
}

void prom_write_guest_labels(FILE *out, const struct guest *guest)
{
	fputs("guest=\"", out);
	prom_write_label_value(out, guest->name);
	fprintf(out, "\",vmm=\"%s\",pid=\"%d\"", vmm_kind_name(guest->vmm),
		guest->pid);
}
