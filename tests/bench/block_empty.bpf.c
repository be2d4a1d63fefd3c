// SPDX-License-Identifier: GPL-2.0-only
/*
 * The floor of the block bench: programs that do nothing, on every
 * tracepoint the agent's process attaches that fio's load fires (the block
 * ones and the scheduler ones), so the agent's loss is read against what
 * merely having programs there costs on the same machine in the same run.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/block_io_start")
int floor_io_start(void *ctx)
{
	return 0;
}

SEC("tp_btf/block_rq_insert")
int floor_rq_insert(void *ctx)
{
	return 0;
}

SEC("tp_btf/block_rq_issue")
int floor_rq_issue(void *ctx)
{
	return 0;
}

SEC("tp_btf/block_rq_complete")
int floor_rq_complete(void *ctx)
{
	return 0;
}

SEC("tp_btf/block_rq_requeue")
int floor_rq_requeue(void *ctx)
{
	return 0;
}

SEC("tp_btf/block_rq_merge")
int floor_rq_merge(void *ctx)
{
	return 0;
}

SEC("tp_btf/sched_switch")
int floor_sched_switch(void *ctx)
{
	return 0;
}

SEC("tp_btf/sched_wakeup")
int floor_sched_wakeup(void *ctx)
{
	return 0;
}

SEC("tp_btf/sched_migrate_task")
int floor_sched_migrate(void *ctx)
{
	return 0;
}
