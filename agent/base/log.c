// SPDX-License-Identifier: GPL-2.0-only
/* base/log.h: the line is built in memory and written with one write(2). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"

/* Longer text is cut and marked, never split across writes. */
#define LOG_LINE_MAX 4096

void log_line(enum log_priority priority, const char *format, ...)
{
	char line[LOG_LINE_MAX];
	va_list args;
	int prefix_len, text_len;
	size_t len;

	prefix_len = snprintf(line, sizeof(line), "<%d>kvmwarden: ",
			      (int)priority);
	va_start(args, format);
	text_len = vsnprintf(line + prefix_len, sizeof(line) - prefix_len,
			     format, args);
	va_end(args);
	if (text_len < 0)
		text_len = 0;
	len = (size_t)prefix_len + (size_t)text_len;
	if (len >= sizeof(line) - 1) {
		/* Room for the marker and the newline. */
		len = sizeof(line) - 5;
		memcpy(line + len, "...", 3);
		len += 3;
	}
	if (len == 0 || line[len - 1] != '\n')
		line[len++] = '\n';
	/* stderr may hold unflushed stdio text of the same thread. */
	fflush(stderr);
	while (len > 0) {
		ssize_t written = write(STDERR_FILENO, line, len);

		if (written <= 0)
			return;
		memmove(line, line + written, len - (size_t)written);
		len -= (size_t)written;
	}
}
