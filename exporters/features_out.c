// SPDX-License-Identifier: GPL-2.0-only
/*
 * Writers of the feature table. The reason stays out of /metrics: a label
 * holding free text would start a new series whenever the kernel's wording
 * changes; the log, the dump document and `status` carry it instead.
 */
#include "features_out.h"
#include "prom_write.h"

struct json_object *features_out_json(const struct features *features)
{
	struct json_object *obj = json_object_new_object();

	if (!obj)
		return NULL;
	for (int i = 0; i < FEATURE_COUNT; i++) {
		const struct feature_state *state = &features->state[i];
		struct json_object *entry = json_object_new_object();

		if (!entry) {
			json_object_put(obj);
			return NULL;
		}
		json_object_object_add(
			entry, "available",
			json_object_new_boolean(state->available));
		if (!state->available)
			json_object_object_add(
				entry, "reason",
				json_object_new_string(state->reason));
		json_object_object_add(obj, feature_name(i), entry);
	}
	return obj;
}

void features_out_prom(FILE *out, const struct features *features)
{
	fputs("# HELP kvmwarden_feature_available 1 when the agent's feature "
	      "(steal, attribution, block_io, kvm, kvm_io_notes, hidden_steal) "
	      "loaded on "
	      "this kernel, else 0; the log and `kvmwarden status` say why.\n"
	      "# TYPE kvmwarden_feature_available gauge\n",
	      out);
	for (int i = 0; i < FEATURE_COUNT; i++) {
		fputs("kvmwarden_feature_available{feature=\"", out);
		prom_write_label_value(out, feature_name(i));
		fprintf(out, "\"} %d\n", features->state[i].available ? 1 : 0);
	}
}
