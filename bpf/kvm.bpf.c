// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * KVM telemetry for the guests the agent tracks: exits by reason, time in
 * guest mode, exits to userspace by reason, and halt-poll wake-ups.
 *
 * Classic tracepoints read the raw trace record (bpf/kvm.h), so nothing here
 * needs kvm's module BTF. kvm_userspace_exit and kvm_vcpu_wakeup also have
 * raw-tracepoint twins, whose arguments are plain scalars: the agent uses
 * them when tracefs, which a classic tracepoint needs to be attached, is not
 * mounted. Which program of each pair loads is the agent's decision.
 *
 * Each handler does one hash lookup (is this thread's process a counted
 * guest?) and then per-CPU additions only: no shared cache lines. The
 * vCPU notes at kvm_pio and kvm_mmio add one lookup in kvm_vcpu_threads,
 * and an insert once per thread.
 *
 * Locks: none of its own. Counters are per CPU; the guest table is written
 * by the agent only; kvm_vcpu_threads takes the hash map's bucket lock on
 * its one insert per thread. Never: reads guest memory or registers, or
 * counts a process the agent has not named a guest.
 */
#include "common.bpf.h"
#include "kvm.h"
#include "kvm_vcpu.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* tgid of a guest's VMM process -> the agent's guest id. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KVM_MAX_GUESTS);
	__type(key, __u32);
	__type(value, __u32);
} kvm_guests SEC(".maps");

/* Filled here, read and emptied by the agent's discovery (bpf/kvm.h). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KVM_MAX_VCPU_THREADS);
	__type(key, __u32);
	__type(value, struct kvm_vcpu_thread);
} kvm_vcpu_threads SEC(".maps");

/* Cumulative; summed over CPUs by the agent, never reset by reading. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, KVM_MAX_COUNTS);
	__type(key, struct kvm_count_key);
	__type(value, __u64);
} kvm_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KVM_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} kvm_stats SEC(".maps");

/*
 * The last guest entry on this CPU. KVM enters and leaves guest mode with
 * preemption off, so kvm_entry and its kvm_exit run on one CPU back to
 * back: a per-CPU slot is exact and cheaper than per-thread storage. The
 * tid tells a stale entry (a thread that left without a traced exit) apart.
 */
struct cpu_entry {
	__u64 entry_ns;
	__u32 tid;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_entry);
} kvm_cpu_entry SEC(".maps");

/*
 * Bumped by the agent (through the mmap'd .bss) after it changes
 * kvm_guests, which invalidates every CPU's cached answer below at once.
 */
__u64 guests_generation;

/*
 * This CPU's last answer to "which guest is this process": a vCPU thread
 * tends to stay on its CPU, so most events skip the kvm_guests lookup, and
 * the processes that are no guest are cached as group 0 just the same.
 */
struct group_cache {
	__u64 generation;
	__u32 tgid;
	__u32 group;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct group_cache);
} kvm_group_cache SEC(".maps");

static __always_inline void bump_stat(__u32 which)
{
	__u64 *count = bpf_map_lookup_elem(&kvm_stats, &which);

	if (count)
		*count += 1;
}

/* The counted guest of the current thread, or 0. The generation is read
 * before the lookup: an answer filled in while the agent changes the map
 * carries the old generation and is not used again. */
static __always_inline __u32 current_group(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32, zero = 0, group;
	__u64 generation = *(volatile __u64 *)&guests_generation;
	struct group_cache *cache;
	__u32 *found;

	cache = bpf_map_lookup_elem(&kvm_group_cache, &zero);
	if (cache && cache->tgid == tgid && cache->generation == generation)
		return cache->group;
	found = bpf_map_lookup_elem(&kvm_guests, &tgid);
	group = found ? *found : 0;
	if (cache) {
		cache->tgid = tgid;
		cache->group = group;
		cache->generation = generation;
	}
	return group;
}

static __always_inline void add_count(__u32 group, __u32 kind, __u32 reason,
				      __u64 amount)
{
	struct kvm_count_key key = {
		.group = group,
		.kind = kind,
		.reason = reason,
	};
	__u64 *value = bpf_map_lookup_elem(&kvm_counts, &key);
	long err;

	if (value) {
		*value += amount;
		return;
	}
	/* A per-CPU hash update from BPF sets this CPU's copy and zeroes the
	 * others. Another CPU creating the same key first is not a loss. */
	err = bpf_map_update_elem(&kvm_counts, &key, &amount, BPF_NOEXIST);
	if (err == -17 /* EEXIST */) {
		value = bpf_map_lookup_elem(&kvm_counts, &key);
		if (value) {
			*value += amount;
			return;
		}
	}
	if (err)
		bump_stat(kind == KVM_COUNT_GUEST_NS || kind == KVM_COUNT_HALT_NS ?
				  KVM_STAT_NS_LOST :
				  KVM_STAT_COUNTS_FULL);
}

