/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Loading, attaching and talking to the BPF side. The only module that sees
 * libbpf or the skeletons; everything else uses the plain types of
 * bpf/sched.h through these functions.
 */
#ifndef KVMWARDEN_LOADER_H
#define KVMWARDEN_LOADER_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attrib.h"
#include "model/health.h"
#include "sched.h"

struct loader;

/* Opens, loads and attaches every program. Returns 0 or a negative errno;
 * on failure `why` holds one line for the operator. */
int loader_open(struct loader **out, char *why, size_t why_size);
void loader_close(struct loader *loader);

/* Steal needs only the core scheduler programs; attribution is a feature.
 * When its programs cannot load on this kernel, the core loads alone and
 * these say so: `why` names the program and the kernel's reason. */
bool loader_attribution_available(const struct loader *loader);
const char *loader_attribution_why(const struct loader *loader);

struct prog_check;
/* Loads each program of the scheduler object alone, as the agent would
 * configure it on this kernel, for `kvmwarden check-kernel`. Returns the
 * rows filled or a negative errno with `why` set. */
int loader_check(struct prog_check *rows, size_t max, char *why,
		 size_t why_size);

/* The live counters of a slot (read-only view of the BPF array). */
const struct sched_thread_stats *loader_thread_stats(struct loader *loader,
						     uint32_t slot);
/* Zeroes a slot before it is handed to a new thread. */
void loader_reset_slot(struct loader *loader, uint32_t slot);

int loader_register(struct loader *loader, uint32_t tid,
		    const struct sched_registration *reg);
/* Drops tid's registration still waiting in the map when it names slot
 * (a recycled tid may carry another thread's). */
int loader_cancel_registration(struct loader *loader, uint32_t tid,
			       uint32_t slot);

/* Runs the discovery iterator: threads in KVM_RUN and tracked threads, and
 * attaches pending registrations. *records is malloc'd; caller frees. */
int loader_discover(struct loader *loader, struct sched_vcpu_record **records,
		    size_t *count);

/* One culprit's cumulative share of a victim guest's steal. */
struct loader_attribution {
	struct attr_key key;
	uint64_t steal_ns;
};

/* Every attribution entry; *entries is malloc'd, caller frees. */
int loader_read_attribution(struct loader *loader,
			    struct loader_attribution **entries, size_t *count);
/* Drops every entry naming `group` as victim or culprit (a pruned guest). */
int loader_forget_group(struct loader *loader, uint32_t group);
/* vCPU-ns waited on each CPU, cumulative; returns how many CPUs filled. */
int loader_read_cpu_waits(struct loader *loader, uint64_t *vcpu_wait_ns,
			  int max_cpus);

/* A descriptor of one of the loader's maps, for probing what bpf() calls
 * on held descriptors need (privilege.h); owned by the loader. */
int loader_probe_map_fd(struct loader *loader);

/* The scheduler's task storage map (bpf/thread_state.bpf.h), which says
 * which threads are tracked: other objects reuse it (bpf_map__reuse_fd
 * duplicates it). A negative errno when not loaded. */
int loader_thread_state_fd(struct loader *loader);

/* Error counters summed over CPUs. */
int loader_read_errors(struct loader *loader, uint64_t totals[SCHED_ERR_COUNT]);

#define LOADER_PROGRAMS 2

/* The programs' kernel statistics (struct loader_program_stats is
 * model/health.h's). Fills up to `max` entries; returns how many, or a negative errno. */
int loader_read_program_stats(struct loader *loader,
			      struct loader_program_stats *out, size_t max);

#endif
