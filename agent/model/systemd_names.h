/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * systemd unit-name escaping, undone. Pure and fuzzable.
 */
#ifndef KVMWARDEN_SYSTEMD_NAMES_H
#define KVMWARDEN_SYSTEMD_NAMES_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stddef.h>

/* Undoes systemd unit-name escaping: any "\xNN" becomes that byte. Returns 0,
 * -EINVAL on a malformed escape (or "\x00"), -ENAMETOOLONG if out is small. */
int systemd_names_unescape(const char *in, char *out, size_t size);

#endif
