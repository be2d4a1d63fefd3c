// SPDX-License-Identifier: GPL-2.0-only
/*
 * What a VMM's thread does, from its name and its libvirt cgroup: the
 * emulator, vhost workers, iothreads, and the name-based vCPU fallback.
 * vCPUs proper come from a kernel fact (discover.c). Pure.
 */
#include <stdbool.h>
#include <string.h>

#include "model/libvirt_cgroup.h"
#include "model/text_fields.h"
#include "collect/thread_class.h"

enum thread_kind thread_class_of(enum vmm_kind kind, int tgid, int tid,
					const char *comm,
					const char *cgroup_path)
{
	enum thread_kind libvirt_kind = THREAD_OTHER;
	int index;

	if (tid == tgid)
		return THREAD_EMULATOR;
	/* Since Linux 6.4 vhost workers are threads of the VMM process,
	 * named "vhost-<pid of the owner>". */
	if (comm && text_suffix_index(comm, strlen(comm), "vhost-") >= 0)
		return THREAD_VHOST;
	/* QEMU names iothreads "IO <id>" when debug-threads=on. */
	if (kind == VMM_QEMU && comm && strncmp(comm, "IO ", 3) == 0)
		return THREAD_IOTHREAD;
	/* libvirt's "emulator" cgroup also holds QEMU's worker threads, so
	 * only the iothread leaf says something here. */
	if (cgroup_path &&
	    libvirt_cgroup_thread_kind(cgroup_path, &libvirt_kind, &index))
		libvirt_kind = THREAD_OTHER;
	return libvirt_kind == THREAD_IOTHREAD ? THREAD_IOTHREAD : THREAD_OTHER;
}

static int vcpu_index_from_comm(enum vmm_kind kind, const char *comm)
{
	size_t len = strlen(comm);
	bool any = kind == VMM_UNKNOWN;
	int index = -1;

	if ((any || kind == VMM_QEMU) && strncmp(comm, "CPU ", 4) == 0) {
		/* "CPU N/KVM": only KVM vCPUs, not TCG ones. */
		const char *slash = strchr(comm, '/');

		if (slash && strcmp(slash, "/KVM") == 0)
			index = text_suffix_index(comm, (size_t)(slash - comm),
						  "CPU ");
	}
	if (index < 0 && (any || kind == VMM_FIRECRACKER)) {
		index = text_suffix_index(comm, len, "fc_vcpu ");
		if (index < 0)
			index = text_suffix_index(comm, len, "fc_vcpu_");
	}
	if (index < 0 && (any || kind == VMM_CLOUD_HYPERVISOR))
		index = text_suffix_index(comm, len, "vcpu");
	if (index < 0 && (any || kind == VMM_CROSVM)) {
		index = text_suffix_index(comm, len, "crosvm_vcpu");
		if (index < 0)
			index = text_suffix_index(comm, len, "crosvm_vcpu ");
	}
	return index;
}

int thread_class_vcpu_index(enum vmm_kind kind, const char *comm,
				const char *cgroup_path)
{
	enum thread_kind libvirt_kind;
	int index = -1;

	if (comm)
		index = vcpu_index_from_comm(kind, comm);
	if (index >= 0)
		return index;
	if (!cgroup_path ||
	    libvirt_cgroup_thread_kind(cgroup_path, &libvirt_kind, &index))
		return -1;
	return libvirt_kind == THREAD_VCPU ? index : -1;
}
