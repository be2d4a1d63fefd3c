/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Classes of a VMM's threads from their names and cgroups. Pure.
 */
#ifndef KVMWARDEN_THREAD_CLASS_H
#define KVMWARDEN_THREAD_CLASS_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include "model/vmm_identity.h"

/*
 * Classifies a non-vCPU thread of a VMM (vCPUs come from kernel facts):
 * tid == tgid is the emulator main loop; comm "vhost-NNN" is a vhost worker;
 * QEMU comm "IO ..." and libvirt leaf "iothreadN" are iothreads; everything
 * else (including libvirt's "emulator" leaf) is other. cgroup_path and comm
 * may be NULL.
 */
enum thread_kind thread_class_of(enum vmm_kind kind, int tgid, int tid,
					const char *comm,
					const char *cgroup_path);

/*
 * Name-based vCPU fallback for kernels without the kernel-fact discovery:
 * QEMU "CPU N/KVM", Firecracker "fc_vcpu N"/"fc_vcpu_N", cloud-hypervisor
 * "vcpuN", crosvm "crosvm_vcpuN"/"crosvm_vcpu N" (VMM_UNKNOWN tries them
 * all), then the libvirt leaf "vcpuN". Returns N >= 0, or -1.
 */
int thread_class_vcpu_index(enum vmm_kind kind, const char *comm,
				const char *cgroup_path);

#endif
