// SPDX-License-Identifier: GPL-2.0-only
/*
 * The floor of the KVM telemetry bench: a raw tracepoint program that does
 * nothing, run by BPF_PROG_TEST_RUN like the agent's raw twins, so their
 * cost is read against what running any program at all costs here.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("raw_tracepoint/kvm_userspace_exit")
int empty_kvm(void *ctx)
{
	return 0;
}
