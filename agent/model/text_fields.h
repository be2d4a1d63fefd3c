/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Small text parsers shared by collect/'s readers and parsers. Pure.
 */
#ifndef KVMWARDEN_TEXT_FIELDS_H
#define KVMWARDEN_TEXT_FIELDS_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

bool text_is_digit(char c);
/* Decimal digits at *pos (at least one) not above max; advances *pos. */
int text_parse_decimal(const char **pos, uint64_t max, uint64_t *value);
/* A whole string of digits as a positive int ("123", not "12a" or "0"). */
int text_parse_id(const char *text, int *id);
/* prefix followed by digits up to len: "vcpu12" with prefix "vcpu" is 12;
 * -1 when it is not so. */
int text_suffix_index(const char *text, size_t len, const char *prefix);
/* in[0..len) into out, NUL-terminated, or -ENAMETOOLONG. */
int text_copy(char *out, size_t size, const char *in, size_t len);

#endif
