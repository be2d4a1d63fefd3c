// SPDX-License-Identifier: GPL-2.0-only
/*
 * What a cgroup path says by its names alone: the libvirt machine it lies
 * in (systemd's unit-name escaping undone). Pure string work, no file
 * read, so discovery (naming a guest), the configuration (who manages a
 * cgroup) and the policy can all ask. The three small helpers at the top
 * are procfs.c's, copied: they are private to each file.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "model/cgroup_path.h"

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Decimal digits at *pos (at least one) not above max; advances *pos. */
static int parse_decimal(const char **pos, uint64_t max, uint64_t *value)
{
	const char *p = *pos;
	uint64_t sum = 0;

	if (!is_digit(*p))
		return -EINVAL;
	for (; is_digit(*p); p++) {
		unsigned int digit = (unsigned int)(*p - '0');

		if (digit > max || sum > (max - digit) / 10)
			return -EINVAL;
		sum = sum * 10 + digit;
	}
	*pos = p;
	*value = sum;
	return 0;
}

static int copy_string(char *out, size_t size, const char *in, size_t len)
{
	if (len >= size)
		return -ENAMETOOLONG;
	memcpy(out, in, len);
	out[len] = '\0';
	return 0;
}

static int hex_value(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int systemd_unescape(const char *in, char *out, size_t size)
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

/* Next '/'-separated component at *cursor, or NULL at the end. */
const char *cgroup_path_next_component(const char **cursor, size_t *len)
{
	const char *start = *cursor;

	while (*start == '/')
		start++;
	if (!*start)
		return NULL;
	*cursor = strchrnul(start, '/');
	*len = (size_t)(*cursor - start);
	return start;
}

static bool has_affix(const char *text, size_t len, const char *prefix,
		      const char *suffix)
{
	size_t prefix_len = strlen(prefix), suffix_len = strlen(suffix);

	return len >= prefix_len + suffix_len &&
	       memcmp(text, prefix, prefix_len) == 0 &&
	       memcmp(text + len - suffix_len, suffix, suffix_len) == 0;
}

/* "qemu-N-NAME" -> NAME. Without the prefix, NAME is the whole machine name
 * only where the layout allows it (libvirt's older v1 "NAME.libvirt-qemu"). */
static int strip_qemu_prefix(const char *machine, bool prefix_optional,
			     char *name, size_t size)
{
	const char *id = machine;
	uint64_t domain_id;
	bool prefixed = false;

	if (strncmp(machine, "qemu-", 5) == 0) {
		id = machine + 5;
		prefixed = parse_decimal(&id, UINT64_MAX, &domain_id) == 0 &&
			   *id == '-';
	}
	if (prefixed)
		machine = id + 1;
	else if (!prefix_optional)
		return -ENOENT;
	if (!*machine)
		return -EINVAL;
	return copy_string(name, size, machine, strlen(machine));
}

/* The domain name if this one component is a libvirt QEMU machine. */
static int libvirt_machine_component(const char *comp, size_t len, char *name,
				     size_t size)
{
	static const char v1_suffix[] = ".libvirt-qemu";
	static const char scope_prefix[] = "machine-",
			  scope_suffix[] = ".scope";
	char raw[CGROUP_PATH_LEN], machine[CGROUP_PATH_LEN];
	size_t raw_len;
	int err;

	if (has_affix(comp, len, "", v1_suffix)) {
		if (copy_string(machine, sizeof(machine), comp,
				len - (sizeof(v1_suffix) - 1)))
			return -EINVAL;
		return strip_qemu_prefix(machine, true, name, size);
	}
	/* systemd-machined names the scope "machine-" + escaped name. */
	if (!has_affix(comp, len, scope_prefix, scope_suffix))
		return -ENOENT;
	raw_len = len - (sizeof(scope_prefix) - 1) - (sizeof(scope_suffix) - 1);
	if (copy_string(raw, sizeof(raw), comp + sizeof(scope_prefix) - 1,
			raw_len))
		return -EINVAL;
	err = systemd_unescape(raw, machine, sizeof(machine));
	if (err)
		return -EINVAL;
	return strip_qemu_prefix(machine, false, name, size);
}

/* Finds the machine component; *rest points just past it. */
int cgroup_path_libvirt_split(const char *path, char *name, size_t size,
			      const char **rest)
{
	const char *cursor = path, *comp;
	size_t len;
	int err;

	if (!path || path[0] != '/' || !name || size == 0)
		return -EINVAL;
	name[0] = '\0';
	while ((comp = cgroup_path_next_component(&cursor, &len))) {
		err = libvirt_machine_component(comp, len, name, size);
		if (err != -ENOENT) {
			*rest = cursor;
			return err;
		}
	}
	return -ENOENT;
}

int cgroup_libvirt_name(const char *cgroup_path, char *name, size_t size)
{
	const char *rest;

	return cgroup_path_libvirt_split(cgroup_path, name, size, &rest);
}
