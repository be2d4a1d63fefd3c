// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Hidden steal: the hardirq and softirq time a CPU spends while a thread is
 * current, which the kernel charges to that thread as if it had run.
 *
 * Counts (bpf/irq.h): per CPU, every hardirq and softirq in any context;
 * per tracked thread (its scheduler slot, found through the scheduler's
 * task storage, thread_state.bpf.h), what ran while it was current; and
 * per tracked thread, the culprits: the devices whose packets a NET_RX
 * softirq processed (its time split in proportion to packets) and the
 * device IRQ whose handler ran. A system vector's culprit is the vector
 * itself, which the thread's per-kind counts hold already: the agent names
 * it from them, so the timer and the IPIs, the most frequent interrupts,
 * pay no hash update here. A hardirq nested in another
 * counts once, in the outermost one's time; a hardirq inside a softirq
 * counts as the hardirq's and is taken out of the softirq's time. Softirqs
 * are counted at softirq_entry, where the kernel counts /proc/softirqs.
 *
 * Locks: none. Interrupts on a CPU nest strictly, so a per-CPU state with a
 * hardirq depth is exact; a thread is current on one CPU at a time, so its
 * slot and culprit entries have one writer: plain adds. The culprit hash
 * takes its bucket lock only to insert an entry.
 *
 * Never: creates task storage (it only looks the scheduler's up, once per
 * softirq and once per outermost hardirq, never per packet), reads packet
 * contents, or counts a thread the agent has not registered.
 */
#include "common.bpf.h"
#include "irq.h"
#include "sched.h"
#include "thread_state.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Devices told apart per NET_RX softirq: one usually processes one
 * backlog or NAPI instance; packets beyond these go to "other". */
#define IRQ_SOFTIRQ_DEVICES 4
/* A hardirq cannot last a second: an outer entry older than this was left
 * by an exit the program never saw, and is dropped. */
#define IRQ_STALE_NS 1000000000ULL
/* include/uapi/asm-generic/errno-base.h: not in BTF. */
#define EEXIST 17

/* One device noted during the current NET_RX softirq. */
struct softirq_device {
	__u32 ifindex;
	__u32 netns;
	__u64 packets;
	char name[IRQ_NAME_LEN];
};

/* A CPU's counts, in every context, and what is in progress on it. One
 * value, so an interrupt's exit finds its counts in the cache lines its
 * entry brought in: a touch of another map after an interrupt costs
 * ~180 ns on this nested host (an empty program ~50). The agent reads the
 * counts, first in the value. */
struct irq_cpu_state {
	struct irq_counts counts;
	__u64 hard_start_ns; /* the outermost hardirq's entry */
	__u64 soft_start_ns;
	__u64 soft_hard_ns; /* hardirq time inside the current softirq */
	__u32 hard_depth;
	__u32 hard_kind; /* enum irq_hard_kind of the outermost */
	__u32 hard_irq; /* its IRQ number, device handlers only */
	__u32 soft_vector;
	__u32 soft_active;
	__u32 soft_slot; /* slot + 1 of the thread current at entry, or 0 */
	__u32 device_count;
	__u32 _pad;
	__u64 other_packets; /* beyond the device table */
	struct softirq_device devices[IRQ_SOFTIRQ_DEVICES];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct irq_cpu_state);
} irq_cpu_state SEC(".maps");

/* Mapped by the agent; indexed by the scheduler's slot of the thread. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, SCHED_MAX_THREADS);
	__type(key, __u32);
	__type(value, struct irq_counts);
} irq_thread_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, IRQ_MAX_CULPRITS);
	__type(key, struct irq_culprit_key);
	__type(value, struct irq_culprit_value);
} irq_culprits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, IRQ_ERR_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} irq_errors SEC(".maps");

static __always_inline struct irq_cpu_state *cpu_state(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&irq_cpu_state, &zero);
}


/* slot + 1 of the current thread when it is tracked, else 0. A task no
 * BPF program gave local storage has none at all: no lookup then. */
