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
/* What used to be declared here too, for callers that still include only
 * this header (the parsers live in modules of their own now). */
#include "model/libvirt_cgroup.h"
#include "collect/procfs_cmdline.h"
#include "model/systemd_names.h"
#include "collect/thread_class.h"

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

/* An empty cmdline (kernel thread, zombie) gives -EINVAL. */
int procfs_read_cmdline(const char *proc_root, int tgid,
			struct vmm_identity *out);

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
 * The cgroup a task lives in for identification: the "0::PATH" line unless
 * PATH is "/", else the v1 line whose controllers include "cpu", else the
 * "name=systemd" line, else "0::/". -ENODATA when the file has none of them.
 */
int procfs_parse_cgroup(const char *contents, char *path, size_t size);
/* tid <= 0 for the process itself, else PROC_ROOT/TGID/task/TID/cgroup. */
int procfs_read_cgroup(const char *proc_root, int tgid, int tid, char *path,
		       size_t size);

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
