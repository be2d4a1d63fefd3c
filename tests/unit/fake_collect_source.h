/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A fake BPF side for discovery and collection tests (load/collect_source.h):
 * the iterator's records, the registrations, the slots' counters and the
 * attribution, KVM and interrupt maps are plain arrays a test fills. Included by one
 * test file each (static state).
 */
#ifndef KVMWARDEN_FAKE_COLLECT_SOURCE_H
#define KVMWARDEN_FAKE_COLLECT_SOURCE_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/units.h"
#include "collect/tracker.h"
#include "load/collect_source.h"

#define FAKE_MAX 64

static struct fake_bpf {
	/* Threads the iterator sees inside KVM_RUN (test-filled). */
	struct sched_vcpu_record in_kvm_run[FAKE_MAX];
	size_t in_kvm_run_count;
	/* Registrations the agent made; attached unless the tid is in
	 * `never_attach` (a thread gone before the iterator met it). */
	struct {
		uint32_t tid;
		struct sched_registration reg;
		bool cancelled;
	} regs[FAKE_MAX];
	size_t reg_count;
	uint32_t never_attach[FAKE_MAX];
	size_t never_attach_count;
	/* Counters by slot (test-filled). */
	struct sched_thread_stats slots[FAKE_MAX];
	/* The attribution map and per-CPU waits (test-filled). */
	struct loader_attribution attribution[FAKE_MAX];
	size_t attribution_count;
	uint64_t cpu_waits[4];
	int cpu_count;
	uint32_t groups_forgotten[FAKE_MAX];
	size_t groups_forgotten_count;
	/* KVM: counts and stats (test-filled), guests the agent added. */
	struct kvm_attach_status kvm_status;
	struct kvm_loader_count kvm_counts[FAKE_MAX];
	size_t kvm_count_count;
	uint64_t kvm_stats[KVM_STAT_COUNT];
	uint32_t kvm_guests[FAKE_MAX];
	size_t kvm_guest_count;
	/* Interrupt programs: counts by slot and by CPU and the culprit
	 * entries (test-filled), the slots whose culprits were forgotten. */
	struct irq_counts irq_slots[FAKE_MAX];
	struct irq_counts irq_cpus[4];
	int irq_cpu_count;
	struct irq_loader_culprit irq_culprits[FAKE_MAX];
	size_t irq_culprit_count;
	uint32_t irq_forgotten[FAKE_MAX];
	size_t irq_forgotten_count;
	uint64_t irq_errors[IRQ_ERR_COUNT];
	bool irq_errors_fail;
} fake;

static bool fake_never_attaches(uint32_t tid)
{
	for (size_t i = 0; i < fake.never_attach_count; i++)
		if (fake.never_attach[i] == tid)
			return true;
	return false;
}

static struct sched_vcpu_record *fake_record(struct sched_vcpu_record *records,
					     size_t *count, uint32_t tid)
{
	for (size_t i = 0; i < *count; i++)
		if (records[i].tid == tid)
			return &records[i];
	records[*count] =
		(struct sched_vcpu_record){ .tid = tid, .vcpu_index = -1 };
	return &records[(*count)++];
}

static int fake_discover(struct loader *loader,
			 struct sched_vcpu_record **records, size_t *count)
{
	struct sched_vcpu_record *out = calloc(2 * FAKE_MAX, sizeof(*out));

	if (!out)
		return -ENOMEM;
	*count = 0;
	for (size_t i = 0; i < fake.in_kvm_run_count; i++)
		*fake_record(out, count, fake.in_kvm_run[i].tid) =
			fake.in_kvm_run[i];
	for (size_t i = 0; i < fake.reg_count; i++) {
		struct sched_vcpu_record *rec;

		if (fake.regs[i].cancelled ||
		    fake_never_attaches(fake.regs[i].tid))
			continue;
		rec = fake_record(out, count, fake.regs[i].tid);
		rec->tgid = fake.regs[i].reg.tgid;
		rec->flags |= SCHED_REC_REGISTERED;
		rec->start_time_ns = 1000 + fake.regs[i].tid;
	}
	*records = out;
	return 0;
}

