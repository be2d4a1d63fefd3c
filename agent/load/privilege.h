/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Dropping capabilities once the BPF programs are attached: the agent keeps
 * only what measuring and enforcing still need. The mask arithmetic is pure
 * so it can be tested; privilege_drop() applies it with capset(2).
 */
#ifndef KVMWARDEN_PRIVILEGE_H
#define KVMWARDEN_PRIVILEGE_H

#include <stdbool.h>
#include <stdint.h>

/* Capabilities kept after attach:
 * - CAP_BPF only when `bpf_fd_ops_need_cap`: before Linux 6.0 every bpf()
 *   call (map reads, iterator runs) needs it while
 *   kernel.unprivileged_bpf_disabled is set, as distributions ship it;
 *   since, only creating maps and loading programs do, so it goes;
 * - CAP_SYS_NICE: sched_setaffinity on other users' threads (enforcement);
 * - CAP_DAC_OVERRIDE: cgroup files not owned by root's mode bits;
 * - CAP_SYS_RESOURCE: cgroup limits above the caller's own.
 * CAP_PERFMON (attaching tracing programs) and everything else go. */
uint64_t privilege_keep_mask(bool bpf_fd_ops_need_cap);

/* Whether bpf() commands on descriptors the process already holds need
 * CAP_BPF here: a child drops it and asks the kernel about `map_fd` (any
 * BPF map). True when they do, or when the probe itself fails (keeping
 * CAP_BPF is the safe side). */
bool privilege_bpf_fd_ops_need_cap(int map_fd);

/* After the drop: 0 when the kernel refuses this process a new BPF
 * program (the proof a compromised agent cannot load one), -EEXIST when
 * it loaded one, or another negative errno when the probe failed. */
int privilege_check_bpf_load_denied(void);
/* The capability sets after dropping: current & keep. */
uint64_t privilege_after_drop(uint64_t current, uint64_t keep);
/* Applies the drop to effective, permitted and inheritable; returns 0 or a
 * negative errno. The bounding set shrinks too where the process may.
 * Only the calling thread's sets change (capabilities are per thread): a
 * thread started before keeps what it had, so drop before starting any. */
int privilege_drop(uint64_t keep);

/* CapEff and CapPrm of thread `tid` of process `pid`, from
 * proc_root/PID/task/TID/status. 0 or a negative errno. */
int privilege_read_caps(const char *proc_root, int pid, int tid,
			uint64_t *effective, uint64_t *permitted);
/* How many threads of `pid` hold, effective or permitted, a capability
 * its main thread does not (the first one's tid in *first_tid), or a
 * negative errno. After start-up it must be 0. */
int privilege_threads_above_main(const char *proc_root, int pid,
				 int *first_tid);

#endif
