/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * KVM telemetry, the pure part: names of exit reasons, the check of a
 * tracefs format file against the record layouts bpf/kvm.h reads, and
 * whether each part of the telemetry is available. No I/O: the loader
 * reads files and the collector feeds observations in.
 */
#ifndef KVMWARDEN_KVM_TELEMETRY_H
#define KVMWARDEN_KVM_TELEMETRY_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvm.h"

/* "HLT", "IO_INSTRUCTION" (VMX), "hlt", "npf" (SVM: the kernel's own
 * spelling in both cases), or "reason_N" for a number no table knows.
 * Returns `buf`. */
const char *kvm_exit_reason_name(uint32_t kind, uint32_t reason, char *buf,
				 size_t size);
/* "IO", "MMIO", "HLT", ... (KVM_EXIT_* without the prefix), "restart" for a
 * KVM_RUN interrupted by a signal, "error_N" for another errno, or
 * "reason_N". Returns `buf`. */
const char *kvm_userspace_reason_name(uint32_t reason, char *buf, size_t size);

/* One field of a tracefs format file. */
struct tracefs_field {
	unsigned int offset;
	unsigned int size;
};

/* Finds `name` among the `field:` lines of a format file's text. Returns 0,
 * -ENOENT when the event has no such field, or -EINVAL for a line that does
 * not parse. */
int tracefs_field_find(const char *format, const char *name,
		       struct tracefs_field *out);

/* The events the agent attaches to. */
enum kvm_event {
	KVM_EVENT_EXIT = 0,
	KVM_EVENT_ENTRY = 1,
	KVM_EVENT_USERSPACE_EXIT = 2,
	KVM_EVENT_VCPU_WAKEUP = 3,
	KVM_EVENT_COUNT = 4,
};

/* "kvm_exit", ... : the tracepoint's name. */
const char *kvm_event_name(enum kvm_event event);

/* Whether `format` (the text of events/kvm/NAME/format) has every field the
 * BPF program reads at the offset and size it reads it. Returns 0 or
 * -EPROTO with one line in `why`. */
int kvm_format_check(enum kvm_event event, const char *format, char *why,
		     size_t why_size);

/* The parts of the telemetry, each available or not on its own. */
enum kvm_part {
	KVM_PART_EXITS = 0, /* exits by reason, guest and host mode time */
	KVM_PART_USERSPACE = 1, /* exits to userspace by reason */
	KVM_PART_HALT_POLL = 2, /* halt-poll wake-ups */
	KVM_PART_COUNT = 3,
};

const char *kvm_part_name(enum kvm_part part);

enum kvm_part_state {
	KVM_STATE_PENDING = 0, /* attached, but no evidence yet either way */
	KVM_STATE_AVAILABLE = 1,
	KVM_STATE_UNAVAILABLE = 2,
};

struct kvm_part_status {
	uint32_t state; /* enum kvm_part_state */
	char reason[256]; /* why not available; empty when available */
};

struct kvm_availability {
	struct kvm_part_status parts[KVM_PART_COUNT];
	/* Events the BPF side could not count (KVM_STAT_COUNTS_FULL) and
	 * distinct reasons the model had no room for, cumulative: a figure
	 * they touched is short by that much. */
	uint64_t events_lost;
	uint64_t reasons_dropped;
	/* Events that fired on counted guests' threads (every one is either
	 * in kvm_counts or in events_lost) and time additions lost to a full
	 * map, cumulative. */
	uint64_t events_fired;
	uint64_t ns_lost;
};

/* What the collector saw, cumulative since the programs were attached. */
struct kvm_observation {
	bool attached[KVM_PART_COUNT];
	const char *attach_error[KVM_PART_COUNT]; /* when not attached */
	/* Firings on counted guests' threads (kvm_entry is not counted: it
	 * is not filtered by guest, and only times kvm_exit). */
	uint64_t fired[KVM_EVENT_COUNT];
	uint64_t vcpu_run_ns; /* on-CPU time of counted vCPU threads */
};

/* A vCPU that ran this long took many exits (every timer tick is one), so
 * kvm_exit not firing by then means it never will. */
#define KVM_EXIT_EVIDENCE_NS 200000000ULL

/*
 * Moves each part's state on from what was observed. Exits must fire
 * whenever a vCPU runs, so that part is unavailable once vCPUs ran
 * KVM_EXIT_EVIDENCE_NS without a kvm_exit; exits to userspace and halts
 * may truly be zero (a guest without I/O, a guest that never idles), so
 * those parts are available as soon as they are attached. Returns a mask of
 * (1 << part) for every part whose state changed, for the caller to log.
 */
unsigned int kvm_availability_update(struct kvm_availability *availability,
				     const struct kvm_observation *seen);

#endif
