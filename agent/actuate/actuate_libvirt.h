/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The libvirt backend: for a guest libvirt runs, enforcement acts through
 * libvirt's live API instead of writing the cgroups libvirt owns (its
 * single-writer rule). A cgroup weight becomes the domain's "cpu_shares",
 * a CPU cap its "vcpu_quota" and "emulator_quota", all with
 * VIR_DOMAIN_AFFECT_LIVE only: the persistent definition is never touched,
 * so a restarted domain starts clean.
 *
 * Like the cgroup backend it deals in named values with a text form, so
 * enforcement journals, reads back and restores them the same way. A value
 * is named "libvirt:UUID:ID:KNOB": the UUID finds the domain, the ID (which
 * libvirt never reuses while it runs) tells a domain restarted since from
 * the one we changed, as a start time does for a task. Its text lists the
 * scheduler parameters it covers: "cpu_shares=1024", or
 * "vcpu_quota=20000 emulator_quota=20000"; CPU separation's ("cpus") the
 * live pinning of every vCPU and of the emulator threads:
 * "vcpu0=0-3 vcpu1=0-3 emulator=0-3". The names and texts are
 * libvirt_text.h's, the connection libvirt_conn.h's; this module reads
 * and writes the values.
 */
#ifndef KVMWARDEN_ACTUATE_LIBVIRT_H
#define KVMWARDEN_ACTUATE_LIBVIRT_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stddef.h>
#include <stdint.h>

#include "actuate/libvirt_conn.h"
#include "actuate/libvirt_text.h"
#include "policy/policy.h"

/* The value name for `knob` of the domain whose machine cgroup
 * `cgroup_path` is: -ENOENT when no running domain has it, -ENOTCONN when
 * libvirtd does not answer, -EOPNOTSUPP for a knob the backend lacks. */
int libvirt_knob_file(const char *cgroup_path, enum policy_knob knob,
		      char *file, size_t size);
/* The value's text now. -ENOENT when the domain is gone or restarted. */
int libvirt_value_read(const char *file, char *text, size_t size);
/* Sets it live and reads it back: -EIO when it reads back different. */
int libvirt_value_write(const char *file, const char *text);
/* The text to set for `value` of the file's knob, as
 * cgroup_knob_text: the domain's periods and vCPU count are read. Not for
 * separation (libvirt_separate_text). */
int libvirt_knob_text(int cgroup_version, const char *file, uint32_t value,
		      char *text, size_t size);

#endif
