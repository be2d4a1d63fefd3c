/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What a VMM process and its threads are, as plain types: which VMM, which
 * guest it names, what each thread does, and the lengths of those names.
 * Discovery fills them from /proc (collect/procfs.h); the model and every
 * output only read them, so they live here, below both.
 */
#ifndef KVMWARDEN_VMM_IDENTITY_H
#define KVMWARDEN_VMM_IDENTITY_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#define PROCFS_COMM_LEN 64
#define PROCFS_NAME_LEN 128
#define PROCFS_UUID_LEN 40
#define PROCFS_PATH_LEN 512

enum vmm_kind {
	VMM_UNKNOWN = 0,
	VMM_QEMU,
	VMM_FIRECRACKER,
	VMM_CLOUD_HYPERVISOR,
	VMM_CROSVM,
};
/* "qemu", "firecracker", "cloud-hypervisor", "crosvm", "unknown" */
const char *vmm_kind_name(enum vmm_kind kind);

struct vmm_identity {
	enum vmm_kind kind;
	char name[PROCFS_NAME_LEN]; /* "" when the command line names no guest */
	char uuid[PROCFS_UUID_LEN]; /* "" when none */
};

enum thread_kind {
	THREAD_VCPU = 0,
	THREAD_EMULATOR = 1,
	THREAD_IOTHREAD = 2,
	THREAD_VHOST = 3,
	THREAD_OTHER = 4,
};
/* "vcpu", "emulator", "iothread", "vhost", "other" */
const char *thread_kind_name(enum thread_kind kind);

#endif