SEC("tracepoint/kvm/kvm_entry")
int kvm_entry(void *ctx)
{
	__u32 zero = 0;
	struct cpu_entry *entry = bpf_map_lookup_elem(&kvm_cpu_entry, &zero);

	/* No guest filter here: one per-CPU store is cheaper than the hash
	 * lookup, and kvm_exit filters anyway. */
	if (entry) {
		entry->entry_ns = bpf_ktime_get_ns();
		entry->tid = (__u32)bpf_get_current_pid_tgid();
	}
	return 0;
}

SEC("tracepoint/kvm/kvm_exit")
int kvm_exit(struct kvm_tp_exit *ctx)
{
	__u64 now_ns = bpf_ktime_get_ns();
	__u32 zero = 0, tid = (__u32)bpf_get_current_pid_tgid();
	__u32 group = current_group();
	struct cpu_entry *entry;
	__u32 isa;

	if (!group)
		return 0;
	bump_stat(KVM_STAT_EXIT);
	isa = ctx->isa;
	add_count(group, kvm_exit_kind(isa),
		  kvm_exit_key_reason(isa, ctx->exit_reason), 1);
	entry = bpf_map_lookup_elem(&kvm_cpu_entry, &zero);
	if (entry && entry->tid == tid && entry->entry_ns &&
	    now_ns > entry->entry_ns) {
		add_count(group, KVM_COUNT_GUEST_NS, 0,
			  now_ns - entry->entry_ns);
		entry->entry_ns = 0;
	}
	return 0;
}

/* The current thread is inside KVM_RUN with its vCPU loaded: noted once
 * per thread; a full map only leaves discovery to its passes. */
static __always_inline void note_vcpu_thread(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct kvm_vcpu_thread seen = {};
	struct kvm_vcpu *vcpu;

	if (bpf_map_lookup_elem(&kvm_vcpu_threads, &tid))
		return;
	vcpu = running_vcpu(task);
	if (!vcpu)
		return;
	seen.start_time_ns = BPF_CORE_READ(task, start_time);
	seen.vm_id = (__u64)BPF_CORE_READ(vcpu, kvm);
	seen.vcpu_index = BPF_CORE_READ(vcpu, vcpu_idx);
	bpf_map_update_elem(&kvm_vcpu_threads, &tid, &seen, BPF_NOEXIST);
}

static __always_inline void count_userspace_exit(__u32 reason, __s32 error)
{
	__u32 group = current_group();

	if (!group)
		return;
	bump_stat(KVM_STAT_USERSPACE);
	add_count(group, KVM_COUNT_USERSPACE,
		  kvm_userspace_key_reason(reason, error), 1);
}

/*
 * KVM emulates port I/O and MMIO with the vCPU loaded, before it returns
 * to the VMM for what it cannot finish itself; kvm_userspace_exit fires
 * only after vcpu_put(), too late to name the vCPU. These need no
 * arguments, so raw tracepoints serve, with or without tracefs and BTF.
 */
static __always_inline int note_guest_vcpu(void)
{
	if (current_group())
		note_vcpu_thread();
	return 0;
}

SEC("raw_tracepoint/kvm_pio")
int note_kvm_pio(struct bpf_raw_tracepoint_args *ctx)
{
	return note_guest_vcpu();
}

SEC("raw_tracepoint/kvm_mmio")
int note_kvm_mmio(struct bpf_raw_tracepoint_args *ctx)
{
	return note_guest_vcpu();
}

static __always_inline void count_wakeup(__u64 ns, bool waited)
{
	__u32 group = current_group();
	__u32 result = waited ? KVM_WAKEUP_SLEPT : KVM_WAKEUP_POLLED;

	if (!group)
		return;
	bump_stat(KVM_STAT_WAKEUP);
	add_count(group, KVM_COUNT_WAKEUP, result, 1);
	add_count(group, KVM_COUNT_HALT_NS, result, ns);
}

SEC("tracepoint/kvm/kvm_userspace_exit")
int kvm_userspace_exit(struct kvm_tp_userspace_exit *ctx)
{
	count_userspace_exit(ctx->reason, ctx->error);
	return 0;
}

SEC("tracepoint/kvm/kvm_vcpu_wakeup")
int kvm_vcpu_wakeup(struct kvm_tp_vcpu_wakeup *ctx)
{
	count_wakeup(ctx->ns, ctx->waited);
	return 0;
}

/* The fallbacks: TP_PROTO(__u32 reason, int errno) and
 * TP_PROTO(__u64 ns, bool waited, bool valid). */
SEC("raw_tracepoint/kvm_userspace_exit")
int raw_kvm_userspace_exit(struct bpf_raw_tracepoint_args *ctx)
{
	count_userspace_exit((__u32)ctx->args[0], (__s32)ctx->args[1]);
	return 0;
}

SEC("raw_tracepoint/kvm_vcpu_wakeup")
int raw_kvm_vcpu_wakeup(struct bpf_raw_tracepoint_args *ctx)
{
	count_wakeup(ctx->args[0], (bool)ctx->args[1]);
	return 0;
}
