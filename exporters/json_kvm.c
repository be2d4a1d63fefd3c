// SPDX-License-Identifier: GPL-2.0-only
/*
 * A guest's "kvm" object. Each part (exits, exits to userspace, halt-poll
 * wake-ups) is listed under "parts" with whether this host provides it; a
 * part's figures are present only when it does, so a missing figure is
 * never mistaken for zero. The top-level "available" and "reason" are the
 * exits part's: the figures the issue asked about first.
 */
#include "json_kvm.h"

static void put_u64(struct json_object *obj, const char *key, uint64_t value)
{
	json_object_object_add(obj, key, json_object_new_uint64(value));
}

static bool part_available(const struct report *report, enum kvm_part part)
{
	return report->kvm.parts[part].state == KVM_STATE_AVAILABLE;
}

static struct json_object *part_json(const struct kvm_part_status *status)
{
	struct json_object *obj = json_object_new_object();
	bool available = status->state == KVM_STATE_AVAILABLE;

	json_object_object_add(obj, "available",
			       json_object_new_boolean(available));
	if (!available)
		json_object_object_add(obj, "reason",
				       json_object_new_string(status->reason));
	return obj;
}

static struct json_object *reasons_json(const struct report_kvm *kvm,
					bool userspace)
{
	struct json_object *list = json_object_new_array();
	char name[64];

	for (uint32_t i = 0; i < kvm->reason_count; i++) {
		const struct kvm_reason_total *row = &kvm->reasons[i];
		struct json_object *obj;

		if ((row->kind == KVM_COUNT_USERSPACE) != userspace)
			continue;
		if (userspace)
			kvm_userspace_reason_name(row->reason, name,
						  sizeof(name));
		else
			kvm_exit_reason_name(row->kind, row->reason, name,
					     sizeof(name));
		obj = json_object_new_object();
		json_object_object_add(obj, "reason",
				       json_object_new_string(name));
		put_u64(obj, "count", row->count);
		json_object_array_add(list, obj);
	}
	return list;
}

struct json_object *kvm_json(const struct report *report,
			     const struct report_guest *guest)
{
	const struct report_kvm *kvm = &guest->kvm;
	struct json_object *obj = json_object_new_object();
	struct json_object *parts = json_object_new_object();

	if (!obj || !parts) {
		json_object_put(obj);
		json_object_put(parts);
		return NULL;
	}
	if (guest->tcg) {
		/* Nothing of KVM runs such a guest: every part is missing for
		 * it, whatever this host provides for others. */
		static const struct kvm_part_status emulated = {
			.state = KVM_STATE_UNAVAILABLE,
			.reason = "the guest runs under QEMU's TCG emulator, "
				  "not KVM",
		};

		json_object_object_add(obj, "available",
				       json_object_new_boolean(false));
		json_object_object_add(obj, "reason",
				       json_object_new_string(emulated.reason));
		for (int part = 0; part < KVM_PART_COUNT; part++)
			json_object_object_add(parts, kvm_part_name(part),
					       part_json(&emulated));
		json_object_object_add(obj, "parts", parts);
		return obj;
	}
	json_object_object_add(obj, "available",
			       json_object_new_boolean(
				       part_available(report, KVM_PART_EXITS)));
	if (part_available(report, KVM_PART_EXITS)) {
		put_u64(obj, "exits", kvm->exits);
		json_object_object_add(obj, "exit_reasons",
				       reasons_json(kvm, false));
		put_u64(obj, "guest_ns", kvm->guest_ns);
		put_u64(obj, "host_ns", kvm->host_ns);
	} else {
		json_object_object_add(
			obj, "reason",
			json_object_new_string(
				report->kvm.parts[KVM_PART_EXITS].reason));
	}
	if (part_available(report, KVM_PART_USERSPACE))
		json_object_object_add(obj, "userspace_exits",
				       reasons_json(kvm, true));
	if (part_available(report, KVM_PART_HALT_POLL)) {
		struct json_object *wakeups = json_object_new_object();

		put_u64(wakeups, "polled", kvm->wakeups[KVM_WAKEUP_POLLED]);
		put_u64(wakeups, "slept", kvm->wakeups[KVM_WAKEUP_SLEPT]);
		put_u64(wakeups, "polled_ns", kvm->halt_ns[KVM_WAKEUP_POLLED]);
		put_u64(wakeups, "slept_ns", kvm->halt_ns[KVM_WAKEUP_SLEPT]);
		json_object_object_add(obj, "halt_poll_wakeups", wakeups);
	}
	for (int part = 0; part < KVM_PART_COUNT; part++)
		json_object_object_add(parts, kvm_part_name(part),
				       part_json(&report->kvm.parts[part]));
	json_object_object_add(obj, "parts", parts);
	return obj;
}
