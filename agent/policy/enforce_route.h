/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Which backend acts on a cgroup: libvirt's live API for a libvirt
 * machine, systemd's unit properties for a unit's own cgroup, the cgroup
 * files for one no manager owns (or any, with write_managed_cgroups), or
 * none. Pure: whether libvirtd and systemd answer is the caller's to say.
 */
#ifndef KVMWARDEN_ENFORCE_ROUTE_H
#define KVMWARDEN_ENFORCE_ROUTE_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>

#include "config/enforce_config.h"

enum enforce_backend {
	ENFORCE_BACKEND_NONE, /* nothing may write it */
	ENFORCE_BACKEND_CGROUPFS,
	ENFORCE_BACKEND_LIBVIRT,
	ENFORCE_BACKEND_SYSTEMD,
};

/* Under the roots only, always. A libvirt machine's cgroup goes through
 * libvirt whenever libvirtd answers (write_managed_cgroups or not, as
 * before systemd had a backend); a systemd unit's own cgroup goes through
 * systemd when it answers and write_managed_cgroups is off (that setting
 * means "write the files directly"); otherwise the files, where
 * enforce_config_path_writable allows. A cgroup below a unit (a delegated
 * subtree) is never systemd's to set. */
enum enforce_backend enforce_route(const struct enforce_config *enforce,
				   const char *cgroup, bool libvirt_up,
				   bool systemd_up);
const char *enforce_route_backend_name(enum enforce_backend backend);

#endif
