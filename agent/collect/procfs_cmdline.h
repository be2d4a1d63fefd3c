/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Parsing a VMM's command line (/proc/PID/cmdline): which VMM, which guest.
 * Pure and fuzzable.
 */
#ifndef KVMWARDEN_PROCFS_CMDLINE_H
#define KVMWARDEN_PROCFS_CMDLINE_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stddef.h>

#include "model/vmm_identity.h"

/*
 * argv as in /proc/PID/cmdline: NUL-separated, len bytes (may lack a final
 * NUL). kind comes from the basename of argv[0]. QEMU: -name (guest=NAME,
 * implied NAME, ",," is a literal comma), --name, -uuid/--uuid (canonical
 * form only). Firecracker: --id ID or --id=ID. A name longer than
 * PROCFS_NAME_LEN - 1 is truncated. Returns 0, or -EINVAL if buf is empty.
 */
int procfs_cmdline_parse(const char *buf, size_t len, struct vmm_identity *out);

#endif
