// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Scheduler accounting for tracked threads (vCPUs and the VMM's other
 * threads): steal, on-CPU time, waits and the wait-length histogram, all
 * from one sched_switch program, plus the discovery pass that finds threads
 * inside KVM_RUN and attaches the agent's registrations. Which threads to
 * track is the agent's decision.
 *
 * Counts, per tracked thread: on-CPU time, run_delay (steal), waits and
 * their lengths, throttled time, and (attrib.bpf.h) who ran while it
 * waited. Per CPU: the culprit slots. Errors in sched_errors.
 *
 * Locks: the switch, wakeup and migration programs fire with the CPU's
 * runqueue lock held, and a thread's task storage and its thread_stats
 * slot are written there (a task is on one runqueue at a time) and, once,
 * by the discovery iterator that registers it: plain stores, no atomics. The agent reads thread_stats through mmap
 * without a lock and takes each figure as a snapshot of a counter that
 * only grows.
 *
 * Never: decides which threads to track, walks the waiters at each
 * switch, allocates on a switch (task storage is created at
 * registration, in the iterator), or holds a lock of its own.
 */
#include "common.bpf.h"
#include "sched.h"
#include "sched_errors.bpf.h"
#include "attrib.h"
#include "kvm_vcpu.bpf.h"
#include "thread_state.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

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

#include "attrib.bpf.h"

/* A vCPU starts waiting on `cpu` (id `cpu_id`), where `running` is on CPU:
 * its wait is marked on the CPU's culprit table. */
static __always_inline void add_waiter(struct attr_cpu *cpu, __u32 cpu_id,
				       struct thread_state *state, __u64 cfs_rq,
				       struct culprit running, __u64 now_ns)
{
	if (state->wait_cpu)
		return; /* marked already: never twice */
	if (cpu->count == 0) {
		cpu->seg_start_ns = now_ns;
		cpu->busy_since_ns = now_ns;
		set_culprit(cpu, running, now_ns);
	} else {
		close_segment(cpu, now_ns);
	}
	attr_mark_cpu(cpu, &state->marks);
	cpu->count += 1;
	state->wait_cpu = cpu_id + 1;
	state->watched = 0;
	if (cfs_rq) {
		int added = attr_watch_add(cpu, state->slot);
		__u32 at = (__u32)added;

		if (added >= 0) {
			BOUND_INDEX(at, ATTR_MAX_WATCHED);
			cpu->watches.watch[at].cfs_rq = cfs_rq;
			state->watched = 1;
		}
	}
}

/* The wait marked on `cpu` ends (the vCPU runs, or leaves the runqueue):
 * its culprits so far go into its carried parts. A mark on another CPU was
 * left by a move this program did not see; it is dropped. */
static __always_inline void end_wait(struct attr_cpu *cpu, __u32 cpu_id,
				     struct thread_state *state)
{
	__u64 throttled_ns = 0;

	if (state->wait_cpu != cpu_id + 1) {
		state->wait_cpu = 0;
		state->watched = 0;
		return;
	}
	if (state->watched)
		throttled_ns = attr_watch_take(cpu, state->slot);
	attr_collect(cpu, &state->marks, &state->carried, state->group,
		     throttled_ns);
	if (cpu->count)
		cpu->count -= 1;
	state->wait_cpu = 0;
	state->watched = 0;
}

/* On-CPU time since registration. Written as an absolute value, so the
 * switch-out path and the discovery pass may both refresh it; the agent
 * keeps the larger of what it has and what it reads. */
static __always_inline void refresh_run(struct thread_state *state,
					struct task_struct *task)
{
	struct sched_thread_stats *stats;
	__u32 slot = state->slot;
	__u64 exec_ns = task->se.sum_exec_runtime;

	stats = bpf_map_lookup_elem(&thread_stats, &slot);
	if (stats && exec_ns >= state->base_exec_ns)
		stats->run_ns = exec_ns - state->base_exec_ns;
}

/*
 * The wait that ends now. sched_info_arrive() runs right after this
 * tracepoint and adds rq_clock - last_queued to run_delay; the same sum
 * read here is the kernel's figure, waits split by migrations included.
 * The runqueue is reached through the task's cfs_rq (per-CPU variables
 * need CONFIG_KALLSYMS_ALL); without group scheduling the pending part is
 * counted at the next switch-in instead.
 */
