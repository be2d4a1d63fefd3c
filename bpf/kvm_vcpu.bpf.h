/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Which vCPU a task is running, for the BPF programs only: the one kernel
 * fact that names a vCPU thread, read by discovery's iterator
 * (sched.bpf.c) and while KVM emulates a vCPU's I/O (kvm.bpf.c).
 */
#ifndef KVMWARDEN_BPF_KVM_VCPU_BPF_H
#define KVMWARDEN_BPF_KVM_VCPU_BPF_H

/* The vCPU a thread is running while inside KVM_RUN: KVM registers a
 * preempt notifier embedded in struct kvm_vcpu from vcpu_load() to
 * vcpu_put(), and nothing else in the kernel registers one. NULL outside
 * KVM_RUN, or when this kernel has no such type (KVM not loaded, or its
 * module BTF unusable). */
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

#endif
