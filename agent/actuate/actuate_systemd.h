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
 * a CPU list. enforcement routes a knob here (enforce_route.h) when the
 * cgroup is a unit's own under the roots and systemd answers on its bus.
 */
#ifndef KVMWARDEN_ACTUATE_SYSTEMD_H
#define KVMWARDEN_ACTUATE_SYSTEMD_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actuate/actuate_affinity.h"
#include "config/enforce_config.h"
#include "policy/policy.h"

#define SYSTEMD_PREFIX "systemd:"
#define SYSTEMD_MAX_PROPERTIES 2
/* How long systemd's answer (or silence) on its bus is trusted before it
 * is asked again: systemd gone (or back) shows within this, and a host
 * without it costs one stat(2) per probe. */
#define SYSTEMD_PROBE_MS 5000
/* Every exchange with systemd (the handshake, each call) gives up after
 * this, as libvirt's calls do: the control loop must outlive a manager
 * that stopped answering, well within WatchdogSec (30 s). */
#define SYSTEMD_CALL_USEC (2ULL * 1000000ULL)
/* The size of an entry name, as enforcement keeps file names. */
#define SYSTEMD_ENTRY_LEN (ENFORCE_PATH_LEN + 32)

/* The unit a cgroup path belongs to: its last component named *.service,
 * *.scope or *.slice, verbatim (a cgroup is named after its unit, escapes
 * such as "\x2d" included). 0, -ENOENT when none, -EINVAL for a path
 * with a "." or ".." component, -ENAMETOOLONG. */
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


/* ---- what enforcement routes here (pure) ---- */

/* The entries that hold `knob` of `unit`: one per property
 * (systemd_knob_properties), "#DEVICE" on a per-device one (`device`
 * "MAJ:MIN", needed for IOPS, ignored otherwise). *count of them. */
int systemd_knob_entries(const char *unit, enum policy_knob knob,
			 const char *device,
			 char names[SYSTEMD_MAX_PROPERTIES][SYSTEMD_ENTRY_LEN],
			 size_t *count);
/* The one entry for a knob of a single property (CPUWeight,
 * CPUQuotaPerSecUSec, AllowedCPUs, IOWeight) of the unit whose own cgroup
 * `cgroup` is. -ENOENT: no unit; -EOPNOTSUPP: a per-device knob. */
int systemd_knob_file(const char *cgroup, enum policy_knob knob, char *file,
		      size_t size);
/* The AllowedCPUs that keep a unit off `victim`'s CPUs, from what it
 * holds now ("" is no restriction: every CPU of `online`): those CPUs
 * minus the victim's, or `rest` when none would be left. -EINVAL when
 * `current` is malformed. */
int systemd_separate_text(const char *current, const struct cpu_mask *victim,
			  const struct cpu_mask *online,
			  const struct cpu_mask *rest, char *text,
			  size_t size);

/* ---- the bus ---- */

/* Whether systemd runs as PID 1 and answers on its bus, asked at most
 * once per SYSTEMD_PROBE_MS (now_ms: monotonic). */
bool systemd_available(uint64_t now_ms);

#endif
