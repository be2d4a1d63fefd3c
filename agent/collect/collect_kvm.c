// SPDX-License-Identifier: GPL-2.0-only
/*
 * Collection of the KVM telemetry: tells the BPF side which processes are
 * guests, copies its cumulative counters into the model, and moves the
 * availability of each part on from what fired. No deltas here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/collect_kvm.h"

static struct guest *live_guest_by_group(struct guest_table *table,
					 uint32_t group)
{
	for (size_t i = 0; i < table->guest_count; i++)
		if (guest_group(&table->guests[i]) == group)
			return &table->guests[i];
	return NULL;
}

/* Keeps a process counted while the table has it as a running guest. */
static bool is_running_guest(uint32_t tgid, uint32_t group, void *ctx)
{
	struct guest *guest = live_guest_by_group(ctx, group);

	return guest && !guest->exited && !guest->tcg &&
	       (uint32_t)guest->pid == tgid;
}

void collect_kvm_sync_guests(struct tracker *tracker)
{
	struct guest_table *table = &tracker->table;
	static bool warned;

	if (!tracker->kvm)
		return;
	/* Exited guests first, so their places are free for new ones. */
	tracker->source->kvm_prune_guests(tracker->kvm, is_running_guest,
					  table);
	for (size_t i = 0; i < table->guest_count; i++) {
		const struct guest *guest = &table->guests[i];
		int err;

		if (guest->exited || guest->tcg || guest->pid <= 0)
			continue;
		err = tracker->source->kvm_add_guest(
			tracker->kvm, (uint32_t)guest->pid, guest_group(guest));
		/* More guests than the map holds: said once, not per pass. */
		if (err && !warned) {
			warned = true;
			tracker_note(tracker, LOG_PRIO_WARNING,
				     "KVM telemetry cannot count guest %s: %s "
				     "(more than %d guests?)",
				     guest->name, strerror(-err),
				     KVM_MAX_GUESTS);
		}
	}
	tracker->source->kvm_guests_changed(tracker->kvm);
}

void collect_kvm_read(struct tracker *tracker, struct collect_kvm_reading *out)
{
	memset(out, 0, sizeof(*out));
	if (!tracker->kvm)
		return;
	out->status = tracker->source->kvm_status(tracker->kvm);
	if (tracker->source->kvm_read_counts(tracker->kvm, &out->counts,
					     &out->count))
		out->counts = NULL;
	out->have_stats =
		tracker->source->kvm_read_stats(tracker->kvm, out->stats) == 0;
}

void collect_kvm_reading_free(struct collect_kvm_reading *reading)
{
	free(reading->counts);
	reading->counts = NULL;
}

static void apply_counts(struct tracker *tracker,
			 const struct collect_kvm_reading *reading)
{
	const struct kvm_loader_count *entries = reading->counts;
	uint32_t forgotten = 0; /* groups are never 0 */

	for (size_t i = 0; entries && i < reading->count; i++) {
		const struct kvm_count_key *key = &entries[i].key;
		struct guest *guest =
			live_guest_by_group(&tracker->table, key->group);

		if (guest) {
			guest_kvm_record(&guest->kvm, key->kind, key->reason,
					 entries[i].value);
			continue;
		}
		/* Pruned from the table: nobody will read it again. One call
		 * drops all of the group's entries, which this list still
		 * holds; remembering the last group skips most repeats (in
		 * hash order groups interleave, and a repeat is harmless). */
		if (key->group != forgotten &&
		    tracker->source->kvm_forget_group(tracker->kvm,
						      key->group) == 0)
			forgotten = key->group;
	}
}

static uint64_t vcpu_run_ns(const struct guest_table *table)
{
	uint64_t total = 0;

	for (size_t i = 0; i < table->guest_count; i++) {
		const struct guest *guest = &table->guests[i];

		/* An emulated guest's vCPUs never enter guest mode: their
		 * time says nothing about whether kvm_exit fires. */
		if (guest->tcg)
			continue;
		total += guest->retired[THREAD_VCPU].run_ns;
		for (size_t t = 0; t < guest->thread_count; t++)
			if (guest->threads[t].kind == THREAD_VCPU)
				total += guest->threads[t].counters.run_ns;
	}
	return total;
}

