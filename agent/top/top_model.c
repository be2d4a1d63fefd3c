// SPDX-License-Identifier: GPL-2.0-only
/*
 * top's rows, history and sorting (see top_model.h); the text layout is
 * top_format.c's. The window
 * document is read field by field with json-c; a field that is missing
 * reads as 0 or "-", so a newer agent with more fields, or an older one
 * without I/O figures, still shows what it has.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "top/top_model.h"

static const char *const column_names[TOP_COL_COUNT] = {
	[TOP_COL_NAME] = "NAME",       [TOP_COL_VCPUS] = "VCPU",
	[TOP_COL_STEAL] = "STEAL%",    [TOP_COL_STEAL_MIN] = "1MIN%",
	[TOP_COL_WAIT_P99] = "WAIT99", [TOP_COL_CULPRIT] = "CULPRIT",
	[TOP_COL_HIDDEN] = "HIDDEN%",  [TOP_COL_IOPS] = "IOPS",
	[TOP_COL_MBPS] = "MB/s",       [TOP_COL_QWAIT] = "QWAIT",
	[TOP_COL_BUDGET] = "BUDGET",
};

const char *top_model_column_name(enum top_column column)
{
	return column < TOP_COL_COUNT ? column_names[column] : "?";
}

double top_model_percent(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

void top_model_init(struct top_model *model)
{
	memset(model, 0, sizeof(*model));
	model->sort = TOP_COL_STEAL;
}

static void free_rows(struct top_model *model)
{
	for (size_t i = 0; i < model->guest_count; i++)
		free(model->guests[i].vcpus);
	free(model->guests);
	model->guests = NULL;
	model->guest_count = 0;
}

void top_model_free(struct top_model *model)
{
	free_rows(model);
	free(model->history);
	model->history = NULL;
	model->history_count = 0;
}

/* ------------------------------------------------------------ reading */

static struct json_object *member(struct json_object *obj, const char *key)
{
	struct json_object *value = NULL;

	if (!obj || !json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, key, &value))
		return NULL;
	return value;
}

static uint64_t get_u64(struct json_object *obj, const char *key)
{
	struct json_object *value = member(obj, key);

	if (!value || !(json_object_is_type(value, json_type_int) ||
			json_object_is_type(value, json_type_double)))
		return 0;
	if (json_object_is_type(value, json_type_double)) {
		double number = json_object_get_double(value);

		return number > 0 ? (uint64_t)number : 0;
	}
	return json_object_get_uint64(value);
}

static double get_double(struct json_object *obj, const char *key)
{
	struct json_object *value = member(obj, key);

	return value ? json_object_get_double(value) : 0.0;
}

static const char *get_string(struct json_object *obj, const char *key)
{
	struct json_object *value = member(obj, key);

	return value && json_object_is_type(value, json_type_string) ?
		       json_object_get_string(value) :
		       "";
}

static bool get_bool(struct json_object *obj, const char *key)
{
	struct json_object *value = member(obj, key);

	return value && json_object_get_boolean(value);
}

static size_t array_len(struct json_object *array)
{
	return array && json_object_is_type(array, json_type_array) ?
		       json_object_array_length(array) :
		       0;
}

/* One device's figures, wherever the document keeps them. */
static void add_device(struct json_object *dev, uint64_t *ops, uint64_t *bytes,
		       uint64_t *queue_ns, uint64_t *queue_p99_ns)
{
	uint64_t p99 = get_u64(dev, "queue_p99_ns");

	*ops += get_u64(dev, "read_ops") + get_u64(dev, "write_ops") +
		get_u64(dev, "other_ops");
	*bytes += get_u64(dev, "read_bytes") + get_u64(dev, "write_bytes") +
		  get_u64(dev, "other_bytes");
	*queue_ns += get_u64(dev, "queue_ns");
	if (p99 > *queue_p99_ns)
		*queue_p99_ns = p99;
}

/* "io" may be a list of devices, an object keyed by device, or one
 * device's figures: accept each, since the I/O work is landing now. */
static void read_io(struct top_guest *row, struct json_object *doc,
		    struct json_object *guest, uint64_t duration_ns)
{
	struct json_object *io = member(guest, "io");
	uint64_t ops = 0, bytes = 0, queue_ns = 0, queue_p99_ns = 0;
	double seconds = (double)duration_ns / 1e9;

