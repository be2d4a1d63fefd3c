/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The libvirt backend's one connection to qemu:///system: opened on first
 * need (on a thread of its own, waited for a bounded time), kept alive by
 * libvirt's keepalive on its default event loop, reopened after libvirtd
 * went away. libvirt's own error printing is silenced; its errors become
 * negative errnos here.
 */
#ifndef KVMWARDEN_LIBVIRT_CONN_H
#define KVMWARDEN_LIBVIRT_CONN_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stdint.h>

#define LIBVIRT_URI "qemu:///system"
/* How long a failed connection is not retried: libvirtd down must not
 * cost a connect attempt per interval. */
#define LIBVIRT_RETRY_MS 5000

/* Whether libvirtd answers, connecting when not connected (at most once
 * per LIBVIRT_RETRY_MS; now_ms: monotonic). */
bool libvirt_conn_available(uint64_t now_ms);
/* Closes the connection (a later call reconnects). */
void libvirt_conn_disconnect(void);

/* For the backend's calls outside the control loop (restore, the value
 * functions): connected now, whatever the retry clock says; 0 or
 * -ENOTCONN. */
int libvirt_conn_ensure(void);
/* The open connection (NULL when none): libvirt's virConnectPtr, named by
 * its struct so that this header needs no libvirt header. */
struct _virConnect *libvirt_conn_handle(void);
/* The last libvirt error as a negative errno: -ENOENT for a domain not
 * (or no longer) running, -ENOTCONN for a broken connection (closed here,
 * so the next call reconnects), -EINVAL, -EPERM, -EOPNOTSUPP, else -EIO. */
int libvirt_conn_error(void);

#endif
