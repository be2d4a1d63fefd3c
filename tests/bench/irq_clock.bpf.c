// SPDX-License-Identifier: GPL-2.0-only
/*
 * The second floor of the interrupt bench: on the same tracepoints as
 * irq_empty.bpf.c, programs that only read the clock and keep it in a
 * per-CPU value, the least any program that times an interrupt must do.
 * Where the clock is dear (a nested guest's kvm-clock) this floor, not
 * the empty program, is what timing interrupts costs at all.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} last_ns SEC(".maps");

#define CLOCK(event)                                                      \
	SEC("tp_btf/" #event)                                             \
	int clock_##event(void *ctx)                                      \
	{                                                                 \
		__u32 zero = 0;                                           \
		__u64 *at = bpf_map_lookup_elem(&last_ns, &zero);         \
                                                                          \
		if (at)                                                   \
			*at = bpf_ktime_get_ns();                         \
		return 0;                                                 \
	}

CLOCK(irq_handler_entry)
CLOCK(irq_handler_exit)
CLOCK(softirq_entry)
CLOCK(softirq_exit)
CLOCK(netif_receive_skb)
CLOCK(local_timer_entry)
CLOCK(local_timer_exit)
CLOCK(call_function_single_entry)
CLOCK(call_function_single_exit)
CLOCK(reschedule_entry)
CLOCK(reschedule_exit)