static const struct sched_thread_stats *fake_thread_stats(struct loader *loader,
							  uint32_t slot)
{
	return slot < FAKE_MAX ? &fake.slots[slot] : NULL;
}

static void fake_reset_slot(struct loader *loader, uint32_t slot)
{
	if (slot < FAKE_MAX)
		memset(&fake.slots[slot], 0, sizeof(fake.slots[slot]));
}

static int fake_register(struct loader *loader, uint32_t tid,
			 const struct sched_registration *reg)
{
	if (fake.reg_count == FAKE_MAX || reg->slot >= FAKE_MAX)
		return -ENOSPC;
	fake.regs[fake.reg_count].tid = tid;
	fake.regs[fake.reg_count].reg = *reg;
	fake.regs[fake.reg_count++].cancelled = false;
	return 0;
}

static int fake_cancel(struct loader *loader, uint32_t tid, uint32_t slot)
{
	for (size_t i = 0; i < fake.reg_count; i++)
		if (fake.regs[i].tid == tid && fake.regs[i].reg.slot == slot)
			fake.regs[i].cancelled = true;
	return 0;
}

static int fake_read_attribution(struct loader *loader,
				 struct loader_attribution **entries,
				 size_t *count)
{
	*entries = calloc(FAKE_MAX, sizeof(**entries));
	if (!*entries)
		return -ENOMEM;
	memcpy(*entries, fake.attribution,
	       fake.attribution_count * sizeof(**entries));
	*count = fake.attribution_count;
	return 0;
}

static int fake_forget_group(struct loader *loader, uint32_t group)
{
	if (fake.groups_forgotten_count < FAKE_MAX)
		fake.groups_forgotten[fake.groups_forgotten_count++] = group;
	return 0;
}

static int fake_read_cpu_waits(struct loader *loader, uint64_t *waits, int max)
{
	int cpus = fake.cpu_count < max ? fake.cpu_count : max;

	memcpy(waits, fake.cpu_waits, (size_t)cpus * sizeof(*waits));
	return cpus;
}

static const struct kvm_attach_status *fake_kvm_status(struct kvm_loader *kvm)
{
	return &fake.kvm_status;
}

static int fake_kvm_add_guest(struct kvm_loader *kvm, uint32_t tgid,
			      uint32_t group)
{
	for (size_t i = 0; i < fake.kvm_guest_count; i++)
		if (fake.kvm_guests[i] == tgid)
			return 0;
	if (fake.kvm_guest_count == FAKE_MAX)
		return -ENOSPC;
	fake.kvm_guests[fake.kvm_guest_count++] = tgid;
	return 0;
}

static int fake_kvm_prune_guests(struct kvm_loader *kvm,
				 bool (*keep)(uint32_t tgid, uint32_t group,
					      void *ctx),
				 void *ctx)
{
	return 0;
}

static void fake_kvm_guests_changed(struct kvm_loader *kvm)
{
}

static int fake_kvm_read_counts(struct kvm_loader *kvm,
				struct kvm_loader_count **entries,
				size_t *count)
{
	*entries = calloc(FAKE_MAX, sizeof(**entries));
	if (!*entries)
		return -ENOMEM;
	memcpy(*entries, fake.kvm_counts,
	       fake.kvm_count_count * sizeof(**entries));
	*count = fake.kvm_count_count;
	return 0;
}

static int fake_kvm_forget_group(struct kvm_loader *kvm, uint32_t group)
{
	return 0;
}

static int fake_kvm_vcpu_thread(struct kvm_loader *kvm, uint32_t tid,
				uint64_t start_time_ns, int *vcpu_index,
				uint64_t *vm_id)
{
	return -ENOENT;
}

static void fake_kvm_forget_vcpu_thread(struct kvm_loader *kvm, uint32_t tid)
{
}

static int fake_kvm_read_stats(struct kvm_loader *kvm,
			       uint64_t totals[KVM_STAT_COUNT])
{
	memcpy(totals, fake.kvm_stats, sizeof(fake.kvm_stats));
	return 0;
}

static const struct irq_counts *fake_irq_thread_counts(struct irq_loader *irq,
						       uint32_t slot)
{
	return slot < FAKE_MAX ? &fake.irq_slots[slot] : NULL;
}

