/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Which of the agent's features this kernel gave it, and why not: taken
 * once at start from the loaders, then only read (log, dump --json,
 * /metrics, the socket's status and top, and the budgets that need a
 * feature). Steal needs only the core scheduler programs; every other
 * feature may be missing on its own. No libbpf here.
 */
#ifndef KVMWARDEN_FEATURE_TABLE_H
#define KVMWARDEN_FEATURE_TABLE_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "model/features.h"

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
/* One line per unavailable feature: its programs and the reason. */
void features_log(const struct features *features, FILE *out);

struct kvm_attach_status;
/* FEATURE_KVM and FEATURE_KVM_IO_NOTES from the KVM loader's status
 * (NULL: the KVM loader could not even be allocated). */
void features_from_kvm_status(struct features *features,
			      const struct kvm_attach_status *status);

struct loader;
struct block_collector;
struct kvm_loader;
/* Everything, from what the loaders achieved; any of them may be NULL
 * (not loaded at all). */
void features_gather(struct features *features, const struct loader *loader,
		     const struct block_collector *block,
		     struct kvm_loader *kvm);

struct budget;
struct enforce_config;
/* The features a budget cannot work without, as a bit mask of
 * (1 << enum feature): attribution when it may throttle culprits (it
 * names them), block_io when it budgets I/O. */
unsigned int features_budget_needs(const struct budget *budget);
/* Checks every budget against what is available. Writes one line per
 * refused budget into `lines` (NUL-terminated, cut to size) and returns
 * how many were refused. */
size_t features_check_budgets(const struct enforce_config *enforce,
			      const struct features *features, char *lines,
			      size_t size);

#endif
