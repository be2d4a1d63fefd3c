// SPDX-License-Identifier: GPL-2.0-only
/*
 * The names every output gives a VMM kind and a thread kind. Pure: the
 * parsing that finds them is collect/procfs.c's.
 */
#include "model/vmm_identity.h"

const char *vmm_kind_name(enum vmm_kind kind)
{
	switch (kind) {
	case VMM_QEMU:
		return "qemu";
	case VMM_FIRECRACKER:
		return "firecracker";
	case VMM_CLOUD_HYPERVISOR:
		return "cloud-hypervisor";
	case VMM_CROSVM:
		return "crosvm";
	default:
		return "unknown";
	}
}

const char *thread_kind_name(enum thread_kind kind)
{
	switch (kind) {
	case THREAD_VCPU:
		return "vcpu";
	case THREAD_EMULATOR:
		return "emulator";
	case THREAD_IOTHREAD:
		return "iothread";
	case THREAD_VHOST:
		return "vhost";
	default:
		return "other";
	}
}
