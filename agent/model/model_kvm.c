// SPDX-License-Identifier: GPL-2.0-only
/*
 * The KVM part of the model: a guest's cumulative counters as BPF reports
 * them, and their deltas over a window. Pure data, like model.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"

/* BPF counters only grow while their entry lives; keeping the larger value
 * means a re-created entry (after KVM_STAT_COUNTS_FULL evictions or a
 * reload) never moves a figure backwards. */
static void raise_to(uint64_t *figure, uint64_t value)
{
	if (value > *figure)
		*figure = value;
}

int guest_kvm_record(struct guest_kvm *kvm, uint32_t kind, uint32_t reason,
		     uint64_t value)
{
	struct kvm_reason_total *row;

	switch (kind) {
	case KVM_COUNT_GUEST_NS:
		raise_to(&kvm->guest_ns, value);
		return 0;
	case KVM_COUNT_WAKEUP:
	case KVM_COUNT_HALT_NS:
		if (reason > KVM_WAKEUP_SLEPT)
			return 0;
		raise_to(kind == KVM_COUNT_WAKEUP ? &kvm->wakeups[reason] :
						    &kvm->halt_ns[reason],
			 value);
		return 0;
	case KVM_COUNT_EXIT_VMX:
	case KVM_COUNT_EXIT_SVM:
	case KVM_COUNT_EXIT_OTHER:
	case KVM_COUNT_USERSPACE:
		break;
	default:
		return 0; /* a newer BPF side's kind: not ours to show */
	}
	for (uint32_t i = 0; i < kvm->reason_count; i++) {
		row = &kvm->reasons[i];
		if (row->kind == kind && row->reason == reason) {
			raise_to(&row->count, value);
			return 0;
		}
	}
	if (kvm->reason_count >= GUEST_KVM_REASONS) {
		kvm->reasons_dropped++;
		return -ENOSPC;
	}
	row = &kvm->reasons[kvm->reason_count++];
	row->kind = kind;
	row->reason = reason;
	row->count = value;
	return 0;
}

static uint64_t reason_before(const struct guest_kvm *before,
			      const struct kvm_reason_total *now)
{
	for (uint32_t i = 0; before && i < before->reason_count; i++)
		if (before->reasons[i].kind == now->kind &&
		    before->reasons[i].reason == now->reason)
			return before->reasons[i].count;
	return 0;
}

static uint64_t gained(uint64_t after, uint64_t before)
{
	return after > before ? after - before : 0;
}

static int compare_reasons(const void *a, const void *b)
{
	const struct kvm_reason_total *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return x->reason < y->reason ? -1 : x->reason > y->reason;
}

void model_kvm_report(struct report_kvm *out, const struct guest_kvm *before,
		      const struct guest_kvm *after, uint64_t vcpu_run_ns)
{
	static const struct guest_kvm zero;

	memset(out, 0, sizeof(*out));
	for (uint32_t i = 0; i < after->reason_count; i++) {
		const struct kvm_reason_total *now = &after->reasons[i];
		uint64_t delta = gained(now->count, reason_before(before, now));

		if (!delta)
			continue;
		out->reasons[out->reason_count] = *now;
		out->reasons[out->reason_count].count = delta;
		out->reason_count++;
		if (now->kind == KVM_COUNT_USERSPACE)
			out->userspace_exits += delta;
		else
			out->exits += delta;
	}
	qsort(out->reasons, out->reason_count, sizeof(out->reasons[0]),
	      compare_reasons);
	if (!before)
		before = &zero;
	out->guest_ns = gained(after->guest_ns, before->guest_ns);
	/* Guest mode is part of the vCPU threads' on-CPU time; the two are
	 * read a moment apart, so the rest is clamped at zero. */
	out->host_ns = gained(vcpu_run_ns, out->guest_ns);
	for (int result = 0; result < 2; result++) {
		out->wakeups[result] =
			gained(after->wakeups[result], before->wakeups[result]);
		out->halt_ns[result] =
			gained(after->halt_ns[result], before->halt_ns[result]);
	}
}
