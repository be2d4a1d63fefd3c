// SPDX-License-Identifier: GPL-2.0-only
/*
 * What a libvirt machine's cgroup path says: the domain's name (v1
 * "qemu-N-NAME.libvirt-qemu", v2 "machine-qemu\\x2dN\\x2dNAME.scope") and
 * which of its sub-cgroups (vcpuN, emulator, iothreadN) a thread is in.
 * Pure: paths come from procfs_read_cgroup.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "model/libvirt_cgroup.h"
#include "model/systemd_names.h"
#include "model/text_fields.h"

/* Next '/'-separated component at *cursor, or NULL at the end. */
static const char *next_component(const char **cursor, size_t *len)
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
		prefixed = text_parse_decimal(&id, UINT64_MAX, &domain_id) ==
				   0 &&
			   *id == '-';
	}
	if (prefixed)
		machine = id + 1;
	else if (!prefix_optional)
		return -ENOENT;
	if (!*machine)
		return -EINVAL;
	return text_copy(name, size, machine, strlen(machine));
}

/* The domain name if this one component is a libvirt QEMU machine. */
static int libvirt_machine_component(const char *comp, size_t len, char *name,
				     size_t size)
{
	static const char v1_suffix[] = ".libvirt-qemu";
	static const char scope_prefix[] = "machine-",
			  scope_suffix[] = ".scope";
	char raw[PROCFS_PATH_LEN], machine[PROCFS_PATH_LEN];
	size_t raw_len;
	int err;

	if (has_affix(comp, len, "", v1_suffix)) {
		if (text_copy(machine, sizeof(machine), comp,
			      len - (sizeof(v1_suffix) - 1)))
			return -EINVAL;
		return strip_qemu_prefix(machine, true, name, size);
	}
	/* systemd-machined names the scope "machine-" + escaped name. */
	if (!has_affix(comp, len, scope_prefix, scope_suffix))
		return -ENOENT;
	raw_len = len - (sizeof(scope_prefix) - 1) - (sizeof(scope_suffix) - 1);
	if (text_copy(raw, sizeof(raw), comp + sizeof(scope_prefix) - 1,
		      raw_len))
		return -EINVAL;
	err = systemd_names_unescape(raw, machine, sizeof(machine));
	if (err)
		return -EINVAL;
	return strip_qemu_prefix(machine, false, name, size);
}

/* Finds the machine component; *rest points just past it. */
static int libvirt_machine_split(const char *path, char *name, size_t size,
				 const char **rest)
{
	const char *cursor = path, *comp;
	size_t len;
	int err;

	if (!path || path[0] != '/' || !name || size == 0)
		return -EINVAL;
	name[0] = '\0';
	while ((comp = next_component(&cursor, &len))) {
		err = libvirt_machine_component(comp, len, name, size);
		if (err != -ENOENT) {
			*rest = cursor;
			return err;
		}
	}
	return -ENOENT;
}

int libvirt_cgroup_name(const char *cgroup_path, char *name, size_t size)
{
	const char *rest;

	return libvirt_machine_split(cgroup_path, name, size, &rest);
}

int libvirt_cgroup_thread_kind(const char *cgroup_path, enum thread_kind *kind,
			       int *index)
{
	char name[PROCFS_PATH_LEN];
	const char *rest, *leaf, *extra;
	size_t leaf_len, extra_len;
	int vcpu, iothread, err;

	err = libvirt_machine_split(cgroup_path, name, sizeof(name), &rest);
	if (err)
		return err;
	leaf = next_component(&rest, &leaf_len);
	/* cgroup v2 puts libvirt's sub-cgroups under a "libvirt" child,
	 * because a v2 cgroup holding processes cannot have children. */
	if (leaf && leaf_len == 7 && memcmp(leaf, "libvirt", 7) == 0)
		leaf = next_component(&rest, &leaf_len);
	extra = next_component(&rest, &extra_len);
	if (!leaf || extra)
		return -ENOENT;
	vcpu = text_suffix_index(leaf, leaf_len, "vcpu");
	iothread = text_suffix_index(leaf, leaf_len, "iothread");
	if (leaf_len == 8 && memcmp(leaf, "emulator", 8) == 0) {
		*kind = THREAD_EMULATOR;
		*index = -1;
	} else if (vcpu >= 0) {
		*kind = THREAD_VCPU;
		*index = vcpu;
	} else if (iothread >= 0) {
		*kind = THREAD_IOTHREAD;
		*index = iothread;
	} else {
		return -ENOENT;
	}
	return 0;
}
