/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libvirt machine cgroups: the domain name, and the sub-cgroup a thread is
 * in. Pure and fuzzable.
 */
#ifndef KVMWARDEN_LIBVIRT_CGROUP_H
#define KVMWARDEN_LIBVIRT_CGROUP_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stddef.h>

#include "model/vmm_identity.h"

/*
 * The libvirt domain name from a cgroup path, if the path lies in a libvirt
 * QEMU machine cgroup: v1 ".../qemu-N-NAME.libvirt-qemu[/sub]" or the older
 * ".../NAME.libvirt-qemu[/sub]", v2 ".../machine-qemu\x2dN\x2dNAME.scope[/..]"
 * under any slices. Returns 0, -ENOENT when it is not such a cgroup, -EINVAL
 * when malformed. libvirt sanitises and may shorten NAME, so the command line
 * is the better source when it has one.
 */
int libvirt_cgroup_name(const char *cgroup_path, char *name, size_t size);

/*
 * What libvirt's sub-cgroup of a machine says about the threads in it: leaf
 * "vcpuN" (THREAD_VCPU, *index = N), "emulator" (THREAD_EMULATOR, -1) or
 * "iothreadN" (THREAD_IOTHREAD, N), directly under the machine cgroup or
 * under its "libvirt" child (v2). Returns 0, -ENOENT when the path is not a
 * libvirt machine cgroup or has no such leaf, -EINVAL when malformed.
 * The emulator cgroup also holds QEMU's worker threads, so THREAD_EMULATOR
 * here means "not a vCPU or iothread", not "the main loop".
 */
int libvirt_cgroup_thread_kind(const char *cgroup_path, enum thread_kind *kind,
			       int *index);

#endif