static void fake_irq_reset_slot(struct irq_loader *irq, uint32_t slot)
{
	if (slot < FAKE_MAX)
		memset(&fake.irq_slots[slot], 0, sizeof(fake.irq_slots[slot]));
}

static int fake_irq_read_cpu_counts(struct irq_loader *irq,
				    struct irq_counts *per_cpu, int max_cpus)
{
	int cpus = fake.irq_cpu_count < max_cpus ? fake.irq_cpu_count :
						   max_cpus;

	if (cpus <= 0)
		return -ENODEV;
	memcpy(per_cpu, fake.irq_cpus, (size_t)cpus * sizeof(*per_cpu));
	return cpus;
}

static int fake_irq_read_culprits(struct irq_loader *irq,
				  struct irq_loader_culprit **entries,
				  size_t *count)
{
	*entries = calloc(FAKE_MAX, sizeof(**entries));
	if (!*entries)
		return -ENOMEM;
	memcpy(*entries, fake.irq_culprits,
	       fake.irq_culprit_count * sizeof(**entries));
	*count = fake.irq_culprit_count;
	return 0;
}

static int fake_irq_forget_slot(struct irq_loader *irq, uint32_t slot)
{
	if (fake.irq_forgotten_count < FAKE_MAX)
		fake.irq_forgotten[fake.irq_forgotten_count++] = slot;
	return 0;
}

static int fake_irq_read_errors(struct irq_loader *irq,
				uint64_t totals[IRQ_ERR_COUNT])
{
	if (fake.irq_errors_fail)
		return -EIO;
	memcpy(totals, fake.irq_errors, sizeof(fake.irq_errors));
	return 0;
}

static const struct collect_source fake_source = {
	.discover = fake_discover,
	.thread_stats = fake_thread_stats,
	.reset_slot = fake_reset_slot,
	.register_thread = fake_register,
	.cancel_registration = fake_cancel,
	.read_attribution = fake_read_attribution,
	.forget_group = fake_forget_group,
	.read_cpu_waits = fake_read_cpu_waits,
	.kvm_status = fake_kvm_status,
	.kvm_add_guest = fake_kvm_add_guest,
	.kvm_prune_guests = fake_kvm_prune_guests,
	.kvm_guests_changed = fake_kvm_guests_changed,
	.kvm_read_counts = fake_kvm_read_counts,
	.kvm_forget_group = fake_kvm_forget_group,
	.kvm_vcpu_thread = fake_kvm_vcpu_thread,
	.kvm_forget_vcpu_thread = fake_kvm_forget_vcpu_thread,
	.kvm_read_stats = fake_kvm_read_stats,
	.irq_thread_counts = fake_irq_thread_counts,
	.irq_reset_slot = fake_irq_reset_slot,
	.irq_read_cpu_counts = fake_irq_read_cpu_counts,
	.irq_read_culprits = fake_irq_read_culprits,
	.irq_forget_slot = fake_irq_forget_slot,
	.irq_read_errors = fake_irq_read_errors,
};

/* A stand-in for "KVM telemetry loaded": never dereferenced. */
#define FAKE_KVM ((struct kvm_loader *)&fake)
/* A stand-in for "interrupt programs loaded": never dereferenced. */
#define FAKE_IRQ ((struct irq_loader *)&fake)

/* The fixture /proc: $KVMWARDEN_FIXTURES/proc, else tests/fixtures/proc. */
static const char *fake_proc_root(void)
{
	static char path[512];
	const char *dir = getenv("KVMWARDEN_FIXTURES");

	snprintf(path, sizeof(path), "%s/proc", dir ? dir : "tests/fixtures");
	return path;
}

/* A tracker on the fixture /proc that reaches the fake BPF side, its
 * state cleared: what each test's setup starts from. 0 or -1. */
static int fake_tracker_init(struct tracker *tracker)
{
	memset(&fake, 0, sizeof(fake));
	if (tracker_init(tracker, NULL, fake_proc_root(), 60 * NS_PER_SEC))
		return -1;
	tracker->source = &fake_source;
	return 0;
}

#endif
