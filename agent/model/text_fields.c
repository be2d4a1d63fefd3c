// SPDX-License-Identifier: GPL-2.0-only
/*
 * Small parsers of the text /proc, cgroup paths and command lines hold:
 * digits with a bound, a name followed by an index, a length-checked copy.
 * Shared by the procfs readers and the cgroup and command-line parsers.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "model/text_fields.h"

bool text_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Decimal digits at *pos (at least one) not above max; advances *pos. */
int text_parse_decimal(const char **pos, uint64_t max, uint64_t *value)
{
	const char *p = *pos;
	uint64_t sum = 0;

	if (!text_is_digit(*p))
		return -EINVAL;
	for (; text_is_digit(*p); p++) {
		unsigned int digit = (unsigned int)(*p - '0');

		if (digit > max || sum > (max - digit) / 10)
			return -EINVAL;
		sum = sum * 10 + digit;
	}
	*pos = p;
	*value = sum;
	return 0;
}

/* A whole string of digits as a positive int ("123", not "12a" or "0"). */
int text_parse_id(const char *text, int *id)
{
	uint64_t value;

	if (text_parse_decimal(&text, INT_MAX, &value) || *text || value == 0)
		return -EINVAL;
	*id = (int)value;
	return 0;
}

/* prefix followed by digits up to the end: "vcpu12" with prefix "vcpu". */
int text_suffix_index(const char *text, size_t len, const char *prefix)
{
	size_t prefix_len = strlen(prefix);
	const char *p = text + prefix_len;
	uint64_t value;

	if (len <= prefix_len || strncmp(text, prefix, prefix_len) != 0)
		return -1;
	if (text_parse_decimal(&p, INT_MAX, &value) || p != text + len)
		return -1;
	return (int)value;
}

int text_copy(char *out, size_t size, const char *in, size_t len)
{
	if (len >= size)
		return -ENAMETOOLONG;
	memcpy(out, in, len);
	out[len] = '\0';
	return 0;
}
