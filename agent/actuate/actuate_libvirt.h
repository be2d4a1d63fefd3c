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
 * enforce.c journals, reads back and restores them the same way. A value
 * is named "libvirt:UUID:ID:KNOB": the UUID finds the domain, the ID (which
 * libvirt never reuses while it runs) tells a domain restarted since from
 * the one we changed, as a start time does for a task. Its text lists the
 * scheduler parameters it covers: "cpu_shares=1024", or
 * "vcpu_quota=20000 emulator_quota=20000"; CPU separation's ("cpus") the
 * live pinning of every vCPU and of the emulator threads:
 * "vcpu0=0-3 vcpu1=0-3 emulator=0-3".
 */
#ifndef KVMWARDEN_ACTUATE_LIBVIRT_H
#define KVMWARDEN_ACTUATE_LIBVIRT_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actuate/actuate_affinity.h"
#include "policy/policy.h"

#define LIBVIRT_PREFIX "libvirt:"
#define LIBVIRT_URI "qemu:///system"
#define LIBVIRT_UUID_LEN 37 /* VIR_UUID_STRING_BUFLEN */
/* How long a failed connection is not retried: libvirtd down must not
 * cost a connect attempt per interval. */
#define LIBVIRT_RETRY_MS 5000
#define LIBVIRT_MAX_PARAMS 4

/* ---- pure parts (no libvirt calls; unit-tested) ---- */

/* The libvirt domain ID in a machine cgroup path: v1
 * ".../qemu-ID-NAME.libvirt-qemu[/...]", v2
 * ".../machine-qemu\x2dID\x2dNAME.scope[/...]". -ENOENT when the path has
 * none (not a libvirt machine, or the old v1 "NAME.libvirt-qemu"). */
int libvirt_machine_id(const char *cgroup_path);

/* "libvirt:UUID:ID:KNOB" and back. parse: -EINVAL when malformed. */
int libvirt_file_name(const char *uuid, int id, enum policy_knob knob,
		      char *file, size_t size);
int libvirt_file_parse(const char *file, char *uuid, size_t uuid_size,
		       int *id, enum policy_knob *knob);
bool libvirt_is_file(const char *file);

/* The scheduler parameters a knob sets, NULL-terminated; NULL for
 * separation, which is pinning, not a scheduler parameter. */
const char *const *libvirt_knob_params(enum policy_knob knob);

/* "cpu_shares" for a weight on the cgroup v2 scale (1..10000): libvirt
 * passes it to cpu.shares on v1 (2..262144, weight * 1024 / 100) and to
 * cpu.weight on v2 (1..10000). */
uint64_t libvirt_shares_for_weight(int cgroup_version, uint32_t weight);
/* The per-thread quota (us) for a cap of `percent` of one CPU on a domain
 * of `vcpus` vCPUs: libvirt's quotas are per vCPU thread, so the cap is
 * shared out and the vCPUs together stay within it. Never below the
 * kernel's 1 ms floor. */
int64_t libvirt_quota_us(uint64_t period_us, uint32_t percent,
			 unsigned int vcpus);

/* "a=1 b=-2" <-> names/values. parse returns how many, or -EINVAL. */
int libvirt_params_parse(const char *text, char names[][32], int64_t *values,
			 int max);
int libvirt_params_format(const char *const *names, const int64_t *values,
			  int count, char *text, size_t size);

/* The pinning that keeps a domain off `victim`'s CPUs, from its pinning
 * now ("vcpu0=0-3 emulator=0-3"): each mask minus those CPUs, or `rest`
 * for one that held only them. -EINVAL when `current` is malformed. */
int libvirt_separate_text(const char *current, const struct cpu_mask *victim,
			  const struct cpu_mask *rest, char *text, size_t size);

/* ---- the live API ---- */

/* Whether libvirtd answers, connecting when not connected (at most once
 * per LIBVIRT_RETRY_MS; now_ms: monotonic). */
bool libvirt_available(uint64_t now_ms);
/* Closes the connection (a later call reconnects). */
void libvirt_disconnect(void);

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
