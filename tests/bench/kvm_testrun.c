// SPDX-License-Identifier: GPL-2.0-only
/*
 * Bench helper: the per-invocation cost of the KVM telemetry's handlers
 * without KVM. The raw-tracepoint twins (raw_kvm_userspace_exit,
 * raw_kvm_vcpu_wakeup) run the very code the classic tracepoints run after
 * reading their record, and raw tracepoints can be run by BPF_PROG_TEST_RUN
 * with made-up arguments. With kernel.bpf_stats_enabled=1 the kernel times
 * each run (without it, the means are not shown); this prints the mean for
 * four cases:
 *   counted   the caller's process is registered as a guest (hot path)
 *   filtered  it is not (what every other KVM user on the host pays)
 *   wakeup    a halt-poll wake-up of a registered guest (two counters)
 *   empty     kvm_empty.bpf.o's program that does nothing (the floor)
 * It then checks what the handlers counted against what it ran (nothing
 * for the filtered runs; per reason, per wake-up kind and the halted time
 * for the others; an interrupted KVM_RUN as "restart"), so the counting
 * code is tested on machines where KVM itself cannot run. Exits 1 on a
 * mismatch.
 * Usage: kvm_testrun KVM.BPF.O EMPTY.BPF.O RUNS
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kvm.h"

static int prog_stats(int fd, __u64 *run_ns, __u64 *runs)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	*run_ns = info.run_time_ns;
	*runs = info.run_cnt;
	return 0;
}

/* Runs `prog` `count` times with `args`; prints the kernel's mean. */
static int measure(const char *label, struct bpf_program *prog, __u64 *args,
		   size_t arg_count, long count)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args,
		    .ctx_size_in = (__u32)(arg_count * sizeof(__u64)));
	int fd = bpf_program__fd(prog);
	__u64 ns0, runs0, ns1, runs1;
	int err;

	err = prog_stats(fd, &ns0, &runs0);
	if (err)
		return err;
	for (long i = 0; i < count; i++) {
		err = bpf_prog_test_run_opts(fd, &opts);
		if (err)
			return -errno;
	}
	err = prog_stats(fd, &ns1, &runs1);
	if (err)
		return err;
	if (runs1 == runs0) {
		/* Still a run of the counting code, checked below. */
		printf("%-9s %-24s runs %ld mean n/a "
		       "(kernel.bpf_stats_enabled is 0)\n",
		       label, bpf_program__name(prog), count);
		return 0;
	}
	printf("%-9s %-24s runs %llu mean %.1f ns\n", label,
	       bpf_program__name(prog), (unsigned long long)(runs1 - runs0),
	       (double)(ns1 - ns0) / (double)(runs1 - runs0));
	return 0;
}

/* The counter of (group, kind, reason) summed over CPUs; 0 when absent. */
static __u64 counted(struct bpf_object *obj, __u32 group, __u32 kind,
		     __u32 reason)
{
	struct kvm_count_key key = { group, kind, reason };
	int cpus = libbpf_num_possible_cpus();
	__u64 *values = calloc(cpus > 0 ? cpus : 1, sizeof(*values));
	__u64 total = 0;

	if (values &&
	    bpf_map_lookup_elem(bpf_map__fd(bpf_object__find_map_by_name(
					obj, "kvm_counts")),
				&key, values) == 0)
		for (int cpu = 0; cpu < cpus; cpu++)
			total += values[cpu];
	free(values);
	return total;
}

/* 1 (and a line on stderr) when what was counted is not what ran. */
static int mismatch(const char *what, __u64 got, __u64 want)
{
	if (got == want)
		return 0;
	fprintf(stderr, "kvm_testrun: MISMATCH %s: counted %llu, ran %llu\n",
		what, (unsigned long long)got, (unsigned long long)want);
	return 1;
}

/* A kvm_stats counter summed over CPUs. */
static __u64 stat_total(struct bpf_object *obj, __u32 which)
{
	int cpus = libbpf_num_possible_cpus();
	__u64 *values = calloc(cpus > 0 ? cpus : 1, sizeof(*values));
	__u64 total = 0;

	if (values &&
	    bpf_map_lookup_elem(
		    bpf_map__fd(bpf_object__find_map_by_name(obj, "kvm_stats")),
		    &which, values) == 0)
		for (int cpu = 0; cpu < cpus; cpu++)
			total += values[cpu];
	free(values);
	return total;
}

static int count_entries(struct bpf_object *obj)
{
	int fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "kvm_counts"));
	struct kvm_count_key key, next;
	int entries = 0;

	if (bpf_map_get_next_key(fd, NULL, &next))
		return 0;
	do {
		key = next;
		entries++;
	} while (bpf_map_get_next_key(fd, &key, &next) == 0);
	return entries;
}

static int any_key(struct bpf_object *obj, const char *map_name)
{
	int fd = bpf_map__fd(bpf_object__find_map_by_name(obj, map_name));
	__u32 key;

	return bpf_map_get_next_key(fd, NULL, &key) == 0;
}

/* Bumps the .bss's guests_generation, as the agent does after changing
 * kvm_guests (the .bss holds nothing else). */
static int bump_generation(struct bpf_object *obj)
{
	struct bpf_map *bss = NULL, *map;
	__u64 generation;
	__u32 zero = 0;

	bpf_object__for_each_map (map, obj)
		if (strstr(bpf_map__name(map), ".bss"))
			bss = map;
	if (!bss || bpf_map__value_size(bss) != sizeof(generation))
		return -ENOENT;
	if (bpf_map_lookup_elem(bpf_map__fd(bss), &zero, &generation))
		return -errno;
	generation++;
	return bpf_map_update_elem(bpf_map__fd(bss), &zero, &generation,
				   BPF_ANY) ?
		       -errno :
		       0;
}