static __always_inline __u64 account_switch_in(struct thread_state *state,
					       struct task_struct *task)
{
	struct sched_thread_stats *stats;
	__u64 queued_ns = task->sched_info.last_queued;
	__u64 total_ns = task->sched_info.run_delay;
	__u32 slot = state->slot;
	__u64 wait_ns;

	if (queued_ns && bpf_core_field_exists(task->se.cfs_rq)) {
		__u64 clock_ns = task->se.cfs_rq->rq->clock;

		if (clock_ns >= queued_ns)
			total_ns += clock_ns - queued_ns;
		else
			count_error(SCHED_ERR_CLOCK);
	}
	if (total_ns <= state->seen_delay_ns)
		return 0;
	wait_ns = total_ns - state->seen_delay_ns;
	state->seen_delay_ns = total_ns;
	stats = bpf_map_lookup_elem(&thread_stats, &slot);
	if (!stats)
		return wait_ns;
	/* One writer per thread: switch-ins of a task are serialised by its
	 * runqueue lock, so plain adds need no atomics. */
	stats->steal_ns += wait_ns;
	stats->waits += 1;
	stats->wait_hist[sched_wait_slot(wait_ns)] += 1;
	if (wait_ns > stats->wait_max_ns)
		stats->wait_max_ns = wait_ns;
	return wait_ns;
}

/*
 * The clock of the runqueue `task` is on, in ns. The scheduler updates it
 * before it switches, wakes or moves a task under the runqueue lock, which
 * every caller here holds; it is the clock run_delay is measured with, and
 * reading it costs a few loads where bpf_ktime_get_ns() reads the
 * (paravirtual) clocksource. Without group scheduling, ktime it is.
 */
static __always_inline __u64 rq_clock_ns(struct task_struct *task)
{
	if (bpf_core_field_exists(task->se.cfs_rq))
		return task->se.cfs_rq->rq->clock;
	return bpf_ktime_get_ns();
}

/*
 * Whether a task besides the one switched to is queued on this CPU: the
 * runqueue's nr_running counts the running task and every queued one (a
 * prev that blocks is dequeued before the switch). Without group
 * scheduling the runqueue is not reachable here: assume there is.
 */
