/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Loading and attaching the KVM telemetry programs (bpf/kvm.bpf.c), and
 * reading their maps. Optional by design: a host without KVM, without
 * tracefs or with a kernel whose trace records differ still runs the agent;
 * each part then says why it is unavailable.
 */
#ifndef KVMWARDEN_KVM_LOADER_H
#define KVMWARDEN_KVM_LOADER_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stddef.h>
#include <stdint.h>

#include "model/kvm_telemetry.h"
#include "load/loader.h"

struct kvm_loader;

/* What loading achieved, part by part. */
struct kvm_attach_status {
	bool attached[KVM_PART_COUNT];
	char why[KVM_PART_COUNT][256]; /* when not attached */
	bool classic[KVM_EVENT_COUNT]; /* a classic tracepoint, not raw */
	char notes[64]; /* the vCPU notes' tracepoints that attached */
	char notes_why[256]; /* when none did */
};

/* kvm_pio and kvm_mmio, where exit-heavy vCPUs are noted (bpf/kvm.h). */
#define KVM_NOTE_EVENTS 2

/*
 * Opens, checks, loads and attaches what this host allows. Returns 0 with
 * *out set even when nothing attached (the status says why), or a negative
 * errno only when out of memory. `tracefs` overrides where tracefs is
 * looked for; NULL: the KVMWARDEN_TRACEFS variable, then the mounts.
 */
int kvm_loader_open(struct kvm_loader **out, const char *tracefs);

struct prog_check;
/* Loads each KVM program alone, configured as kvm_loader_open() would on
 * this kernel (`kvmwarden check-kernel`). Returns the rows filled or a
 * negative errno. */
int kvm_loader_check(struct prog_check *rows, size_t max);
void kvm_loader_close(struct kvm_loader *loader);
const struct kvm_attach_status *kvm_loader_status(struct kvm_loader *loader);

/* Counts the threads of process `tgid` as guest `group` from now on. */
int kvm_loader_add_guest(struct kvm_loader *loader, uint32_t tgid,
			 uint32_t group);
/* Forgets every process for which keep(tgid, group, ctx) is false. */
int kvm_loader_prune_guests(struct kvm_loader *loader,
			    bool (*keep)(uint32_t tgid, uint32_t group,
					 void *ctx),
			    void *ctx);

/* Makes every CPU forget its cached answers about which process is a
 * guest; call after add/prune. */
void kvm_loader_guests_changed(struct kvm_loader *loader);

struct kvm_loader_count {
	struct kvm_count_key key;
	uint64_t value; /* summed over CPUs */
};

/* Every counter; *entries is malloc'd, caller frees. */
int kvm_loader_read_counts(struct kvm_loader *loader,
			   struct kvm_loader_count **entries, size_t *count);
/* Drops the counters of `group` (a pruned guest). */
int kvm_loader_forget_group(struct kvm_loader *loader, uint32_t group);
/* A thread seen emulating I/O inside KVM_RUN (bpf/kvm.h), if
 * the one started at start_time_ns: 0 with its vCPU index and VM, or
 * -ENOENT. Forget it when the thread ends. */
int kvm_loader_vcpu_thread(struct kvm_loader *loader, uint32_t tid,
			   uint64_t start_time_ns, int *vcpu_index,
			   uint64_t *vm_id);
void kvm_loader_forget_vcpu_thread(struct kvm_loader *loader, uint32_t tid);
/* enum kvm_stat counters, summed over CPUs. */
int kvm_loader_read_stats(struct kvm_loader *loader,
			  uint64_t totals[KVM_STAT_COUNT]);

#define KVM_LOADER_PROGRAMS 6

/* The attached programs' kernel statistics (see loader.h). */
int kvm_loader_read_program_stats(struct kvm_loader *loader,
				  struct loader_program_stats *out, size_t max);

#endif
