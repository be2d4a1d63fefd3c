/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The one way the agent writes a line for people to read. Each line goes to
 * stderr whole, in one write (threads do not interleave), behind sd-daemon's
 * priority prefix ("<3>kvmwarden: ..."), which journald files at that level
 * and which a terminal shows as it is: the prefix is part of the documented
 * output and tests match it.
 *
 * Who logs: the layers that own a decision (cmd/, the enforcement loop and
 * its action lines, the servers' start and stop). Parsers, collectors and
 * models return -errno and, where a reason helps, fill a caller's buffer.
 */
#ifndef KVMWARDEN_BASE_LOG_H
#define KVMWARDEN_BASE_LOG_H

#include <stdarg.h>

/* syslog(3)'s numbers, which the prefix carries. */
enum log_priority {
	LOG_PRIO_ERR = 3,
	LOG_PRIO_WARNING = 4,
	LOG_PRIO_NOTICE = 5,
	LOG_PRIO_INFO = 6,
	LOG_PRIO_DEBUG = 7, /* only behind KVMWARDEN_DEBUG (libbpf's, MHD's) */
};

/*
 * Writes "<priority>kvmwarden: " and the formatted text; a newline is added
 * unless the text already ends with one.
 */
void log_line(enum log_priority priority, const char *format, ...)
	__attribute__((format(printf, 2, 3)));

/* log_line for a caller that holds a va_list (libbpf's print callback). */
void log_vline(enum log_priority priority, const char *format, va_list args)
	__attribute__((format(printf, 2, 0)));

/*
 * A command's answer to the person who ran it ("kvmwarden: dump: --duration
 * wants seconds"): the same one-write line without a priority, since it
 * goes to a terminal, not to the journal. The long-running agent's lines
 * use the priority functions.
 */
void log_say(const char *format, ...) __attribute__((format(printf, 1, 2)));

#define log_err(...) log_line(LOG_PRIO_ERR, __VA_ARGS__)
#define log_warn(...) log_line(LOG_PRIO_WARNING, __VA_ARGS__)
#define log_notice(...) log_line(LOG_PRIO_NOTICE, __VA_ARGS__)
#define log_info(...) log_line(LOG_PRIO_INFO, __VA_ARGS__)

#endif
