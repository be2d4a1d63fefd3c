// SPDX-License-Identifier: GPL-2.0-only
/*
 * The tap a VMM's network option value names, in each VMM's grammar
 * (net_spec.h). Only the grammars: net_devices.c picks the arguments and
 * checks every name before a sysfs path is built from it.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "collect/net_spec.h"

/* One element of a QEMU option string from *pos, unescaped (",," is a
 * comma), cut to fit `out` (a cut name is still too long to be valid).
 * Leaves *pos past its ','. */
static void next_element(const char *opts, size_t len, size_t *pos, char *out,
			 size_t size)
{
	size_t used = 0, p = *pos;

	while (p < len) {
		if (opts[p] == ',' && (p + 1 >= len || opts[p + 1] != ',')) {
			p++;
			break;
		}
		if (used + 1 < size)
			out[used++] = opts[p];
		p += opts[p] == ',' ? 2 : 1;
	}
	out[used] = '\0';
	*pos = p;
}

/* QEMU: the ifname of a tap back end's options ("tap,id=n0,ifname=N" or
 * "type=tap,..."; the first element without '=' is the implied type), or
 * "" when it is another back end or names none. */
void net_spec_qemu_tap(const char *opts, size_t len, char *name, size_t size)
{
	char element[64], ifname[64] = "";
	bool is_tap = false, first = true;
	size_t pos = 0;

	while (pos < len) {
		next_element(opts, len, &pos, element, sizeof(element));
		if (first && !strchr(element, '='))
			is_tap = !strcmp(element, "tap");
		else if (!strncmp(element, "type=", 5))
			is_tap = !strcmp(element + 5, "tap");
		else if (!strncmp(element, "ifname=", 7))
			snprintf(ifname, sizeof(ifname), "%s", element + 7);
		first = false;
	}
	snprintf(name, size, "%s", is_tap ? ifname : "");
}
