// SPDX-License-Identifier: GPL-2.0-only
/*
 * `kvmwarden restore`: undoes what enforcement changed on the system (cgroup
 * limits, affinities), from the journal the agent keeps. The service runs it
 * after every stop (ExecStopPost), so a crashed agent leaves nothing behind.
 * This version enforces nothing yet, so there is nothing to undo.
 */
#include <stdio.h>

#include "commands.h"

int cmd_restore(int argc, char **argv)
{
	if (argc != 1) {
		fputs("usage: kvmwarden restore\n", stderr);
		return 2;
	}
	puts("kvmwarden: nothing to restore");
	return 0;
}
