// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_systemd.sh's helper inside the TCG systemd boot: one value of the
 * systemd backend (agent/actuate/actuate_systemd.c), read or written (and read
 * back) through systemd's D-Bus API, as the agent would.
 * Usage: kvmw-sdbus systemd:UNIT/PROPERTY[#MAJ:MIN] [VALUE]
 * Prints the value (after the write, what reads back); exit 1 on error.
 */
#include <stdio.h>
#include <string.h>

#include "actuate/actuate_systemd.h"

int main(int argc, char **argv)
{
	char value[256];
	int err;

	if (argc < 2 || argc > 3 || !systemd_is_entry(argv[1])) {
		fputs("usage: kvmw-sdbus systemd:UNIT/PROPERTY[#MAJ:MIN] "
		      "[VALUE]\n",
		      stderr);
		return 2;
	}
	if (argc == 3) {
		err = systemd_entry_write(argv[1], argv[2]);
		if (err) {
			fprintf(stderr, "kvmw-sdbus: writing %s: %s\n",
				argv[2], strerror(-err));
			return 1;
		}
	}
	err = systemd_entry_read(argv[1], value, sizeof(value));
	if (err) {
		fprintf(stderr, "kvmw-sdbus: reading: %s\n", strerror(-err));
		return 1;
	}
	puts(value);
	return 0;
}
