/* SPDX-License-Identifier: GPL-2.0-only */
/* `kvmwarden top`'s entry (cmd/top.c); main.c dispatches to it. */
#ifndef KVMWARDEN_CMD_TOP_H
#define KVMWARDEN_CMD_TOP_H

#ifdef __bpf__
#error "userspace-only header"
#endif

/* The live view of guests' steal and culprits; the process exit code. */
int cmd_top(int argc, char **argv);

#endif