static __always_inline bool others_queued(struct task_struct *next)
{
	if (!bpf_core_field_exists(next->se.cfs_rq))
		return true;
	return next->se.cfs_rq->rq->nr_running >= 2;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(handle_sched_switch, bool preempt, struct task_struct *prev,
	     struct task_struct *next, unsigned int prev_state)
{
	struct thread_state *out = NULL, *in = NULL;
	__u32 cpu_id;
	struct attr_cpu *cpu;
	__u64 now_ns = 0;
	bool waiting;

	/* Fastest exit: no tracked task involved (a task no BPF program gave
	 * local storage has none at all) and nothing queued that could be a
	 * waiting vCPU. Only task and runqueue fields are read: on a
	 * paravirtualised host (PVM) the first touch of BPF map memory after
	 * a switch costs ~40 ns, an empty program ~45 (measured). */
	if (!prev->bpf_storage && !next->bpf_storage && !others_queued(next))
		return 0;
	/* Else the same without a tracked task, but no vCPU waiting here. */
	cpu_id = bpf_get_smp_processor_id();
	cpu = bpf_map_lookup_elem(&attr_cpus, &cpu_id);
	waiting = cpu && cpu->count;
	if (!prev->bpf_storage && !next->bpf_storage && !waiting)
		return 0;
	if (prev->bpf_storage)
		out = bpf_task_storage_get(&thread_state, prev, 0, 0);
	if (next->bpf_storage)
		in = bpf_task_storage_get(&thread_state, next, 0, 0);

	if (waiting) {
		now_ns = rq_clock_ns(next);
		close_segment(cpu, now_ns);
	}
	if (out) {
		refresh_run(out, prev);
		/* Preempted while runnable: it waits here from now. */
		if (cpu && out->kind == SCHED_THREAD_VCPU &&
		    prev_state == TASK_RUNNING) {
			if (!now_ns)
				now_ns = rq_clock_ns(next);
			add_waiter(cpu, cpu_id, out, throttle_watch(prev),
				   culprit_of(next, in ? in->group : 0),
				   now_ns);
		}
	}
	if (in) {
		__u64 wait_ns = account_switch_in(in, next);

		if (in->kind == SCHED_THREAD_VCPU) {
			struct culprit last =
				culprit_of(prev, out ? out->group : 0);

			if (cpu)
				end_wait(cpu, cpu_id, in);
			attr_settle_wait(&in->carried, in->group, wait_ns,
					 last.kind, last.id);
		}
		if (cpu) {
			cpu->cur_tracked_task = (__u64)next;
			cpu->cur_tracked_pid = next->pid;
			cpu->cur_group = in->group;
		}
	}
	if (cpu && cpu->count)
		set_culprit_task(cpu, next, in ? in->group : 0, now_ns);
	return 0;
}

/*
 * Steal without attribution: the same per-thread figures from the kernel's
 * own accounting, and nothing per CPU. The loader falls back to it when
 * the attribution programs cannot load on a kernel, so that steal is
 * measured whatever an optional part costs a verifier.
 */
SEC("tp_btf/sched_switch")
int BPF_PROG(handle_sched_switch_core, bool preempt, struct task_struct *prev,
	     struct task_struct *next, unsigned int prev_state)
{
	struct thread_state *state;

	if (prev->bpf_storage) {
		state = bpf_task_storage_get(&thread_state, prev, 0, 0);
		if (state)
			refresh_run(state, prev);
	}
	if (next->bpf_storage) {
		state = bpf_task_storage_get(&thread_state, next, 0, 0);
		if (state)
			account_switch_in(state, next);
	}
	return 0;
}

/*
 * task_struct.on_cpu and on_rq are int up to 6.18 and u8 from 7.x on.
 * libbpf does not resize a plain load of a signed field (the program then
 * fails to load, as handle_sched_wakeup did on 7.2), so they are read with
 * the size and sign the running kernel's BTF gives.
 */
static __always_inline bool task_on_cpu(struct task_struct *task)
{
	return BPF_CORE_READ_BITFIELD(task, on_cpu) != 0;
}

static __always_inline bool task_on_rq(struct task_struct *task)
{
	return BPF_CORE_READ_BITFIELD(task, on_rq) != 0;
}

/* A vCPU woken onto a runqueue starts waiting there. This fires under the
 * target runqueue's lock, like that CPU's own switches. */
SEC("tp_btf/sched_wakeup")
int BPF_PROG(handle_sched_wakeup, struct task_struct *task)
{
	struct task_struct *running;
	struct thread_state *state;
	struct attr_cpu *cpu;
	__u32 cpu_id, group = 0;

	if (!task->bpf_storage)
		return 0;
	state = bpf_task_storage_get(&thread_state, task, 0, 0);
	if (!state || state->kind != SCHED_THREAD_VCPU || task_on_cpu(task) ||
	    !bpf_core_field_exists(task->se.cfs_rq))
		return 0;
	cpu_id = task->thread_info.cpu;
	cpu = bpf_map_lookup_elem(&attr_cpus, &cpu_id);
	if (!cpu)
		return 0;
	running = task->se.cfs_rq->rq->curr;
	if (running && cpu->cur_tracked_task == (__u64)running &&
	    cpu->cur_tracked_pid == (__u32)running->pid)
		group = cpu->cur_group;
	add_waiter(cpu, cpu_id, state, throttle_watch(task),
		   culprit_of(running, group), rq_clock_ns(task));
	return 0;
}

/* A waiting vCPU moved to another runqueue: this fires under the source
 * runqueue's lock only, so its parts so far travel with the task and what
 * it waits on the destination is settled at switch-in. */
SEC("tp_btf/sched_migrate_task")
int BPF_PROG(handle_sched_migrate, struct task_struct *task, int dest_cpu)
{
	struct thread_state *state;
	struct attr_cpu *cpu;
	__u32 cpu_id;

	/* A sleeping task being placed by a wakeup is on no list (and its
	 * source runqueue is not locked): only queued tasks matter. */
	if (!task->bpf_storage || !task_on_rq(task))
		return 0;
	state = bpf_task_storage_get(&thread_state, task, 0, 0);
	if (!state || state->kind != SCHED_THREAD_VCPU)
		return 0;
	cpu_id = task->thread_info.cpu;
	cpu = bpf_map_lookup_elem(&attr_cpus, &cpu_id);
	if (!cpu || !cpu->count)
		return 0;
	close_segment(cpu, rq_clock_ns(task));
	end_wait(cpu, cpu_id, state);
	return 0;
}

static __always_inline struct thread_state *
attach_registration(struct task_struct *task, __u32 tid)
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
	/* Count from here on. Storage is created fully initialised, since
	 * sched_switch on another CPU may see it at once. */
	init.slot = reg->slot;
	init.kind = reg->kind;
	init.group = reg->group;
	init.seen_delay_ns = task->sched_info.run_delay;
	init.base_exec_ns = task->se.sum_exec_runtime;
	state = bpf_task_storage_get(&thread_state, task, &init,
				     BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!state)
		count_error(SCHED_ERR_STORAGE_CREATE);
	else
		bpf_map_delete_elem(&registrations, &tid);
	return state;
}