static void log_changes(const struct tracker *tracker,
			const struct kvm_availability *availability,
			const uint32_t before[KVM_PART_COUNT],
			unsigned int changed)
{
	for (int part = 0; part < KVM_PART_COUNT; part++) {
		const struct kvm_part_status *status =
			&availability->parts[part];

		if (!(changed & (1u << part)))
			continue;
		if (status->state == KVM_STATE_UNAVAILABLE)
			tracker_note(tracker, LOG_PRIO_WARNING,
				     "KVM %s unavailable: %s",
				     kvm_part_name(part), status->reason);
		else if (status->state == KVM_STATE_AVAILABLE &&
			 before[part] == KVM_STATE_UNAVAILABLE)
			tracker_note(tracker, LOG_PRIO_NOTICE,
				     "KVM %s available now",
				     kvm_part_name(part));
	}
}

void collect_kvm_apply(struct tracker *tracker,
		       const struct collect_kvm_reading *reading)
{
	struct kvm_availability *availability = &tracker->table.kvm;
	const struct kvm_attach_status *status = reading->status;
	struct kvm_observation seen = { 0 };
	uint32_t before[KVM_PART_COUNT];
	const uint64_t *stats = reading->stats;

	for (int part = 0; part < KVM_PART_COUNT; part++) {
		before[part] = availability->parts[part].state;
		if (!status)
			seen.attach_error[part] = "KVM telemetry not loaded";
	}
	if (status) {
		for (int part = 0; part < KVM_PART_COUNT; part++) {
			seen.attached[part] = status->attached[part];
			seen.attach_error[part] = status->why[part];
		}
		apply_counts(tracker, reading);
		if (reading->have_stats) {
			availability->events_lost = stats[KVM_STAT_COUNTS_FULL];
			availability->ns_lost = stats[KVM_STAT_NS_LOST];
			availability->events_fired = stats[KVM_STAT_EXIT] +
						     stats[KVM_STAT_USERSPACE] +
						     stats[KVM_STAT_WAKEUP];
			seen.fired[KVM_EVENT_EXIT] = stats[KVM_STAT_EXIT];
			seen.fired[KVM_EVENT_USERSPACE_EXIT] =
				stats[KVM_STAT_USERSPACE];
			seen.fired[KVM_EVENT_VCPU_WAKEUP] =
				stats[KVM_STAT_WAKEUP];
		}
	}
	availability->reasons_dropped = 0;
	for (size_t i = 0; i < tracker->table.guest_count; i++)
		availability->reasons_dropped +=
			tracker->table.guests[i].kvm.reasons_dropped;
	seen.vcpu_run_ns = vcpu_run_ns(&tracker->table);
	log_changes(tracker, availability, before,
		    kvm_availability_update(availability, &seen));
}

void collect_kvm_log_attach(const struct tracker *tracker)
{
	const struct kvm_attach_status *status;
	char how[160];
	size_t used = 0;
	bool any = false;

	/* Parts that did not attach are logged, with why, by the first
	 * collect: once. */
	if (!tracker->kvm)
		return;
	status = tracker->source->kvm_status(tracker->kvm);
	how[0] = '\0';
	for (int event = 0; event < KVM_EVENT_COUNT; event++) {
		int wrote;

		if (!status->classic[event] &&
		    event != KVM_EVENT_USERSPACE_EXIT &&
		    event != KVM_EVENT_VCPU_WAKEUP)
			continue;
		wrote = snprintf(how + used, sizeof(how) - used, "%s%s (%s)",
				 used ? ", " : "", kvm_event_name(event),
				 status->classic[event] ? "tracepoint" :
							  "raw tracepoint");
		if (wrote < 0 || (size_t)wrote >= sizeof(how) - used)
			break;
		used += (size_t)wrote;
	}
	for (int part = 0; part < KVM_PART_COUNT && !any; part++)
		any = status->attached[part];
	if (any)
		tracker_note(tracker, LOG_PRIO_INFO,
			     "KVM telemetry attached: %s", how);
	if (status->notes[0])
		tracker_note(tracker, LOG_PRIO_INFO,
			     "vCPUs noted at I/O emulation: %s "
			     "(raw tracepoint)",
			     status->notes);
	else if (any) /* without KVM there is no vCPU to miss */
		tracker_note(tracker, LOG_PRIO_NOTICE,
			     "a vCPU that exits to its VMM on nearly every run "
			     "may be reported as an ordinary thread: %s",
			     status->notes_why);
}
