/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Which of the agent's features this kernel gave it, and why not: taken
 * once at start from the loaders, then only read (log, dump --json,
 * /metrics, the socket's status and top, and the budgets that need a
 * feature). Steal needs only the core scheduler programs; every other
 * feature may be missing on its own. No libbpf here.
 */
#ifndef KVMWARDEN_MODEL_FEATURES_H
#define KVMWARDEN_MODEL_FEATURES_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum feature {
	FEATURE_STEAL = 0, /* the core scheduler programs: always there */
	FEATURE_ATTRIBUTION = 1, /* who ran while a vCPU waited */
	FEATURE_BLOCK_IO = 2, /* the block-layer programs */
	FEATURE_KVM = 3, /* KVM exit telemetry (some part of it attached) */
	FEATURE_KVM_IO_NOTES = 4, /* vCPUs noted at kvm_pio / kvm_mmio */
	/* Interrupt time taken from tracked threads (irq.bpf.c) */
	FEATURE_HIDDEN_STEAL = 5,
	FEATURE_COUNT = 6,
};

#define FEATURE_REASON_LEN 256

struct feature_state {
	bool available;
	char reason[FEATURE_REASON_LEN]; /* "" when available */
};

struct features {
	struct feature_state state[FEATURE_COUNT];
};

/* "steal", "attribution", "block_io", "kvm", "kvm_io_notes",
 * "hidden_steal": the JSON keys
 * and the metric's label every output uses. NULL out of range. */
const char *feature_name(enum feature feature);
/* The BPF programs behind a feature, for the log line. */
const char *feature_programs(enum feature feature);

/* Every feature available. */
void features_init(struct features *features);
/* available, or not with `reason` (copied; NULL or "" reads "unknown"). */
void features_set(struct features *features, enum feature feature,
		  bool available, const char *reason);
bool features_available(const struct features *features, enum feature feature);

/* The test-only switch: a comma list of feature names whose load the
 * loaders fail as the kernel would, with FEATURES_FORCED_REASON. */
#define FEATURES_TEST_ENV "KVMWARDEN_TEST_FAIL_FEATURES"
#define FEATURES_FORCED_REASON "forced by KVMWARDEN_TEST_FAIL_FEATURES"

/* Whether comma list `list` (NULL: empty) names `name` as a whole item. */
bool features_list_has(const char *list, const char *name);
/* Whether FEATURES_TEST_ENV names `name`. */
bool features_test_forced(const char *name);

/* The unavailable features' names, ", "-separated ("" when none); returns
 * the length written (cut to size). */
size_t features_format_off(const struct features *features, char *buf,
			   size_t size);

#endif
