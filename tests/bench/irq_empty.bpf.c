// SPDX-License-Identifier: GPL-2.0-only
/*
 * The floor of the interrupt bench: programs that do nothing, on the
 * tracepoints of bpf/irq.bpf.c that a packet storm steered to one CPU
 * fires (device and softirq handlers, the packets, and the vectors RPS and
 * the tick raise), so the agent's per-event cost is read against what
 * merely having a program there costs, on the same machine in the same run.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define FLOOR(event)                              \
	SEC("tp_btf/" #event)                     \
	int floor_##event(void *ctx)              \
	{                                         \
		return 0;                         \
	}

FLOOR(irq_handler_entry)
FLOOR(irq_handler_exit)
FLOOR(softirq_entry)
FLOOR(softirq_exit)
FLOOR(netif_receive_skb)
FLOOR(local_timer_entry)
FLOOR(local_timer_exit)
FLOOR(call_function_single_entry)
FLOOR(call_function_single_exit)
FLOOR(reschedule_entry)
FLOOR(reschedule_exit)
