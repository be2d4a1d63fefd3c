/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The systemd backend: for a cgroup systemd owns (a unit's: *.service,
 * *.scope, *.slice), the single-writer rule says act through systemd,
 * not behind it. Values go through the manager's SetUnitProperties with
 * runtime=true (gone at reboot, never written to /etc) over sd-bus
 * (systemd's private socket, else the system bus), and are read back
 * from the unit's properties. Like actuate_io.c's device
 * entries, each (unit, property[, device]) is a value of its own for the
 * journal, named "systemd:UNIT/PROPERTY[#MAJ:MIN]", as text: a decimal,
 * "infinity" (systemd's unset/no limit, UINT64_MAX) or, for AllowedCPUs,
 * a CPU list. Not yet routed from enforce.c (see README).
 */
#ifndef KVMWARDEN_ACTUATE_SYSTEMD_H
#define KVMWARDEN_ACTUATE_SYSTEMD_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

#define SYSTEMD_PREFIX "systemd:"
#define SYSTEMD_MAX_PROPERTIES 2

/* The unit a cgroup path belongs to: its last component named *.service,
 * *.scope or *.slice. 0, -ENOENT when none, -ENAMETOOLONG. */
int systemd_unit_of(const char *cgroup, char *unit, size_t size);
/* The D-Bus interface with a unit's cgroup properties
 * ("org.freedesktop.systemd1.Service", ...), NULL for another kind. */
const char *systemd_unit_interface(const char *unit);
/* The properties that hold `knob`: CPUWeight, CPUQuotaPerSecUSec,
 * AllowedCPUs, IOWeight, IOReadIOPSMax + IOWriteIOPSMax. Returns how
 * many (0: no such knob). */
size_t systemd_knob_properties(enum policy_knob knob,
			       const char *props[SYSTEMD_MAX_PROPERTIES]);
/* The text of a policy value in the property's own units: a quota in
 * percent of one CPU as µs per second, weights and IOPS as they are. */
int systemd_knob_text(enum policy_knob knob, uint32_t value, char *text,
		      size_t size);

/* "systemd:UNIT/PROPERTY" or "...#MAJ:MIN" for a per-device property. */
int systemd_entry_name(const char *unit, const char *property,
		       const char *device, char *name, size_t size);
bool systemd_is_entry(const char *name);
int systemd_entry_parse(const char *name, char *unit, size_t unit_size,
			char *property, size_t property_size, char *device,
			size_t device_size);

/* Through the system bus. Negative errno (-ENOENT: no such unit). */
int systemd_entry_read(const char *name, char *value, size_t size);
/* SetUnitProperties(runtime=true), then reads back: -EIO on a
 * difference. */
int systemd_entry_write(const char *name, const char *value);

#endif