static __always_inline __u32 current_slot(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct thread_state *state;

	if (!task->bpf_storage)
		return 0;
	state = bpf_task_storage_get(&thread_state, task, 0, 0);
	if (!state || state->slot >= SCHED_MAX_THREADS)
		return 0;
	return state->slot + 1;
}

static __always_inline struct irq_counts *thread_counts(__u32 slot_plus_one)
{
	__u32 slot = slot_plus_one - 1;

	if (!slot_plus_one)
		return NULL;
	return bpf_map_lookup_elem(&irq_thread_counts, &slot);
}

/* Adds to the culprit entry `key`, creating it named `name` (IRQ_NAME_LEN
 * bytes, or NULL for none) when missing. */
static __always_inline void charge_culprit(struct irq_culprit_key *key,
					   __u64 ns, __u64 count,
					   const char *name)
{
	struct irq_culprit_value *value, init = {};
	long err;

	value = bpf_map_lookup_elem(&irq_culprits, key);
	if (value) {
		value->ns += ns;
		value->count += count;
		return;
	}
	init.ns = ns;
	init.count = count;
	if (name)
		__builtin_memcpy(init.name, name, IRQ_NAME_LEN);
	err = bpf_map_update_elem(&irq_culprits, key, &init, BPF_NOEXIST);
	/* Another CPU inserted it meanwhile: the thread moved CPU between
	 * an interrupt's entry and this exit (a softirq's slot is the one
	 * found at its entry). */
	if (err == -EEXIST) {
		value = bpf_map_lookup_elem(&irq_culprits, key);
		if (value) {
			value->ns += ns;
			value->count += count;
		}
	} else if (err) {
		percpu_counter_add(&irq_errors, IRQ_ERR_CULPRITS_FULL, 1);
	}
}

static __always_inline void hard_enter(__u32 kind, __u32 irq)
{
	struct irq_cpu_state *cpu = cpu_state();
	__u64 now_ns;

	if (!cpu)
		return;
	if (cpu->hard_depth) {
		/* Nested: the outer one's time covers it. */
		now_ns = bpf_ktime_get_ns();
		if (now_ns - cpu->hard_start_ns < IRQ_STALE_NS) {
			cpu->hard_depth += 1;
			return;
		}
		percpu_counter_add(&irq_errors, IRQ_ERR_UNMATCHED_EXIT, 1);
	} else {
		now_ns = bpf_ktime_get_ns();
	}
	cpu->hard_depth = 1;
	cpu->hard_start_ns = now_ns;
	cpu->hard_kind = kind;
	cpu->hard_irq = irq;
}

static __always_inline void hard_exit(struct irqaction *action)
{
	struct irq_cpu_state *cpu = cpu_state();
	struct irq_culprit_key key = {};
	struct irq_culprit_value *culprit;
	struct irq_counts *counts;
	char name[IRQ_NAME_LEN] = {};
	__u32 kind, slot;
	__u64 ns;

	if (!cpu)
		return;
	if (!cpu->hard_depth) {
		percpu_counter_add(&irq_errors, IRQ_ERR_UNMATCHED_EXIT, 1);
		return;
	}
	cpu->hard_depth -= 1;
	if (cpu->hard_depth)
		return;
	ns = bpf_ktime_get_ns() - cpu->hard_start_ns;
	kind = cpu->hard_kind;
	if (kind >= IRQ_HARD_KINDS)
		return;
	if (cpu->soft_active)
		cpu->soft_hard_ns += ns;
	cpu->counts.hard_ns[kind] += ns;
	cpu->counts.hard_count[kind] += 1;
	/* Inside a softirq the thread is the one found at its entry. */
	slot = cpu->soft_active ? cpu->soft_slot : current_slot();
	counts = thread_counts(slot);
	if (!counts)
		return;
	counts->hard_ns[kind] += ns;
	counts->hard_count[kind] += 1;
	if (kind != IRQ_HARD_DEVICE)
		return; /* its culprit is its kind: see the top */
	key.slot = slot - 1;
	key.kind = IRQ_CULPRIT_IRQ;
	key.id = cpu->hard_irq;
	/* The action's name is read only for a new entry: a NIC's IRQ fires
	 * thousands of times a second on the same thread. */
	culprit = bpf_map_lookup_elem(&irq_culprits, &key);
	if (culprit) {
		culprit->ns += ns;
		culprit->count += 1;
		return;
	}
	if (action)
		bpf_probe_read_kernel_str(name, sizeof(name), action->name);
	charge_culprit(&key, ns, 1, name);
}

