// SPDX-License-Identifier: GPL-2.0-only
/*
 * The tap a VMM's network option value names, in each VMM's grammar
 * (net_spec.h). Only the grammars: net_devices.c picks the arguments and
 * checks every name before a sysfs path is built from it.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "collect/net_spec.h"

/* One element of a QEMU option string from *pos, unescaped (",," is a
 * comma), cut to fit `out` (a cut name is still too long to be valid).
 * Leaves *pos past its ','. */
static void next_element(const char *opts, size_t len, size_t *pos, char *out,
			 size_t size)
{
	size_t used = 0, p = *pos;

	while (p < len) {
		if (opts[p] == ',' && (p + 1 >= len || opts[p + 1] != ',')) {
			p++;
			break;
		}
		if (used + 1 < size)
			out[used++] = opts[p];
		p += opts[p] == ',' ? 2 : 1;
	}
	out[used] = '\0';
	*pos = p;
}

/* QEMU's JSON form, '{"type":"tap","id":"n0","ifname":"N"}': libvirt's
 * passes the tap as a descriptor (fd), a hand-written one may name it. */
static void qemu_json_tap(const char *opts, size_t len, char *name,
			  size_t size)
{
	struct json_tokener *tokener = json_tokener_new();
	struct json_object *doc = NULL, *type, *ifname;

	name[0] = '\0';
	if (!tokener || len > INT32_MAX)
		goto cleanup;
	doc = json_tokener_parse_ex(tokener, opts, (int)len);
	/* Only a whole object: trailing bytes or a cut one name nothing. */
	if (!doc || json_tokener_get_error(tokener) != json_tokener_success ||
	    json_tokener_get_parse_end(tokener) != len ||
	    !json_object_is_type(doc, json_type_object))
		goto cleanup;
	if (json_object_object_get_ex(doc, "type", &type) &&
	    json_object_is_type(type, json_type_string) &&
	    !strcmp(json_object_get_string(type), "tap") &&
	    json_object_object_get_ex(doc, "ifname", &ifname) &&
	    json_object_is_type(ifname, json_type_string) &&
	    (size_t)json_object_get_string_len(ifname) < size)
		snprintf(name, size, "%s", json_object_get_string(ifname));
cleanup:
	json_object_put(doc);
	if (tokener)
		json_tokener_free(tokener);
}

/* QEMU: the ifname of a tap back end's options ("tap,id=n0,ifname=N" or
 * "type=tap,..."; the first element without '=' is the implied type), or
 * "" when it is another back end or names none. */
void net_spec_qemu_tap(const char *opts, size_t len, char *name, size_t size)
{
	char element[64], ifname[64] = "";
	bool is_tap = false, first = true;
	size_t pos = 0;

	if (len && opts[0] == '{') {
		qemu_json_tap(opts, len, name, size);
		return;
	}
	while (pos < len) {
		next_element(opts, len, &pos, element, sizeof(element));
		if (first && !strchr(element, '='))
			is_tap = !strcmp(element, "tap");
		else if (!strncmp(element, "type=", 5))
			is_tap = !strcmp(element + 5, "tap");
		else if (!strncmp(element, "ifname=", 7))
			snprintf(ifname, sizeof(ifname), "%s", element + 7);
		first = false;
	}
	snprintf(name, size, "%s", is_tap ? ifname : "");
}

static bool span_is(const char *text, size_t len, const char *word)
{
	return len == strlen(word) && !memcmp(text, word, len);
}

/* Copies a name of len bytes into `name`, or says it does not fit. */
static int copy_span(const char *text, size_t len, char *name, size_t size)
{
	if (len >= size)
		return -ENAMETOOLONG;
	memcpy(name, text, len);
	name[len] = '\0';
	return 0;
}

/* Shrinks [*start, *end) past white space at both ends, as Rust's trim()
 * does for the ASCII that an interface name could hold. */
static void trim_span(const char *text, size_t *start, size_t *end)
{
	while (*start < *end && isspace((unsigned char)text[*start]))
		(*start)++;
	while (*end > *start && isspace((unsigned char)text[*end - 1]))
		(*end)--;
}

/* What one cloud-hypervisor --net value says of its tap so far. */
struct ch_net {
	const char *tap; /* the last tap= value, trimmed, quotes and all */
	size_t tap_len;
	bool vhost_user;
};

/* One "key=value" element. cloud-hypervisor refuses a key it knows
 * without '='; keys of other devices' options are not ours to judge. */
static int ch_element(const char *element, size_t len, struct ch_net *net)
{
	const char *equals = memchr(element, '=', len);
	size_t key_len = equals ? (size_t)(equals - element) : len;
	size_t start = key_len + 1, end = len;
	bool is_tap = span_is(element, key_len, "tap");

	if (!is_tap && !span_is(element, key_len, "vhost_user"))
		return 0;
	if (!equals)
		return -EINVAL;
	trim_span(element, &start, &end);
	if (is_tap) {
		net->tap = element + start;
		net->tap_len = end - start;
		return 0;
	}
	/* Its Toggle: "on" or "true", any case, quoted or not. */
	if (end - start >= 2 && element[start] == '"' &&
	    element[end - 1] == '"') {
		start++;
		end--;
	}
	net->vhost_user =
		(end - start == 2 && !strncasecmp(element + start, "on", 2)) ||
		(end - start == 4 && !strncasecmp(element + start, "true", 4));
	return 0;
}