	/* An agent that cannot see the block layer lists empty "io": that
	 * is "unknown", not "idle". */
	if (!io ||
	    (member(doc, "io_available") && !get_bool(doc, "io_available")))
		return;
	if (json_object_is_type(io, json_type_array)) {
		for (size_t i = 0; i < array_len(io); i++)
			add_device(json_object_array_get_idx(io, i), &ops,
				   &bytes, &queue_ns, &queue_p99_ns);
	} else if (json_object_is_type(io, json_type_object)) {
		if (member(io, "read_ops") || member(io, "write_ops")) {
			add_device(io, &ops, &bytes, &queue_ns, &queue_p99_ns);
		} else {
			struct json_object_iterator it =
				json_object_iter_begin(io);
			struct json_object_iterator end =
				json_object_iter_end(io);

			for (; !json_object_iter_equal(&it, &end);
			     json_object_iter_next(&it))
				add_device(json_object_iter_peek_value(&it),
					   &ops, &bytes, &queue_ns,
					   &queue_p99_ns);
		}
	} else {
		return;
	}
	row->has_io = true;
	row->io_ops_per_s = seconds > 0 ? (double)ops / seconds : 0;
	row->io_mb_per_s = seconds > 0 ? (double)bytes / seconds / 1e6 : 0;
	row->io_qwait_ns = queue_p99_ns ? queue_p99_ns :
			   ops		? queue_ns / ops :
					  0;
}

/* The names of the features the document says are unavailable. */
static void read_features(struct top_host *host, struct json_object *features)
{
	size_t used = 0;

	if (!features || !json_object_is_type(features, json_type_object))
		return;
	host->features_known = true;
	json_object_object_foreach(features, name, state)
	{
		int wrote;

		if (get_bool(state, "available"))
			continue;
		wrote = snprintf(host->features_off + used,
				 sizeof(host->features_off) - used, "%s%s",
				 used ? ", " : "", name);
		if (wrote < 0 ||
		    (size_t)wrote >= sizeof(host->features_off) - used)
			break;
		used += (size_t)wrote;
	}
}

/* "budget": {"state": ..., "action": ...} once enforcement reports it. */
static void read_budget(struct top_guest *row, struct json_object *guest)
{
	struct json_object *budget = member(guest, "budget");
	const char *state = get_string(budget, "state");
	const char *action = get_string(budget, "action");

	if (!budget || !state[0])
		return;
	if (action[0] && strcmp(action, "none"))
		snprintf(row->budget, sizeof(row->budget), "%s/%s", state,
			 action);
	else
		snprintf(row->budget, sizeof(row->budget), "%s", state);
}

static void read_culprit(struct top_guest *row, struct json_object *guest,
			 uint64_t steal_ns)
{
	struct json_object *culprits = member(guest, "culprits");
	struct json_object *first;
	const char *kind, *name;

	if (!array_len(culprits))
		return;
	first = json_object_array_get_idx(culprits, 0);
	kind = get_string(first, "kind");
	name = get_string(first, "name");
	/* Kernel, idle and throttling have no name worth showing. */
	snprintf(row->culprit, sizeof(row->culprit), "%s",
		 name[0] ? name : kind);
	row->culprit_share = steal_ns ? (double)get_u64(first, "steal_ns") /
						(double)steal_ns :
					0;
}

/* "hidden" (json_hidden.c): the vCPUs' totals and culprits, largest
 * first; absent when the interrupt programs did not measure the window. */
static void read_hidden(struct top_guest *row, struct json_object *guest,
			uint64_t capacity_ns)
{
	struct json_object *hidden = member(guest, "hidden");
	struct json_object *first;
	uint64_t irq_ns, softirq_ns;

	if (!hidden || !json_object_is_type(hidden, json_type_object))
		return;
	irq_ns = get_u64(hidden, "irq_ns");
	softirq_ns = get_u64(hidden, "softirq_ns");
	row->has_hidden = true;
	row->hidden_irq_pct = top_model_percent(irq_ns, capacity_ns);
	row->hidden_softirq_pct = top_model_percent(softirq_ns, capacity_ns);
	row->hidden_pct = top_model_percent(irq_ns + softirq_ns, capacity_ns);
	if (!array_len(member(hidden, "culprits")))
		return;
	first = json_object_array_get_idx(member(hidden, "culprits"), 0);
	snprintf(row->hidden_culprit, sizeof(row->hidden_culprit), "%s",
		 get_string(first, "name"));
	snprintf(row->hidden_culprit_kind, sizeof(row->hidden_culprit_kind),
		 "%s", get_string(first, "kind"));
	row->hidden_culprit_share =
		irq_ns + softirq_ns ? (double)get_u64(first, "ns") /
					      (double)(irq_ns + softirq_ns) :
				      0;
}

