/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Which of the agent's features this kernel gave it, as plain data: the
 * table the loaders fill once at start (load/feature_table.h) and every
 * output reads (exporters, the socket's status, top). No I/O here.
 */
#ifndef KVMWARDEN_MODEL_FEATURES_H
#define KVMWARDEN_MODEL_FEATURES_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>

enum feature {
	FEATURE_STEAL = 0, /* the core scheduler programs: always there */
	FEATURE_ATTRIBUTION = 1, /* who ran while a vCPU waited */
	FEATURE_BLOCK_IO = 2, /* the block-layer programs */
	FEATURE_KVM = 3, /* KVM exit telemetry (some part of it attached) */
	FEATURE_KVM_IO_NOTES = 4, /* vCPUs noted at kvm_pio / kvm_mmio */
	FEATURE_COUNT = 5,
};

#define FEATURE_REASON_LEN 256

struct feature_state {
	bool available;
	char reason[FEATURE_REASON_LEN]; /* "" when available */
};

struct features {
	struct feature_state state[FEATURE_COUNT];
};

/* "steal", "attribution", "block_io", "kvm", "kvm_io_notes": the names
 * every output uses (JSON keys, the metric's label). NULL out of range. */
const char *feature_name(enum feature feature);

#endif
