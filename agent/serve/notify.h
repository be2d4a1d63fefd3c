/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Telling the service manager how the agent is doing (sd_notify): ready,
 * a status line, alive (watchdog), stopping. Every call is a no-op when
 * NOTIFY_SOCKET is unset, so the agent run by hand behaves the same.
 */
#ifndef KVMWARDEN_NOTIFY_H
#define KVMWARDEN_NOTIFY_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdint.h>

/* READY=1, with STATUS=status when status is not NULL. */
void notify_ready(const char *status);
/* STATUS=..., printf-style; newlines become spaces (one line per field). */
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void notify_stopping(void);
/* The watchdog interval the manager expects pings within, in
 * microseconds, or 0 when there is no watchdog (or no manager). */
uint64_t notify_watchdog_usec(void);
/* WATCHDOG=1: the main loop is alive. */
void notify_watchdog(void);

#endif
