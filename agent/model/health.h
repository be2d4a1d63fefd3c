/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's own figures that the outputs export next to the guests':
 * what discovery did (struct tracker_stats, filled by collect/tracker) and
 * what the kernel counted for the BPF programs (struct
 * loader_program_stats, filled by load/). Plain types, here so that the
 * exporters need not reach collect/ or load/ for them.
 */
#ifndef KVMWARDEN_HEALTH_H
#define KVMWARDEN_HEALTH_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdint.h>

struct tracker_stats {
	uint64_t passes;
	uint64_t guests_found;
	uint64_t guests_gone;
	uint64_t threads_registered;
	uint64_t no_slot; /* a thread went untracked: every slot was taken */
	uint64_t register_failed;
	uint64_t identity_clashes; /* live guests whose name/UUID clashes now */
};

/* What the kernel counted for one of the agent's BPF programs. run_time_ns
 * and run_count stay 0 unless kernel.bpf_stats_enabled is 1: the kernel
 * then reads the clock twice per run, which sched_switch would feel. */
struct loader_program_stats {
	const char *name; /* the program's, valid while the loader is open */
	uint64_t run_time_ns;
	uint64_t run_count;
};

#endif
