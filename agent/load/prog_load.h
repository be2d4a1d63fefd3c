/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Loading a BPF object so that a failure names its program and the
 * verifier's reason, and checking each program of an object on its own
 * against the verifier budget (`kvmwarden check-kernel`). The loaders own
 * their skeletons and hand their objects here; this module owns no policy
 * about which programs are needed.
 */
#ifndef KVMWARDEN_PROG_LOAD_H
#define KVMWARDEN_PROG_LOAD_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The kernel refuses a program whose verification walks more instructions
 * than this (BPF_COMPLEXITY_LIMIT_INSNS, for privileged loaders). */
#define PROG_VERIFIER_LIMIT 1000000
/* Ours stay at a fifth of it, so that another kernel's verifier, pruning a
 * little differently, still has room. */
#define PROG_VERIFIER_BUDGET 200000

/* One line from a verifier log: its error line and, when present, the
 * instruction count it stopped at, e.g. "BPF program is too large
 * (1000001 instructions processed, limit 1000000)". Without a usable log,
 * the errno `err` (negative) is described instead. Pure. */
void prog_log_reason(const char *log, int err, char *out, size_t size);

struct bpf_object;

/* How a skeleton loads its object: `load(skel)`, e.g. a wrapper around
 * sched_bpf__load(). It must be the skeleton's own load, which also maps
 * the object's global data (.bss, .data) where the skeleton's pointers can
 * reach it; bpf_object__load() alone leaves those pointing at a private
 * copy the programs never see. */
typedef int (*prog_skel_load_fn)(void *skel);

/* Loads the skeleton `skel` of `obj` (opened and configured) with a
 * verifier log kept for each program. On failure returns the negative errno and fills `why` with
 * "cannot load PROGRAM: reason" for the program the kernel refused, or libbpf's errno
 * when no program was (maps, BTF). */
int prog_load_object(struct bpf_object *obj, prog_skel_load_fn load, void *skel,
		     char *why, size_t why_size);

/* What `kvmwarden check-kernel` prints for one program. */
struct prog_check {
	char name[64]; /* libbpf's, in full */
	char object[16];
	bool needed; /* the agent loads it on this kernel */
	bool loaded;
	uint32_t verified_insns; /* bpf_prog_info; 0 before Linux 5.16 */
	char error[256];
};

/* How to open one object configured exactly as the agent would load it on
 * this kernel: programs it leaves out are not autoloaded. */
struct prog_check_target {
	const char *object;
	/* Returns the opened object and its skeleton in *skel, or NULL. */
	struct bpf_object *(*open)(void *ctx, void **skel);
	prog_skel_load_fn load;
	void (*close)(void *skel);
	void *ctx;
};

/* Loads every program of the target alone (each in a fresh copy of the
 * object) and fills one row each, up to `max`. Returns the rows filled or
 * a negative errno when the object cannot even be opened. */
int prog_check_target(const struct prog_check_target *target,
		      struct prog_check *rows, size_t max);

/* Whether a row passes: loaded within the budget, or not needed. */
bool prog_check_passes(const struct prog_check *row);

struct bpf_program;
struct loader_program_stats;

/* The kernel's run count and run time of each of `programs` that is
 * loaded (one left out on this kernel, or the twin not chosen, has no fd
 * and no row), up to `max` rows. Returns the rows filled or the negative
 * errno of bpf_obj_get_info_by_fd. */
int prog_read_stats(struct bpf_program *const *programs, size_t count,
		    struct loader_program_stats *out, size_t max);

#endif
