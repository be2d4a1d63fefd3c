// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Scheduler accounting for tracked threads (vCPUs and the VMM's other
 * threads): steal, on-CPU time, waits and the wait-length histogram, plus
 * the discovery pass that finds threads inside KVM_RUN and attaches the
 * agent's registrations. Which threads to track is the agent's decision.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "sched.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define TASK_RUNNING 0

/* Per-thread scheduling state; lives and dies with the task, so a recycled
 * tid starts untracked. */
struct thread_state {
	__u64 wait_start_ns; /* 0: not waiting on a runqueue */
	__u64 run_start_ns; /* 0: not on CPU (or unknown) */
	__u32 slot;
	__u32 kind;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct thread_state);
} thread_state SEC(".maps");

/* Mapped by the agent, which reads counters without a syscall per thread. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, SCHED_MAX_THREADS);
	__type(key, __u32);
	__type(value, struct sched_thread_stats);
} thread_stats SEC(".maps");

/* tid -> what to attach; consumed by the discovery pass. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SCHED_MAX_THREADS);
	__type(key, __u32);
	__type(value, struct sched_registration);
} registrations SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SCHED_ERR_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} sched_errors SEC(".maps");

static __always_inline void count_error(__u32 which)
{
	__u64 *count = bpf_map_lookup_elem(&sched_errors, &which);

	if (count)
		*count += 1;
}

/*
 * A thread's switch-out and switch-in happen under its runqueue's lock, so
 * two CPUs never update the same slot at once: plain adds are safe and
 * avoid atomics on the hottest path of the kernel.
 */
static __always_inline void account_switch_out(struct thread_state *state,
					       __u64 now_ns,
					       unsigned int prev_state)
{
	struct sched_thread_stats *stats;
	__u32 slot = state->slot;

	stats = bpf_map_lookup_elem(&thread_stats, &slot);
	if (stats && state->run_start_ns && now_ns >= state->run_start_ns)
		stats->run_ns += now_ns - state->run_start_ns;
	state->run_start_ns = 0;
	/* Preempted while runnable: the kernel counts this as run_delay from
	 * now (sched_info_depart); a task that blocks waits for its wakeup. */
	state->wait_start_ns = prev_state == TASK_RUNNING ? now_ns : 0;
}

static __always_inline void account_switch_in(struct thread_state *state,
					      __u64 now_ns)
{
	struct sched_thread_stats *stats;
	__u32 slot = state->slot;
	__u64 wait_ns;

	state->run_start_ns = now_ns;
	if (!state->wait_start_ns)
		return;
	if (now_ns < state->wait_start_ns) {
		count_error(SCHED_ERR_CLOCK);
		state->wait_start_ns = 0;
		return;
	}
	wait_ns = now_ns - state->wait_start_ns;
	state->wait_start_ns = 0;
	stats = bpf_map_lookup_elem(&thread_stats, &slot);
	if (!stats)
		return;
	stats->steal_ns += wait_ns;
	stats->waits += 1;
	stats->wait_hist[sched_wait_slot(wait_ns)] += 1;
	if (wait_ns > stats->wait_max_ns)
		stats->wait_max_ns = wait_ns;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(handle_sched_switch, bool preempt, struct task_struct *prev,
	     struct task_struct *next, unsigned int prev_state)
{
	struct thread_state *out, *in;
	__u64 now_ns;

	/* Fast exit: almost every switch on a host involves no tracked
	 * thread, and two storage lookups decide that. Kept as separate
	 * branches: clang would otherwise OR the two pointers, which the
	 * verifier rejects. */
	out = bpf_task_storage_get(&thread_state, prev, 0, 0);
	in = bpf_task_storage_get(&thread_state, next, 0, 0);
	if (out) {
		now_ns = bpf_ktime_get_ns();
		account_switch_out(out, now_ns, prev_state);
		if (in)
			account_switch_in(in, now_ns);
		return 0;
	}
	if (in)
		account_switch_in(in, bpf_ktime_get_ns());
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(handle_sched_wakeup, struct task_struct *task)
{
	struct thread_state *state;

	state = bpf_task_storage_get(&thread_state, task, 0, 0);
	if (state)
		state->wait_start_ns = bpf_ktime_get_ns();
	return 0;
}

/* The vCPU a thread is running while inside KVM_RUN: KVM registers a
 * preempt notifier embedded in struct kvm_vcpu from vcpu_load() to
 * vcpu_put(), and nothing else in the kernel registers one. */
static __always_inline struct kvm_vcpu *running_vcpu(struct task_struct *task)
{
	struct hlist_node *first;

	if (!bpf_core_field_exists(task->preempt_notifiers) ||
	    !bpf_core_type_exists(struct kvm_vcpu))
		return NULL;
	first = BPF_CORE_READ(task, preempt_notifiers.first);
	if (!first)
		return NULL;
	return container_of((struct preempt_notifier *)first, struct kvm_vcpu,
			    preempt_notifier);
}

static __always_inline struct thread_state *
attach_registration(struct task_struct *task, __u32 tid, __u64 now_ns)
{
	struct sched_registration *reg;
	struct thread_state init = {};
	struct thread_state *state;

	reg = bpf_map_lookup_elem(&registrations, &tid);
	if (!reg || reg->tgid != (__u32)task->tgid)
		return NULL;
	if (reg->slot >= SCHED_MAX_THREADS) {
		count_error(SCHED_ERR_BAD_SLOT);
		bpf_map_delete_elem(&registrations, &tid);
		return NULL;
	}
	/* Start the clocks from the thread's current state so the first
	 * interval is not short; storage is created fully initialised, since
	 * sched_switch on another CPU may see it at once. */
	init.slot = reg->slot;
	init.kind = reg->kind;
	if (BPF_CORE_READ(task, on_cpu))
		init.run_start_ns = now_ns;
	else if (BPF_CORE_READ(task, on_rq) && task->__state == TASK_RUNNING)
		init.wait_start_ns = now_ns;
	state = bpf_task_storage_get(&thread_state, task, &init,
				     BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!state)
		count_error(SCHED_ERR_STORAGE_CREATE);
	else
		bpf_map_delete_elem(&registrations, &tid);
	return state;
}

SEC("iter/task")
int discover_threads(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct sched_vcpu_record rec = {};
	struct thread_state *state;
	struct kvm_vcpu *vcpu;
	__u64 now_ns;

	if (!task)
		return 0;
	now_ns = bpf_ktime_get_ns();
	rec.tgid = task->tgid;
	rec.tid = task->pid;
	rec.vcpu_index = -1;
	state = bpf_task_storage_get(&thread_state, task, 0, 0);
	if (state) {
		rec.flags |= SCHED_REC_REGISTERED;
	} else {
		state = attach_registration(task, rec.tid, now_ns);
		if (state)
			rec.flags |= SCHED_REC_REGISTERED |
				     SCHED_REC_JUST_REGISTERED;
	}
	vcpu = running_vcpu(task);
	if (vcpu) {
		rec.flags |= SCHED_REC_IN_KVM_RUN;
		rec.vcpu_index = BPF_CORE_READ(vcpu, vcpu_idx);
		rec.vm_id = (__u64)BPF_CORE_READ(vcpu, kvm);
	}
	if (!rec.flags)
		return 0;
	rec.start_time_ns = task->start_time;
	/* On overflow the iterator shows this task again in the next read,
	 * so a failed write loses nothing. */
	bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	return 0;
}
