// SPDX-License-Identifier: GPL-2.0-only
/*
 * libvirt_text.h: the backend's names and texts, kept apart from the live
 * API (actuate_libvirt.c) and its connection (libvirt_conn.c) so they are
 * tested without libvirtd.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actuate/actuate_cgroup.h"
#include "actuate/libvirt_text.h"

static int parse_id(const char *digits, size_t len)
{
	int id = 0;

	if (!len || len > 9)
		return -ENOENT;
	for (size_t i = 0; i < len; i++) {
		if (digits[i] < '0' || digits[i] > '9')
			return -ENOENT;
		id = id * 10 + (digits[i] - '0');
	}
	return id;
}

/* The ID in one path component, when it is a libvirt QEMU machine's. */
static int component_id(const char *comp, size_t len)
{
	static const char v1_prefix[] = "qemu-", v1_suffix[] = ".libvirt-qemu";
	static const char v2_prefix[] = "machine-qemu\\x2d",
			  v2_dash[] = "\\x2d";
	static const char v2_suffix[] = ".scope";
	const char *digits, *end;

	if (len > strlen(v1_prefix) + strlen(v1_suffix) &&
	    !strncmp(comp, v1_prefix, strlen(v1_prefix)) &&
	    !strncmp(comp + len - strlen(v1_suffix), v1_suffix,
		     strlen(v1_suffix))) {
		digits = comp + strlen(v1_prefix);
		end = memchr(digits, '-', (size_t)(comp + len - digits));
		return end ? parse_id(digits, (size_t)(end - digits)) : -ENOENT;
	}
	if (len > strlen(v2_prefix) + strlen(v2_suffix) &&
	    !strncmp(comp, v2_prefix, strlen(v2_prefix)) &&
	    !strncmp(comp + len - strlen(v2_suffix), v2_suffix,
		     strlen(v2_suffix))) {
		digits = comp + strlen(v2_prefix);
		end = memmem(digits, (size_t)(comp + len - digits), v2_dash,
			     strlen(v2_dash));
		return end ? parse_id(digits, (size_t)(end - digits)) : -ENOENT;
	}
	return -ENOENT;
}

int libvirt_machine_id(const char *cgroup_path)
{
	const char *part = cgroup_path;

	while (part && *part) {
		const char *end;
		int id;

		while (*part == '/')
			part++;
		end = strchrnul(part, '/');
		id = component_id(part, (size_t)(end - part));
		if (id >= 0)
			return id;
		part = end;
	}
	return -ENOENT;
}

bool libvirt_is_file(const char *file)
{
	return !strncmp(file, LIBVIRT_PREFIX, strlen(LIBVIRT_PREFIX));
}

int libvirt_file_name(const char *uuid, int id, enum policy_knob knob,
		      char *file, size_t size)
{
	if (snprintf(file, size, LIBVIRT_PREFIX "%s:%d:%s", uuid, id,
		     policy_knob_name(knob)) >= (int)size)
		return -ENAMETOOLONG;
	return 0;
}

int libvirt_file_parse(const char *file, char *uuid, size_t uuid_size, int *id,
		       enum policy_knob *knob)
{
	static const enum policy_knob knobs[] = { POLICY_KNOB_CPU_WEIGHT,
						  POLICY_KNOB_CPU_QUOTA,
						  POLICY_KNOB_SEPARATE };
	const char *at, *colon;
	char *end;
	long parsed;

	if (!libvirt_is_file(file))
		return -EINVAL;
	at = file + strlen(LIBVIRT_PREFIX);
	colon = strchr(at, ':');
	if (!colon || colon == at || (size_t)(colon - at) >= uuid_size)
		return -EINVAL;
	snprintf(uuid, uuid_size, "%.*s", (int)(colon - at), at);
	errno = 0;
	parsed = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end != ':' || parsed < 0 ||
	    parsed > 999999999)
		return -EINVAL;
	*id = (int)parsed;
	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++)
		if (!strcmp(end + 1, policy_knob_name(knobs[i]))) {
			*knob = knobs[i];
			return 0;
		}
	return -EINVAL;
}

const char *const *libvirt_knob_params(enum policy_knob knob)
{
	static const char *const weight[] = { "cpu_shares", NULL };
	/* The emulator threads too: a cap the emulator could escape would
	 * leave a guest's I/O and device emulation as loud as before. */
	static const char *const quota[] = { "vcpu_quota", "emulator_quota",
					     NULL };

	if (knob == POLICY_KNOB_CPU_WEIGHT)
		return weight;
	if (knob == POLICY_KNOB_CPU_QUOTA)
		return quota;
	return NULL;
}

uint64_t libvirt_shares_for_weight(int cgroup_version, uint32_t weight)
{
	uint64_t shares = (uint64_t)weight * 1024 / 100;

	if (cgroup_version == 2)
		return weight < 1 ? 1 : weight > 10000 ? 10000 : weight;
	return shares < 2 ? 2 : shares > 262144 ? 262144 : shares;
}