SEC("tp_btf/irq_handler_entry")
int BPF_PROG(handle_irq_entry, int irq, struct irqaction *action)
{
	hard_enter(IRQ_HARD_DEVICE, (__u32)irq);
	return 0;
}

SEC("tp_btf/irq_handler_exit")
int BPF_PROG(handle_irq_exit, int irq, struct irqaction *action, int ret)
{
	hard_exit(action);
	return 0;
}

/* x86's system vectors, which never pass irq_handler_*. Each may be
 * missing on a kernel (another architecture, a config): the loader leaves
 * out the pairs this kernel's BTF does not have. */
#define VECTOR_PROGRAMS(event, kind)                                  \
	SEC("tp_btf/" #event "_entry")                                \
	int BPF_PROG(vector_##event##_entry, int vector)              \
	{                                                             \
		hard_enter(kind, 0);                                  \
		return 0;                                             \
	}                                                             \
	SEC("tp_btf/" #event "_exit")                                 \
	int BPF_PROG(vector_##event##_exit, int vector)               \
	{                                                             \
		hard_exit(NULL);                                      \
		return 0;                                             \
	}

VECTOR_PROGRAMS(local_timer, IRQ_HARD_LOCAL_TIMER)
VECTOR_PROGRAMS(reschedule, IRQ_HARD_RESCHEDULE)
VECTOR_PROGRAMS(call_function, IRQ_HARD_CALL_FUNCTION)
VECTOR_PROGRAMS(call_function_single, IRQ_HARD_CALL_FUNCTION_SINGLE)
VECTOR_PROGRAMS(irq_work, IRQ_HARD_IRQ_WORK)
VECTOR_PROGRAMS(x86_platform_ipi, IRQ_HARD_OTHER_VECTOR)
VECTOR_PROGRAMS(error_apic, IRQ_HARD_OTHER_VECTOR)
VECTOR_PROGRAMS(spurious_apic, IRQ_HARD_OTHER_VECTOR)
VECTOR_PROGRAMS(thermal_apic, IRQ_HARD_OTHER_VECTOR)

SEC("tp_btf/softirq_entry")
int BPF_PROG(handle_softirq_entry, unsigned int vec_nr)
{
	struct irq_cpu_state *cpu = cpu_state();
	struct irq_counts *counts;
	__u32 vector = vec_nr;

	if (!cpu || vector >= IRQ_SOFTIRQ_VECTORS)
		return 0;
	/* Counted here, right after the kernel's kstat_incr_softirqs_this_cpu
	 * (/proc/softirqs), so the two agree exactly. */
	cpu->counts.soft_count[vector] += 1;
	cpu->soft_active = 1;
	cpu->soft_vector = vector;
	cpu->soft_hard_ns = 0;
	cpu->device_count = 0;
	cpu->other_packets = 0;
	cpu->soft_slot = current_slot();
	counts = thread_counts(cpu->soft_slot);
	if (counts)
		counts->soft_count[vector] += 1;
	cpu->soft_start_ns = bpf_ktime_get_ns();
	return 0;
}

/* A NET_RX softirq's time, split over the devices it processed packets of,
 * in proportion to packets; the last part takes the rounding remainder, so
 * the parts add up to `ns` exactly. */
static __always_inline void split_net_rx(struct irq_cpu_state *cpu,
					 __u32 slot_plus_one, __u64 ns)
{
	struct irq_culprit_key key = { .slot = slot_plus_one - 1,
				       .kind = IRQ_CULPRIT_DEVICE };
	char other[IRQ_NAME_LEN] = "other";
	__u64 total = cpu->other_packets, left = ns, part;
	__u32 devices = cpu->device_count;

	if (devices > IRQ_SOFTIRQ_DEVICES)
		devices = IRQ_SOFTIRQ_DEVICES;
#pragma clang loop unroll(full)
	for (int i = 0; i < IRQ_SOFTIRQ_DEVICES; i++)
		if (i < devices)
			total += cpu->devices[i].packets;
	if (!total)
		return;
#pragma clang loop unroll(full)
	for (int i = 0; i < IRQ_SOFTIRQ_DEVICES; i++) {
		struct softirq_device *device = &cpu->devices[i];

		if (i >= devices)
			break;
		if (i == devices - 1 && !cpu->other_packets)
			part = left;
		else
			part = ns * device->packets / total;
		left -= part;
		key.netns = device->netns;
		key.id = device->ifindex;
		charge_culprit(&key, part, device->packets, device->name);
	}
	if (cpu->other_packets) {
		key.netns = 0;
		key.id = 0;
		charge_culprit(&key, left, cpu->other_packets, other);
	}
}

SEC("tp_btf/softirq_exit")
int BPF_PROG(handle_softirq_exit, unsigned int vec_nr)
{
	struct irq_cpu_state *cpu = cpu_state();
	struct irq_counts *counts;
	__u32 vector = vec_nr;
	__u64 ns;

	if (!cpu || vector >= IRQ_SOFTIRQ_VECTORS)
		return 0;
	if (!cpu->soft_active || cpu->soft_vector != vector) {
		percpu_counter_add(&irq_errors, IRQ_ERR_UNMATCHED_EXIT, 1);
		cpu->soft_active = 0;
		return 0;
	}
	cpu->soft_active = 0;
	ns = bpf_ktime_get_ns() - cpu->soft_start_ns;
	ns = ns > cpu->soft_hard_ns ? ns - cpu->soft_hard_ns : 0;
	cpu->counts.soft_ns[vector] += ns;
	counts = thread_counts(cpu->soft_slot);
	if (!counts)
		return 0;
	counts->soft_ns[vector] += ns;
	if (vector == IRQ_SOFTIRQ_NET_RX)
		split_net_rx(cpu, cpu->soft_slot, ns);
	return 0;
}

/* Each packet NET_RX delivers on a tracked thread: its device is noted in
 * the CPU's table, which softirq_exit splits the time by. */
SEC("tp_btf/netif_receive_skb")
int BPF_PROG(note_netif_receive_skb, struct sk_buff *skb)
{
	struct irq_cpu_state *cpu = cpu_state();
	struct net_device *dev;
	__u32 ifindex, netns, devices;

	if (!cpu || !cpu->soft_active || !cpu->soft_slot ||
	    cpu->soft_vector != IRQ_SOFTIRQ_NET_RX)
		return 0;
	dev = skb->dev;
	if (!dev) {
		cpu->other_packets += 1;
		return 0;
	}
	ifindex = dev->ifindex;
	netns = BPF_CORE_READ(dev, nd_net.net, ns.inum);
	devices = cpu->device_count;
#pragma clang loop unroll(full)
	for (int i = 0; i < IRQ_SOFTIRQ_DEVICES; i++) {
		struct softirq_device *device = &cpu->devices[i];

		if (i >= devices)
			break;
		if (device->ifindex == ifindex && device->netns == netns) {
			device->packets += 1;
			return 0;
		}
	}
	if (devices >= IRQ_SOFTIRQ_DEVICES) {
		cpu->other_packets += 1;
		return 0;
	}
	BOUND_INDEX(devices, IRQ_SOFTIRQ_DEVICES);
	cpu->devices[devices].ifindex = ifindex;
	cpu->devices[devices].netns = netns;
	cpu->devices[devices].packets = 1;
	bpf_probe_read_kernel(cpu->devices[devices].name, IRQ_NAME_LEN,
			      dev->name);
	cpu->device_count = devices + 1;
	return 0;
}
