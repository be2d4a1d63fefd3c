/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What `run` tells the journal and the service manager about the guests:
 * each one found and gone, and the periodic per-guest summary with the
 * worst steal in `systemctl status`.
 */
#ifndef KVMWARDEN_CMD_RUN_SUMMARY_H
#define KVMWARDEN_CMD_RUN_SUMMARY_H

#include <stddef.h>
#include <stdint.h>

#include "model/model.h"

/* Guests running now: the table keeps exited ones listed for a while. */
size_t run_summary_live_guests(const struct guest_table *table);
/* Logs guests with an id above *last_id as found (moving it on) and those
 * that exited after since_ns as gone. */
void run_summary_announce(const struct guest_table *table, uint64_t *last_id,
			  uint64_t since_ns);
/* One line per running guest of the window, and the status line. */
void run_summary_log(const struct report *report);

#endif
