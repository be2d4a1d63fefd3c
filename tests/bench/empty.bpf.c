// SPDX-License-Identifier: GPL-2.0-only
/*
 * The floor of the sched_switch bench: a tp_btf/sched_switch program that
 * does nothing, so the agent's per-switch cost is read against what
 * attaching any program at all costs on the same machine in the same run.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/sched_switch")
int empty_switch(void *ctx)
{
	return 0;
}
