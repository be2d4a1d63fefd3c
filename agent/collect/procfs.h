/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Parsing of /proc and cgroup data that identifies VMM processes (which VMM,
 * which guest) and classifies their threads. Parsers are pure and fuzzable;
 * readers take a proc_root so tests point them at fixture trees. Never prints.
 */
#ifndef KVMWARDEN_PROCFS_H
#define KVMWARDEN_PROCFS_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stddef.h>
#include <stdint.h>

#include "model/vmm_identity.h"

/* task->flags bit of kernel threads (include/linux/sched.h). */
#define PROCFS_PF_KTHREAD 0x00200000u

/*
 * Error convention of every function below: -ENOENT when the process or
 * thread vanished (a normal event), -EINVAL when contents are malformed,
 * -ENAMETOOLONG when a result does not fit the caller's buffer.
 */

struct proc_stat {
	int pid;
	char comm[PROCFS_COMM_LEN];
	char state; /* R, S, D, Z, ... */
	int ppid;
	uint64_t start_ticks; /* field 22, clock ticks since boot */
	int processor; /* field 39, last CPU */
	unsigned int flags; /* field 9 (PF_KTHREAD is 0x00200000) */
};

/* Parses one /proc/PID/stat line. comm may contain spaces and ')': it ends
 * at the LAST ')'. A comm longer than PROCFS_COMM_LEN - 1 is truncated. */
int procfs_parse_stat(const char *line, struct proc_stat *out);
/* tid <= 0 reads PROC_ROOT/TGID/stat, else PROC_ROOT/TGID/task/TID/stat. */
int procfs_read_stat(const char *proc_root, int tgid, int tid,
		     struct proc_stat *out);

/*
 * argv as in /proc/PID/cmdline: NUL-separated, len bytes (may lack a final
 * NUL). kind comes from the basename of argv[0]. QEMU: -name (guest=NAME,
 * implied NAME, ",," is a literal comma), --name, -uuid/--uuid (canonical
 * form only). Firecracker: --id ID or --id=ID. A name longer than
 * PROCFS_NAME_LEN - 1 is truncated. Returns 0, or -EINVAL if buf is empty.
 */
int procfs_parse_cmdline(const char *buf, size_t len, struct vmm_identity *out);
/* An empty cmdline (kernel thread, zombie) gives -EINVAL. */
int procfs_read_cmdline(const char *proc_root, int tgid,
			struct vmm_identity *out);

/* Undoes systemd unit-name escaping: any "\xNN" becomes that byte. Returns 0,
 * -EINVAL on a malformed escape (or "\x00"), -ENAMETOOLONG if out is small. */
int systemd_unescape(const char *in, char *out, size_t size);

/* Copies `in` with every control character (below 0x20, and 0x7f) written
 * as \xHH, truncated to fit: names a process chooses (its -name, its
 * comm) reach log lines and terminals, where a newline and "<0>" would
 * forge a journald line and an escape sequence would drive the terminal. */
void procfs_escape_control(const char *in, char *out, size_t size);

/* The uid a process runs as, from PROC/PID/status: 0 when its real,
 * effective, saved and file-system uids are all one uid (*uid), -EPERM
 * when they differ (a set-uid program midway: not one user's), or a
 * negative errno. */
int procfs_read_uid(const char *proc_root, int tgid, uint32_t *uid);

/*
 * The libvirt domain name from a cgroup path, if the path lies in a libvirt
 * QEMU machine cgroup: v1 ".../qemu-N-NAME.libvirt-qemu[/sub]" or the older
 * ".../NAME.libvirt-qemu[/sub]", v2 ".../machine-qemu\x2dN\x2dNAME.scope[/..]"
 * under any slices. Returns 0, -ENOENT when it is not such a cgroup, -EINVAL
 * when malformed. libvirt sanitises and may shorten NAME, so the command line
 * is the better source when it has one.
 */
int cgroup_libvirt_name(const char *cgroup_path, char *name, size_t size);

/*
 * What libvirt's sub-cgroup of a machine says about the threads in it: leaf
 * "vcpuN" (THREAD_VCPU, *index = N), "emulator" (THREAD_EMULATOR, -1) or
 * "iothreadN" (THREAD_IOTHREAD, N), directly under the machine cgroup or
 * under its "libvirt" child (v2). Returns 0, -ENOENT when the path is not a
 * libvirt machine cgroup or has no such leaf, -EINVAL when malformed.
 * The emulator cgroup also holds QEMU's worker threads, so THREAD_EMULATOR
 * here means "not a vCPU or iothread", not "the main loop".
 */
int procfs_libvirt_thread_kind(const char *cgroup_path, enum thread_kind *kind,
			       int *index);

/*
 * The cgroup a task lives in for identification: the "0::PATH" line unless
 * PATH is "/", else the v1 line whose controllers include "cpu", else the
 * "name=systemd" line, else "0::/". -ENODATA when the file has none of them.
 */
int procfs_parse_cgroup(const char *contents, char *path, size_t size);
/* tid <= 0 for the process itself, else PROC_ROOT/TGID/task/TID/cgroup. */
int procfs_read_cgroup(const char *proc_root, int tgid, int tid, char *path,
		       size_t size);

/*
 * Classifies a non-vCPU thread of a VMM (vCPUs come from kernel facts):
 * tid == tgid is the emulator main loop; comm "vhost-NNN" is a vhost worker;
 * QEMU comm "IO ..." and libvirt leaf "iothreadN" are iothreads; everything
 * else (including libvirt's "emulator" leaf) is other. cgroup_path and comm
 * may be NULL.
 */
enum thread_kind procfs_classify_thread(enum vmm_kind kind, int tgid, int tid,
					const char *comm,
					const char *cgroup_path);

/*
 * Name-based vCPU fallback for kernels without the kernel-fact discovery:
 * QEMU "CPU N/KVM", Firecracker "fc_vcpu N"/"fc_vcpu_N", cloud-hypervisor
 * "vcpuN", crosvm "crosvm_vcpuN"/"crosvm_vcpu N" (VMM_UNKNOWN tries them
 * all), then the libvirt leaf "vcpuN". Returns N >= 0, or -1.
 */
int procfs_vcpu_index_from_name(enum vmm_kind kind, const char *comm,
				const char *cgroup_path);

/*
 * Counts the "anon_inode:kvm-vcpu:N" (older kernels: "anon_inode:kvm-vcpu")
 * links in PROC_ROOT/TGID/fd and sets *has_vm (may be NULL) when an
 * "anon_inode:kvm-vm" link exists. Returns the count or a negative errno.
 */
int procfs_scan_kvm_fds(const char *proc_root, int tgid, int *has_vm);

/*
 * The listings below store the smallest ids, ascending, at most max of them,
 * and return how many they stored (so count == max may mean "truncated").
 */
/* Thread ids in PROC_ROOT/TGID/task; -ENOENT when the process vanished. */
int procfs_list_threads(const char *proc_root, int tgid, int *tids, int max);
/* Numeric entries of PROC_ROOT. */
int procfs_list_pids(const char *proc_root, int *pids, int max);
/* Kernel threads (PF_KTHREAD) with comm exactly "vhost-<tgid>": the vhost
 * workers of kernels before 6.4, which are separate processes. */
int procfs_find_vhost_kthreads(const char *proc_root, int tgid, int *out,
			       int max);

#endif