static int read_vcpus(struct top_guest *row, struct json_object *guest,
		      uint64_t duration_ns)
{
	struct json_object *vcpus = member(guest, "vcpus");
	size_t count = array_len(vcpus);

	row->vcpu_count = (int)count;
	if (!count)
		return 0;
	row->vcpus = calloc(count, sizeof(*row->vcpus));
	if (!row->vcpus)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		struct json_object *vcpu = json_object_array_get_idx(vcpus, i);
		struct top_vcpu *out = &row->vcpus[row->vcpus_len++];

		out->index = (int)get_u64(vcpu, "index");
		out->tid = (int)get_u64(vcpu, "tid");
		out->cpu = member(vcpu, "cpu") ? (int)get_u64(vcpu, "cpu") : -1;
		out->steal_pct = top_model_percent(get_u64(vcpu, "steal_ns"),
						   duration_ns);
		out->oncpu_pct =
			top_model_percent(get_u64(vcpu, "run_ns"), duration_ns);
		out->hidden_pct = top_model_percent(
			get_u64(member(vcpu, "hidden"), "irq_ns") +
				get_u64(member(vcpu, "hidden"), "softirq_ns"),
			duration_ns);
	}
	return 0;
}

static struct top_history *history_for(struct top_model *model,
				       const char *name, int pid)
{
	struct top_history *bigger;

	for (size_t i = 0; i < model->history_count; i++)
		if (model->history[i].pid == pid &&
		    !strcmp(model->history[i].name, name))
			return &model->history[i];
	bigger = realloc(model->history,
			 (model->history_count + 1) * sizeof(*bigger));
	if (!bigger)
		return NULL;
	model->history = bigger;
	bigger = &model->history[model->history_count++];
	memset(bigger, 0, sizeof(*bigger));
	snprintf(bigger->name, sizeof(bigger->name), "%s", name);
	bigger->pid = pid;
	return bigger;
}

/* Adds this window (once per seq) and sums the windows that ended within
 * the last minute. */
static double minute_pct(struct top_history *history, uint64_t seq,
			 uint64_t now_ns, uint64_t steal_ns,
			 uint64_t capacity_ns)
{
	uint64_t steal = 0, capacity = 0;

	if (seq == 0 || history->seen_seq != seq) {
		history->seen_seq = seq;
		history->at_ns[history->next] = now_ns;
		history->steal_ns[history->next] = steal_ns;
		history->capacity_ns[history->next] = capacity_ns;
		history->next = (history->next + 1) % TOP_HISTORY;
		if (history->used < TOP_HISTORY)
			history->used++;
	}
	for (size_t i = 0; i < history->used; i++) {
		if (now_ns - history->at_ns[i] > TOP_MINUTE_NS)
			continue;
		steal += history->steal_ns[i];
		capacity += history->capacity_ns[i];
	}
	return top_model_percent(steal, capacity);
}

/* Guests not in the window any more lose their history: a minute later
 * their name may belong to another guest. */
static void forget_missing(struct top_model *model)
{
	size_t kept = 0;

	for (size_t i = 0; i < model->history_count; i++) {
		bool present = false;

		for (size_t g = 0; g < model->guest_count && !present; g++)
			present = model->guests[g].pid ==
					  model->history[i].pid &&
				  !strcmp(model->guests[g].name,
					  model->history[i].name);
		if (present)
			model->history[kept++] = model->history[i];
	}
	model->history_count = kept;
}