/*
 * The vCPU index of a QEMU TCG vCPU thread, from its comm "CPU N/TCG", or
 * -1. Hosts without hardware virtualisation (or nested guests without it)
 * still run guests under TCG, and their vCPU threads suffer steal alike.
 */
static __always_inline int tcg_vcpu_index(struct task_struct *task)
{
	int index = 0, digits = 0, at = 4;

	if (task->comm[0] != 'C' || task->comm[1] != 'P' ||
	    task->comm[2] != 'U' || task->comm[3] != ' ')
		return -1;
#pragma clang loop unroll(full)
	for (int i = 4; i < 9; i++) {
		char c = task->comm[i];

		if (c < '0' || c > '9')
			break;
		index = index * 10 + (c - '0');
		digits++;
		at = i + 1;
	}
	if (!digits || at > 11)
		return -1;
	BOUND_INDEX(at, 16);
	if (at > 11)
		return -1;
	if (task->comm[at] != '/' || task->comm[at + 1] != 'T' ||
	    task->comm[at + 2] != 'C' || task->comm[at + 3] != 'G' ||
	    task->comm[at + 4] != '\0')
		return -1;
	return index;
}

/*
 * A registration for a thread that has storage already can never be
 * applied (its storage stays where it points): it would stay in the map
 * for good. The agent only registers such a thread after it lost track of
 * it; counted when it named another slot (the counts then go on into the
 * old one: a bug to find, see the soak test), and dropped either way.
 */
static __always_inline void drop_stale_registration(__u32 tid,
						    struct thread_state *state)
{
	struct sched_registration *reg;

	reg = bpf_map_lookup_elem(&registrations, &tid);
	if (!reg)
		return;
	if (reg->slot != state->slot)
		count_error(SCHED_ERR_STALE_REGISTRATION);
	bpf_map_delete_elem(&registrations, &tid);
}

SEC("iter/task")
int discover_threads(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct sched_vcpu_record rec = {};
	struct thread_state *state;
	struct kvm_vcpu *vcpu;

	if (!task)
		return 0;
	rec.tgid = task->tgid;
	rec.tid = task->pid;
	rec.vcpu_index = -1;
	state = bpf_task_storage_get(&thread_state, task, 0, 0);
	if (state) {
		rec.flags |= SCHED_REC_REGISTERED;
		/* A vCPU spinning in the guest may not switch out for seconds;
		 * this keeps its on-CPU time current (the running task's
		 * sum_exec_runtime is updated every tick). */
		refresh_run(state, task);
		drop_stale_registration(rec.tid, state);
	} else {
		state = attach_registration(task, rec.tid);
		if (state)
			rec.flags |= SCHED_REC_REGISTERED |
				     SCHED_REC_JUST_REGISTERED;
	}
	vcpu = running_vcpu(task);
	if (vcpu) {
		/* The kernel fact wins over what the agent guessed at
		 * registration: its waits must be attributed from now on. */
		if (state)
			state->kind = SCHED_THREAD_VCPU;
		rec.flags |= SCHED_REC_IN_KVM_RUN;
		rec.vcpu_index = BPF_CORE_READ(vcpu, vcpu_idx);
		rec.vm_id = (__u64)BPF_CORE_READ(vcpu, kvm);
	} else {
		int tcg_index = tcg_vcpu_index(task);

		if (tcg_index >= 0) {
			if (state)
				state->kind = SCHED_THREAD_VCPU;
			rec.flags |= SCHED_REC_TCG_VCPU;
			rec.vcpu_index = tcg_index;
		}
	}
	if (!rec.flags)
		return 0;
	rec.start_time_ns = task->start_time;
	/* On overflow the iterator shows this task again in the next read,
	 * so a failed write loses nothing. */
	bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	return 0;
}