int64_t libvirt_quota_us(uint64_t period_us, uint32_t percent,
			 unsigned int vcpus)
{
	uint64_t quota;

	if (!period_us)
		period_us = CGROUP_DEFAULT_PERIOD_US;
	quota = period_us * percent / 100 / (vcpus ? vcpus : 1);
	return quota < CGROUP_MIN_QUOTA_US ? CGROUP_MIN_QUOTA_US :
					     (int64_t)quota;
}

/* A token of a space-separated `name=value` list, pointing into it. */
struct pair_token {
	const char *name, *value;
	size_t name_len, value_len;
};

/* The next token at *at, which moves past it: 1, 0 at the end of the
 * text, or -EINVAL for a token with no '=' or an empty name. */
static int next_pair(const char **at, struct pair_token *token)
{
	const char *eq, *end;

	while (**at == ' ')
		(*at)++;
	if (!**at)
		return 0;
	end = strchrnul(*at, ' ');
	eq = memchr(*at, '=', (size_t)(end - *at));
	if (!eq || eq == *at)
		return -EINVAL;
	token->name = *at;
	token->name_len = (size_t)(eq - *at);
	token->value = eq + 1;
	token->value_len = (size_t)(end - eq - 1);
	*at = end;
	return 1;
}

int libvirt_params_parse(const char *text, char names[][32], int64_t *values,
			 int max)
{
	const char *at = text;
	struct pair_token token;
	int count = 0, found;

	while ((found = next_pair(&at, &token)) > 0) {
		char *num_end;
		long long value;

		if (token.name_len >= 32 || count == max)
			return -EINVAL;
		errno = 0;
		value = strtoll(token.value, &num_end, 10);
		if (errno || num_end == token.value ||
		    num_end != token.value + token.value_len)
			return -EINVAL;
		snprintf(names[count], 32, "%.*s", (int)token.name_len,
			 token.name);
		values[count++] = value;
	}
	if (found < 0)
		return found;
	return count ? count : -EINVAL;
}

int libvirt_params_format(const char *const *names, const int64_t *values,
			  int count, char *text, size_t size)
{
	size_t used = 0;

	if (size)
		text[0] = '\0';
	for (int i = 0; i < count; i++) {
		int wrote = snprintf(text + used, size - used, "%s%s=%" PRId64,
				     i ? " " : "", names[i], values[i]);

		if (wrote < 0 || (size_t)wrote >= size - used)
			return -ENAMETOOLONG;
		used += (size_t)wrote;
	}
	return 0;
}

int libvirt_text_for_each_pin(const char *text,
			      int (*each)(const char *name,
					  const struct cpu_mask *mask,
					  void *data),
			      void *data)
{
	const char *at = text;
	struct pair_token token;
	int count = 0, found, err;

	while ((found = next_pair(&at, &token)) > 0) {
		char name[32], list[512];
		struct cpu_mask mask;

		if (token.name_len >= sizeof(name) ||
		    token.value_len >= sizeof(list))
			return -EINVAL;
		snprintf(name, sizeof(name), "%.*s", (int)token.name_len,
			 token.name);
		snprintf(list, sizeof(list), "%.*s", (int)token.value_len,
			 token.value);
		if (affinity_parse(list, &mask))
			return -EINVAL;
		err = each(name, &mask, data);
		if (err)
			return err;
		count++;
	}
	if (found < 0)
		return found;
	return count ? 0 : -EINVAL;
}

struct separate_out {
	const struct cpu_mask *victim, *rest;
	char *text;
	size_t size, used;
};

static int separate_one(const char *name, const struct cpu_mask *mask,
			void *data)
{
	struct separate_out *out = data;
	struct cpu_mask wanted;
	bool any = false;
	char list[512];
	int wrote;

	for (size_t w = 0; w < AFFINITY_MAX_CPUS / 64; w++) {
		wanted.bits[w] = mask->bits[w] & ~out->victim->bits[w];
		any |= wanted.bits[w] != 0;
	}
	if (!any)
		wanted = *out->rest;
	if (affinity_format(&wanted, list, sizeof(list)))
		return -EINVAL;
	wrote = snprintf(out->text + out->used, out->size - out->used,
			 "%s%s=%s", out->used ? " " : "", name, list);
	if (wrote < 0 || (size_t)wrote >= out->size - out->used)
		return -ENAMETOOLONG;
	out->used += (size_t)wrote;
	return 0;
}

int libvirt_separate_text(const char *current, const struct cpu_mask *victim,
			  const struct cpu_mask *rest, char *text, size_t size)
{
	struct separate_out out = { victim, rest, text, size, 0 };

	if (size)
		text[0] = '\0';
	return libvirt_text_for_each_pin(current, separate_one, &out);
}