int net_spec_cloud_hypervisor_tap(const char *spec, size_t len, char *name,
				  size_t size)
{
	struct ch_net net = { 0 };
	size_t start = 0, end = len, element, used = 0;
	unsigned int brackets = 0;
	bool quoted = false;
	int err;

	if (!size)
		return -ENAMETOOLONG;
	trim_span(spec, &start, &end);
	element = start;
	for (size_t p = start; p <= end; p++) {
		if (p < end) {
			if (spec[p] == '"')
				quoted = !quoted;
			else if (quoted)
				continue;
			else if (spec[p] == '[')
				brackets++;
			else if (spec[p] == ']' && brackets-- == 0)
				return -EINVAL;
			if (spec[p] != ',' || quoted || brackets)
				continue;
		}
		err = ch_element(spec + element, p - element, &net);
		if (err)
			return err;
		element = p + 1;
	}
	if (quoted || brackets)
		return -EINVAL;
	if (net.vhost_user || !net.tap || !net.tap_len)
		return -ENOENT;
	/* Its quotes are dropped; a doubled one is a literal quote to
	 * newer versions and nothing to older ones, so which device it
	 * means is not known. */
	if (memmem(net.tap, net.tap_len, "\"\"", 2))
		return -EINVAL;
	for (size_t i = 0; i < net.tap_len; i++) {
		if (net.tap[i] == '"')
			continue;
		if (used + 1 >= size)
			return -ENAMETOOLONG;
		name[used++] = net.tap[i];
	}
	name[used] = '\0';
	return used ? 0 : -ENOENT;
}

/* One serde_keyvalue value from *pos, which is past the '='; leaves *pos
 * on what follows it. `text`/`text_len` get the raw string between its
 * quotes (or the run itself), `escaped` whether \\ escapes apply. A
 * bracketed value is a list or a structure: no string, text NULL. */
static int crosvm_value(const char *spec, size_t len, size_t *pos,
			const char **text, size_t *text_len, bool *escaped)
{
	size_t p = *pos, depth = 0;
	char quote = 0;

	*text = NULL;
	*escaped = false;
	if (p < len && (spec[p] == '"' || spec[p] == '\'')) {
		quote = spec[p++];
		*text = spec + p;
		*escaped = quote == '"';
		while (p < len && spec[p] != quote)
			p += quote == '"' && spec[p] == '\\' ? 2 : 1;
		if (p >= len)
			return -EINVAL;
		*text_len = (size_t)(spec + p - *text);
		*pos = p + 1;
		return 0;
	}
	if (p < len && spec[p] == '[') {
		/* Skipped whole, quoted strings and all. */
		for (; p < len; p++) {
			if (quote) {
				if (quote == '"' && spec[p] == '\\')
					p++;
				else if (spec[p] == quote)
					quote = 0;
			} else if (spec[p] == '"' || spec[p] == '\'') {
				quote = spec[p];
			} else if (spec[p] == '[') {
				depth++;
			} else if (spec[p] == ']' && --depth == 0) {
				*pos = p + 1;
				return 0;
			}
		}
		return -EINVAL;
	}
	*text = spec + p;
	/* strchr() finds a NUL too: none belongs in a value. */
	while (p < len && !strchr(",\"'[]", spec[p]))
		p++;
	*text_len = (size_t)(spec + p - *text);
	*pos = p;
	return *text_len ? 0 : -EINVAL; /* an empty one must be quoted */
}

/* A double-quoted string without its escapes (\" and \\ only). */
static int crosvm_unescape(const char *text, size_t len, char *name,
			   size_t size)
{
	size_t used = 0;

	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\\') {
			if (++i >= len || (text[i] != '"' && text[i] != '\\'))
				return -EINVAL;
		}
		if (used + 1 >= size)
			return -ENAMETOOLONG;
		name[used++] = text[i];
	}
	name[used] = '\0';
	return 0;
}

int net_spec_crosvm_tap(const char *spec, size_t len, char *name, size_t size)
{
	const char *tap = NULL, *value;
	size_t pos = 0, tap_len = 0, value_len = 0;
	bool tap_escaped = false, escaped = false, tap_fd = false;
	int err;

	while (pos < len) {
		size_t key = pos, key_len;

		while (pos < len && spec[pos] != '=' && spec[pos] != ',')
			pos++;
		key_len = pos - key;
		value = NULL;
		if (pos < len && spec[pos] == '=') {
			pos++;
			err = crosvm_value(spec, len, &pos, &value, &value_len,
					   &escaped);
			if (err)
				return err;
		}
		/* After a value: the next key, or the end. */
		if (pos < len && spec[pos++] != ',')
			return -EINVAL;
		if (span_is(spec + key, key_len, "tap-fd")) {
			tap_fd = true;
		} else if (span_is(spec + key, key_len, "tap-name")) {
			if (tap || !value)
				return -EINVAL;
			tap = value;
			tap_len = value_len;
			tap_escaped = escaped;
		}
	}
	if (tap && tap_fd)
		return -EINVAL;
	if (!tap || !tap_len)
		return -ENOENT;
	if (tap_escaped)
		return crosvm_unescape(tap, tap_len, name, size);
	return copy_span(tap, tap_len, name, size);
}
