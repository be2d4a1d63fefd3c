/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The libvirt backend's names and texts, pure (no libvirt calls, so
 * unit-tested): the domain ID in a machine cgroup's path, the value names
 * ("libvirt:UUID:ID:KNOB"), the scheduler parameters a knob sets and their
 * text, the quota and shares arithmetic, and pinning as text.
 */
#ifndef KVMWARDEN_LIBVIRT_TEXT_H
#define KVMWARDEN_LIBVIRT_TEXT_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actuate/actuate_affinity.h"
#include "policy/policy.h"

#define LIBVIRT_PREFIX "libvirt:"
#define LIBVIRT_UUID_LEN 37 /* VIR_UUID_STRING_BUFLEN */
#define LIBVIRT_MAX_PARAMS 4

/* The libvirt domain ID in a machine cgroup path: v1
 * ".../qemu-ID-NAME.libvirt-qemu[/...]", v2
 * ".../machine-qemu\x2dID\x2dNAME.scope[/...]". -ENOENT when the path has
 * none (not a libvirt machine, or the old v1 "NAME.libvirt-qemu"). */
int libvirt_machine_id(const char *cgroup_path);

/* "libvirt:UUID:ID:KNOB" and back. parse: -EINVAL when malformed. */
int libvirt_file_name(const char *uuid, int id, enum policy_knob knob,
		      char *file, size_t size);
int libvirt_file_parse(const char *file, char *uuid, size_t uuid_size, int *id,
		       enum policy_knob *knob);
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

/* Calls `each` for every "NAME=CPULIST" in `text` (a pinning's text);
 * stops at an error, which it returns. -EINVAL when `text` is malformed
 * or empty. */
int libvirt_text_for_each_pin(const char *text,
			      int (*each)(const char *name,
					  const struct cpu_mask *mask,
					  void *data),
			      void *data);

#endif
