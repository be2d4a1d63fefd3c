/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One network option value of a VMM's command line, in that VMM's own
 * grammar, and the tap device it names. Owns the grammars only: which
 * argument is such a value, and whether a name is one the kernel would
 * take, are net_devices.c's (net_devices_name_valid). Pure: never
 * trusts its input, never prints.
 */
#ifndef KVMWARDEN_NET_SPEC_H
#define KVMWARDEN_NET_SPEC_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stddef.h>

/* QEMU: the ifname of a tap back end's options ("tap,id=n0,ifname=N" or
 * "type=tap,..."), or "" when they are another back end or name none.
 * `opts` is len bytes, not NUL-terminated; a name cut to fit `size` is
 * still too long to be valid when size is well over IFNAMSIZ. */
void net_spec_qemu_tap(const char *opts, size_t len, char *name, size_t size);

#endif