int top_model_ingest(struct top_model *model, struct json_object *doc,
		     uint64_t now_ns)
{
	struct json_object *guests = member(doc, "guests");
	struct json_object *host = member(doc, "host");
	uint64_t duration_ns = get_u64(doc, "duration_ns");
	uint64_t seq = get_u64(doc, "seq");
	uint64_t all_steal = 0, all_capacity = 0;
	size_t count = array_len(guests);
	struct top_guest *rows;

	if (!doc || !json_object_is_type(doc, json_type_object) ||
	    (!guests && !member(doc, "duration_ns")))
		return -EINVAL;
	rows = count ? calloc(count, sizeof(*rows)) : NULL;
	if (count && !rows)
		return -ENOMEM;
	free_rows(model);
	model->guests = rows;
	memset(&model->host, 0, sizeof(model->host));
	model->host.seq = seq;
	model->host.duration_ns = duration_ns;
	model->host.online_cpus = (int)get_u64(host, "online_cpus");
	model->host.bpf_known = get_bool(host, "bpf_stats_enabled");
	model->host.bpf_cpu_pct = get_double(host, "bpf_cpu_pct");
	/* A bare dump document has no host totals: count its errors. */
	if (member(host, "errors_total")) {
		model->host.errors_total = get_u64(host, "errors_total");
	} else if (member(doc, "errors") &&
		   json_object_is_type(member(doc, "errors"),
				       json_type_object)) {
		struct json_object *errors = member(doc, "errors");
		struct json_object_iterator it = json_object_iter_begin(errors);
		struct json_object_iterator end = json_object_iter_end(errors);

		for (; !json_object_iter_equal(&it, &end);
		     json_object_iter_next(&it))
			model->host.errors_total += json_object_get_uint64(
				json_object_iter_peek_value(&it));
	}
	read_features(&model->host, member(doc, "features"));

	for (size_t i = 0; i < count; i++) {
		struct json_object *guest =
			json_object_array_get_idx(guests, i);
		struct top_guest *row;
		uint64_t steal_ns = get_u64(guest, "steal_ns");
		uint64_t capacity_ns;
		struct top_history *history;

		/* The agent lists exited guests for a while (their last
		 * figures matter to Prometheus); a live view shows the
		 * living. */
		if (get_bool(guest, "exited"))
			continue;
		row = &rows[model->guest_count++];

		snprintf(row->name, sizeof(row->name), "%s",
			 get_string(guest, "name"));
		row->pid = (int)get_u64(guest, "pid");
		if (read_vcpus(row, guest, duration_ns))
			return -ENOMEM;
		capacity_ns = duration_ns *
			      (uint64_t)(row->vcpu_count ? row->vcpu_count : 1);
		row->steal_pct = top_model_percent(steal_ns, capacity_ns);
		row->wait_p99_ns = get_u64(guest, "wait_p99_ns");
		read_culprit(row, guest, steal_ns);
		read_hidden(row, guest, capacity_ns);
		read_io(row, doc, guest, duration_ns);
		read_budget(row, guest);
		history = history_for(model, row->name, row->pid);
		row->steal_min_pct = history ?
					     minute_pct(history, seq, now_ns,
							steal_ns, capacity_ns) :
					     row->steal_pct;
		model->host.guests_running++;
		model->host.vcpus += (size_t)row->vcpu_count;
		all_steal += steal_ns;
		all_capacity += capacity_ns;
	}
	model->host.steal_pct = top_model_percent(all_steal, all_capacity);
	forget_missing(model);
	top_model_sort(model);
	return 0;
}

/* ------------------------------------------------------------ sorting */

static int compare_numbers(double a, double b)
{
	return a > b ? -1 : a < b ? 1 : 0;
}

static int compare_strings(const char *a, const char *b)
{
	/* Empty ("-") sorts last whichever way names go. */
	if (!a[0] != !b[0])
		return a[0] ? -1 : 1;
	return strcasecmp(a, b);
}

static int compare_rows(const struct top_guest *x, const struct top_guest *y,
			enum top_column column)
{
	switch (column) {
	case TOP_COL_NAME:
		return compare_strings(x->name, y->name);
	case TOP_COL_VCPUS:
		return compare_numbers(x->vcpu_count, y->vcpu_count);
	case TOP_COL_STEAL:
		return compare_numbers(x->steal_pct, y->steal_pct);
	case TOP_COL_STEAL_MIN:
		return compare_numbers(x->steal_min_pct, y->steal_min_pct);
	case TOP_COL_WAIT_P99:
		return compare_numbers((double)x->wait_p99_ns,
				       (double)y->wait_p99_ns);
	case TOP_COL_CULPRIT:
		return compare_strings(x->culprit, y->culprit);
	case TOP_COL_HIDDEN:
		return compare_numbers(x->hidden_pct, y->hidden_pct);
	case TOP_COL_IOPS:
		return compare_numbers(x->io_ops_per_s, y->io_ops_per_s);
	case TOP_COL_MBPS:
		return compare_numbers(x->io_mb_per_s, y->io_mb_per_s);
	case TOP_COL_QWAIT:
		return compare_numbers((double)x->io_qwait_ns,
				       (double)y->io_qwait_ns);
	case TOP_COL_BUDGET:
		return compare_strings(x->budget, y->budget);
	default:
		return 0;
	}
}

/* qsort has no context argument: an insertion sort keeps the order of
 * equal rows (stable, so the display does not shuffle) and is plenty for
 * the few hundred guests a host runs. */
void top_model_sort(struct top_model *model)
{
	for (size_t i = 1; i < model->guest_count; i++) {
		struct top_guest moving = model->guests[i];
		size_t j = i;

		while (j > 0) {
			int order = compare_rows(&model->guests[j - 1], &moving,
						 model->sort);

			if (!order)
				order = compare_strings(
					model->guests[j - 1].name, moving.name);
			if (!order)
				order = model->guests[j - 1].pid < moving.pid ?
						-1 :
						model->guests[j - 1].pid >
							moving.pid;
			if (model->reverse)
				order = -order;
			if (order <= 0)
				break;
			model->guests[j] = model->guests[j - 1];
			j--;
		}
		model->guests[j] = moving;
	}
}

bool top_model_guest_matches(const struct top_guest *guest, const char *filter)
{
	return !filter[0] || strcasestr(guest->name, filter);
}

size_t top_model_detail_lines(const struct top_guest *guest)
{
	return (guest->has_hidden ? 1 : 0) + guest->vcpus_len;
}