int main(int argc, char **argv)
{
	struct bpf_object *obj, *empty = NULL;
	struct bpf_program *uexit, *wakeup, *note, *prog;
	__u64 uexit_args[2] = { 2 /* KVM_EXIT_IO */, 0 };
	__u64 wakeup_args[3] = { 150000, 1, 1 };
	__u32 tgid = (__u32)getpid(), group = 1;
	long count;
	int bad = 0;
	int err;

	if (argc != 4 || (count = strtol(argv[3], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: %s KVM.BPF.O EMPTY.BPF.O RUNS\n",
			argv[0]);
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "kvm_testrun: opening %s: %s\n", argv[1],
			strerror(errno));
		return 1;
	}
	/* Only raw-tracepoint programs: the twins and the vCPU notes; the
	 * classic programs cannot be test-run. */
	bpf_object__for_each_program (prog, obj)
		bpf_program__set_autoload(
			prog, strncmp(bpf_program__name(prog), "raw_", 4) == 0 ||
				      strncmp(bpf_program__name(prog), "note_",
					      5) == 0);
	err = bpf_object__load(obj);
	if (err) {
		fprintf(stderr, "kvm_testrun: loading: %s\n", strerror(-err));
		goto cleanup;
	}
	uexit = bpf_object__find_program_by_name(obj, "raw_kvm_userspace_exit");
	wakeup = bpf_object__find_program_by_name(obj, "raw_kvm_vcpu_wakeup");
	note = bpf_object__find_program_by_name(obj, "note_kvm_pio");
	if (!uexit || !wakeup || !note) {
		err = -ENOENT;
		goto cleanup;
	}
	empty = bpf_object__open_file(argv[2], NULL);
	if (!empty || bpf_object__load(empty)) {
		err = -errno;
		fprintf(stderr, "kvm_testrun: loading %s\n", argv[2]);
		goto cleanup;
	}
	err = measure("empty", bpf_object__next_program(empty, NULL),
		      uexit_args, 2, count);
	if (!err)
		err = measure("filtered", uexit, uexit_args, 2, count);
	if (err)
		goto cleanup;
	err = bpf_map_update_elem(
		bpf_map__fd(bpf_object__find_map_by_name(obj, "kvm_guests")),
		&tgid, &group, BPF_ANY);
	if (err) {
		err = -errno;
		goto cleanup;
	}
	/* As the agent does: the filtered runs cached "not a guest". */
	err = bump_generation(obj);
	if (err)
		goto cleanup;
	bad += mismatch("entries after filtered runs", count_entries(obj), 0);
	if (!err)
		err = measure("counted", uexit, uexit_args, 2, count);
	if (!err)
		err = measure("wakeup", wakeup, wakeup_args, 3, count);
	/* A guest's thread that is not a vCPU: the note's lookup misses and
	 * the notifier list is empty, the dearest path but an insert. */
	if (!err)
		err = measure("note", note, uexit_args, 2, count);
	if (!err) {
		__u64 intr_args[2] = { 0, (__u64)(__s64)-EINTR };
		LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = intr_args,
			    .ctx_size_in = sizeof(intr_args));

		if (bpf_prog_test_run_opts(bpf_program__fd(uexit), &opts))
			err = -errno;
	}
	if (err)
		goto cleanup;
	/* Every mismatch is shown, not only the first. */
	bad += mismatch("userspace IO exits",
			counted(obj, group, KVM_COUNT_USERSPACE, 2), count);
	bad += mismatch("slept wake-ups",
			counted(obj, group, KVM_COUNT_WAKEUP, KVM_WAKEUP_SLEPT),
			count);
	bad += mismatch("halted ns",
			counted(obj, group, KVM_COUNT_HALT_NS,
				KVM_WAKEUP_SLEPT),
			(__u64)count * wakeup_args[0]);
	bad += mismatch("restarts",
			counted(obj, group, KVM_COUNT_USERSPACE,
				KVM_USERSPACE_ERRNO | EINTR),
			1);
	bad += mismatch("distinct counters", count_entries(obj), 4);
	bad += mismatch("threads noted that are no vCPU",
			any_key(obj, "kvm_vcpu_threads"), 0);
	/* The firing counts the agent's availability rests on: counted
	 * guests only, so the filtered runs are not in them. */
	bad += mismatch("userspace exits fired",
			stat_total(obj, KVM_STAT_USERSPACE), count + 1);
	bad += mismatch("wake-ups fired", stat_total(obj, KVM_STAT_WAKEUP),
			count);
	bad += mismatch("events lost", stat_total(obj, KVM_STAT_COUNTS_FULL),
			0);
	/* A guest the agent drops stops counting once the generation moves,
	 * although every CPU cached it as a guest. */
	bpf_map_delete_elem(
		bpf_map__fd(bpf_object__find_map_by_name(obj, "kvm_guests")),
		&tgid);
	err = bump_generation(obj);
	if (!err)
		err = measure("dropped", uexit, uexit_args, 2, 1000);
	if (err)
		goto cleanup;
	bad += mismatch("userspace IO exits after the guest was dropped",
			counted(obj, group, KVM_COUNT_USERSPACE, 2), count);
	err = bad ? -EBADMSG : 0;
	if (!err)
		printf("verified: every run counted under its guest, kind and "
		       "reason\n");
cleanup:
	if (err)
		fprintf(stderr, "kvm_testrun: %s\n", strerror(-err));
	bpf_object__close(empty);
	bpf_object__close(obj);
	return err ? 1 : 0;
}
