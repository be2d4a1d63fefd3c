// SPDX-License-Identifier: GPL-2.0-only
/*
 * systemd unit-name unescaping ("\\xNN"), for the machine scopes libvirt
 * names through systemd-machined. Pure.
 */
#include <errno.h>
#include <stdbool.h>

#include "model/systemd_names.h"
#include "model/text_fields.h"

static int hex_value(char c)
{
	if (text_is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int systemd_names_unescape(const char *in, char *out, size_t size)
{
	size_t used = 0;
	bool too_long = false;

	if (!in || !out || size == 0)
		return -EINVAL;
	out[0] = '\0';
	for (const char *p = in; *p;) {
		int byte = (unsigned char)*p;

		if (*p == '\\') {
			/* Each of p[1..3] is read only once the byte before it
			 * proved not to be the terminating NUL. */
			int high = p[1] == 'x' ? hex_value(p[2]) : -1;
			int low = high >= 0 ? hex_value(p[3]) : -1;

			if (low < 0 || (high == 0 && low == 0))
				goto malformed;
			byte = high * 16 + low;
			p += 4;
		} else {
			p++;
		}
		/* Keep scanning when out is full: a malformed escape later
		 * on is the more useful error. */
		if (used + 1 >= size)
			too_long = true;
		else
			out[used++] = (char)byte;
	}
	if (too_long) {
		out[0] = '\0';
		return -ENAMETOOLONG;
	}
	out[used] = '\0';
	return 0;
malformed:
	out[0] = '\0';
	return -EINVAL;
}
