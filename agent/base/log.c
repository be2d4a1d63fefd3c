// SPDX-License-Identifier: GPL-2.0-only
/* base/log.h: the line is built in memory and written with one write(2). */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"

/* Most lines fit here; a longer one (a list of configuration problems) is
 * built on the heap, and only if that fails is it cut and marked. */
#define LOG_LINE_STACK 1024

static void write_all(const char *text, size_t len)
{
	/* stderr may hold unflushed stdio text of the same thread. */
	fflush(stderr);
	while (len > 0) {
		ssize_t written = write(STDERR_FILENO, text, len);

		if (written <= 0)
			return;
		text += written;
		len -= (size_t)written;
	}
}

/* Writes prefix + the formatted text as one line, in one write(2). */
__attribute__((format(printf, 2, 0))) static void
write_line(const char *prefix, const char *format, va_list args)
{
	char stack[LOG_LINE_STACK], *line = stack;
	size_t prefix_len = strlen(prefix), size = sizeof(stack), len;
	va_list again;
	int text_len;

	va_copy(again, args);
	text_len = vsnprintf(NULL, 0, format, again);
	va_end(again);
	if (text_len < 0)
		text_len = 0;
	/* The prefix, the text, a newline and the terminator. */
	if (prefix_len + (size_t)text_len + 2 > size) {
		line = malloc(prefix_len + (size_t)text_len + 2);
		if (line)
			size = prefix_len + (size_t)text_len + 2;
		else
			line = stack;
	}
	if (prefix_len > 64)
		prefix_len = 64; /* the callers' prefixes are short */
	memcpy(line, prefix, prefix_len);
	/* Leaves a byte for the newline. */
	vsnprintf(line + prefix_len, (size - prefix_len - 1) & 0x7fffffff,
		  format, args);
	len = strlen(line);
	if (line == stack && prefix_len + (size_t)text_len + 2 > size) {
		/* Out of memory for a long line: cut, and say so. */
		memcpy(line + len - 3, "...", 3);
	}
	if (len == 0 || line[len - 1] != '\n')
		line[len++] = '\n';
	write_all(line, len);
	if (line != stack)
		free(line);
}

void log_vline(enum log_priority priority, const char *format, va_list args)
{
	char prefix[32];

	snprintf(prefix, sizeof(prefix), "<%d>kvmwarden: ", (int)priority);
	write_line(prefix, format, args);
}

void log_line(enum log_priority priority, const char *format, ...)
{
	va_list args;

	va_start(args, format);
	log_vline(priority, format, args);
	va_end(args);
}

void log_say(const char *format, ...)
{
	va_list args;

	va_start(args, format);
	write_line("kvmwarden: ", format, args);
	va_end(args);
}
