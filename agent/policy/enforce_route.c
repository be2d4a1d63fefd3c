// SPDX-License-Identifier: GPL-2.0-only
/*
 * The routing decision of enforce_route.h: the one place that says which
 * backend owns a write, for the policy (is it a target at all?) and for
 * enforce_cpu.c and enforce_io.c (where does the value live?) alike.
 */
#include <string.h>

#include "policy/enforce_route.h"

enum enforce_backend enforce_route(const struct enforce_config *enforce,
				   const char *cgroup, bool libvirt_up,
				   bool systemd_up)
{
	const char *manager = enforce_config_path_manager(cgroup);

	if (!enforce_config_path_allowed(enforce, cgroup))
		return ENFORCE_BACKEND_NONE;
	if (libvirt_up && manager && !strcmp(manager, "libvirt"))
		return ENFORCE_BACKEND_LIBVIRT;
	if (systemd_up && !enforce->write_managed_cgroups && manager &&
	    !strcmp(manager, "systemd") && enforce_config_path_is_unit(cgroup))
		return ENFORCE_BACKEND_SYSTEMD;
	if (enforce_config_path_writable(enforce, cgroup))
		return ENFORCE_BACKEND_CGROUPFS;
	return ENFORCE_BACKEND_NONE;
}

const char *enforce_route_backend_name(enum enforce_backend backend)
{
	switch (backend) {
	case ENFORCE_BACKEND_CGROUPFS:
		return "cgroupfs";
	case ENFORCE_BACKEND_LIBVIRT:
		return "libvirt";
	case ENFORCE_BACKEND_SYSTEMD:
		return "systemd";
	case ENFORCE_BACKEND_NONE:
		break;
	}
	return "none";
}
