// SPDX-License-Identifier: GPL-2.0-only
/*
 * The `dump --json` document, built with json-c. Field names are a public
 * contract (README.md); add fields, never rename them.
 */
#include <errno.h>

#include <json-c/json.h>

#include "features_out.h"
#include "model/hist.h"
#include "json_hidden.h"
#include "json_io.h"
#include "json_kvm.h"
#include "json_net.h"
#include "report_out.h"

static void put_u64(struct json_object *obj, const char *key, uint64_t value)
{
	json_object_object_add(obj, key, json_object_new_uint64(value));
}

static void put_counters(struct json_object *obj,
			 const struct thread_counters *counters)
{
	put_u64(obj, "steal_ns", counters->steal_ns);
	put_u64(obj, "run_ns", counters->run_ns);
	put_u64(obj, "waits", counters->waits);
}

static void put_jitter(struct json_object *obj,
		       const struct thread_counters *counters)
{
	uint64_t max_ns = counters->wait_max_ns;

	put_u64(obj, "wait_p50_ns",
		hist_quantile_ns(counters->wait_hist, 0.50, max_ns));
	put_u64(obj, "wait_p90_ns",
		hist_quantile_ns(counters->wait_hist, 0.90, max_ns));
	put_u64(obj, "wait_p99_ns",
		hist_quantile_ns(counters->wait_hist, 0.99, max_ns));
	put_u64(obj, "wait_max_ns", max_ns);
}

static struct json_object *vcpu_json(const struct report_thread *vcpu)
{
	struct json_object *obj = json_object_new_object();

	json_object_object_add(obj, "index",
			       json_object_new_int(vcpu->vcpu_index));
	json_object_object_add(obj, "tid", json_object_new_int(vcpu->tid));
	put_counters(obj, &vcpu->delta);
	put_jitter(obj, &vcpu->delta);
	json_object_object_add(obj, "exited",
			       json_object_new_boolean(vcpu->exited));
	return obj;
}

static struct json_object *other_json(const struct report_thread *other)
{
	struct json_object *obj = json_object_new_object();

	json_object_object_add(
		obj, "kind",
		json_object_new_string(thread_kind_name(other->kind)));
	json_object_object_add(obj, "tid", json_object_new_int(other->tid));
	put_counters(obj, &other->delta);
	json_object_object_add(obj, "exited",
			       json_object_new_boolean(other->exited));
	return obj;
}

static struct json_object *culprits_json(const struct report_guest *guest)
{
	struct json_object *list = json_object_new_array();

	for (size_t i = 0; i < guest->culprit_count; i++) {
		const struct report_culprit *culprit = &guest->culprits[i];
		struct json_object *obj = json_object_new_object();

		json_object_object_add(obj, "kind",
				       json_object_new_string(culprit_kind_name(
					       culprit->kind)));
		json_object_object_add(obj, "name",
				       json_object_new_string(culprit->name));
		put_u64(obj, "steal_ns", culprit->steal_ns);
		json_object_array_add(list, obj);
	}
	return list;
}

static struct json_object *cpus_json(const struct report *report)
{
	struct json_object *list = json_object_new_array();

	for (int cpu = 0; cpu < report->cpu_count; cpu++) {
		struct json_object *obj = json_object_new_object();

		json_object_object_add(obj, "cpu", json_object_new_int(cpu));
		put_u64(obj, "vcpu_wait_ns", report->cpu_wait_ns[cpu]);
		json_object_array_add(list, obj);
	}
	return list;
}

static struct json_object *guest_json(const struct report_guest *guest)
{
	struct json_object *obj = json_object_new_object();
	struct json_object *vcpus = json_object_new_array();
	struct json_object *others = json_object_new_array();

	json_object_object_add(obj, "name",
			       json_object_new_string(guest->name));
	json_object_object_add(obj, "pid", json_object_new_int(guest->pid));
	json_object_object_add(
		obj, "vmm", json_object_new_string(vmm_kind_name(guest->vmm)));
	json_object_object_add(obj, "accel",
			       json_object_new_string(guest->tcg ? "tcg" :
								   "kvm"));
	if (guest->uuid[0])
		json_object_object_add(obj, "uuid",
				       json_object_new_string(guest->uuid));
	if (guest->cgroup[0])
		json_object_object_add(obj, "cgroup",
				       json_object_new_string(guest->cgroup));
	/* Who named it, and whether another live guest claims the same name
	 * or UUID (README "Who a guest is"). */
	json_object_object_add(obj, "identity",
			       json_object_new_string(guest_identity_name(
				       guest->claim.source)));
	if (guest->claim.uid_known)
		json_object_object_add(obj, "vmm_uid",
				       json_object_new_int64(guest->claim.uid));
	json_object_object_add(obj, "identity_clash",
			       json_object_new_boolean(guest->claim.clash));
	json_object_object_add(obj, "exited",
			       json_object_new_boolean(guest->exited));
	put_counters(obj, &guest->vcpu_total);
	put_jitter(obj, &guest->vcpu_total);
	put_u64(obj, "other_steal_ns", guest->other_total.steal_ns);
	put_u64(obj, "other_run_ns", guest->other_total.run_ns);
	json_object_object_add(obj, "culprits", culprits_json(guest));
	json_object_object_add(obj, "net", json_net_list(guest));
	for (size_t i = 0; i < guest->vcpu_count; i++)
		json_object_array_add(vcpus, vcpu_json(&guest->vcpus[i]));
	for (size_t i = 0; i < guest->other_count; i++)
		json_object_array_add(others, other_json(&guest->others[i]));
	json_object_object_add(obj, "vcpus", vcpus);
	json_object_object_add(obj, "other_threads", others);
	return obj;
}

int json_write_report(FILE *out, const struct report *report)
{
	struct json_object *doc = json_object_new_object();
	struct json_object *guests, *cpus, *errors;
	const char *text;
	int err = 0;

	if (!doc)
		return -ENOMEM;
	guests = json_object_new_array();
	errors = json_object_new_object();
	put_u64(doc, "duration_ns", report->duration_ns);
	for (size_t i = 0; i < report->guest_count; i++) {
		struct json_object *guest = guest_json(&report->guests[i]);

		json_object_object_add(guest, "kvm",
				       kvm_json(report, &report->guests[i]));
		json_object_array_add(guests, guest);
	}
	if (report->io)
		json_io_add(doc, guests, report);
	if (report->features)
		json_object_object_add(doc, "features",
				       features_out_json(report->features));
	cpus = cpus_json(report);
	json_hidden_add(guests, cpus, report);
	json_hidden_add_errors(doc, report);
	json_object_object_add(doc, "guests", guests);
	json_object_object_add(doc, "cpus", cpus);
	for (int i = 0; i < SCHED_ERR_COUNT; i++)
		put_u64(errors, sched_error_name(i), report->errors[i]);
	put_u64(errors, "kvm_events_lost", report->kvm.events_lost);
	put_u64(errors, "kvm_ns_lost", report->kvm.ns_lost);
	/* Not an error: what the lost events are out of. Every event that
	 * fired on a counted guest is in some guest's kvm figures or in
	 * kvm_events_lost. */
	put_u64(errors, "kvm_events_fired", report->kvm.events_fired);
	json_object_object_add(doc, "errors", errors);

	text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
	if (!text)
		err = -ENOMEM;
	else if (fprintf(out, "%s\n", text) < 0 || fflush(out))
		err = -EIO;
	json_object_put(doc);
	return err;
}
