// SPDX-License-Identifier: GPL-2.0-only
/*
 * Routing of one journaled value to its backend by the shape of its name.
 * Kept apart from the enforcement loop so that the CPU and I/O write steps
 * and the undo path share it without depending on one another.
 */
#include <errno.h>
#include <string.h>

#include "actuate/actuate_affinity.h"
#include "actuate/actuate_cgroup.h"
#include "actuate/actuate_io.h"
#include "actuate/actuate_libvirt.h"
#include "actuate/actuate_steer.h"
#include "actuate/actuate_systemd.h"
#include "actuate/enforce_value.h"

static bool is_affinity(const char *file)
{
	return !strncmp(file, AFFINITY_PREFIX, strlen(AFFINITY_PREFIX));
}

int enforce_value_read(const char *file, char *value, size_t size)
{
	if (libvirt_is_file(file))
		return libvirt_value_read(file, value, size);
	if (systemd_is_entry(file))
		return systemd_entry_read(file, value, size);
	if (io_is_entry(file))
		return io_entry_read(file, value, size);
	if (steer_is_entry(file))
		return steer_entry_read(file, value, size);
	return is_affinity(file) ? affinity_read(file, value, size) :
				   cgroup_file_read(file, value, size);
}

int enforce_value_read_owned(const char *file, const char *owner, char *value,
			     size_t size)
{
	if (steer_is_entry(file) && !steer_entry_owned(file, owner))
		return -ENOENT;
	return enforce_value_read(file, value, size);
}

int enforce_value_write(const char *file, const char *value)
{
	if (libvirt_is_file(file))
		return libvirt_value_write(file, value);
	if (systemd_is_entry(file))
		return systemd_entry_write(file, value);
	if (io_is_entry(file))
		return io_entry_write(file, value);
	if (steer_is_entry(file))
		return steer_entry_write(file, value);
	return is_affinity(file) ? affinity_write(file, value) :
				   cgroup_file_write(file, value);
}

const char *enforce_value_entry(const char *file)
{
	return systemd_is_entry(file) || libvirt_is_file(file) ? file : "";
}
