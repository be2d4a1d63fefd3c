// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guest table bookkeeping and window reports. Everything here is pure data
 * manipulation; discovery and collection fill the table, exporters read
 * reports built from two copies of it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "model/model.h"

static int grow(void **items, size_t *cap, size_t count, size_t item_size)
{
	size_t new_cap;
	void *bigger;

	if (count < *cap)
		return 0;
	new_cap = *cap ? *cap * 2 : 8;
	bigger = realloc(*items, new_cap * item_size);
	if (!bigger)
		return -ENOMEM;
	*items = bigger;
	*cap = new_cap;
	return 0;
}

void guest_table_init(struct guest_table *table)
{
	memset(table, 0, sizeof(*table));
	table->next_guest_id = 1;
}

void guest_table_free(struct guest_table *table)
{
	if (!table)
		return;
	for (size_t i = 0; i < table->guest_count; i++) {
		free(table->guests[i].threads);
		free(table->guests[i].culprits);
		free(table->guests[i].hidden_culprits);
	}
	free(table->guests);
	free(table->cpu_wait_ns);
	free(table->cpu_irq);
	guest_table_init(table);
}

struct guest *guest_table_find(struct guest_table *table, int pid,
			       uint64_t start_ticks)
{
	for (size_t i = 0; i < table->guest_count; i++) {
		struct guest *guest = &table->guests[i];

		if (guest->pid == pid && guest->start_ticks == start_ticks &&
		    !guest->exited)
			return guest;
	}
	return NULL;
}

struct guest *guest_table_add(struct guest_table *table, int pid,
			      uint64_t start_ticks)
{
	struct guest *guest;
	int err;

	err = grow((void **)&table->guests, &table->guest_cap,
		   table->guest_count, sizeof(*table->guests));
	if (err) {
		errno = -err;
		return NULL;
	}
	guest = &table->guests[table->guest_count++];
	memset(guest, 0, sizeof(*guest));
	guest->id = table->next_guest_id++;
	guest->pid = pid;
	guest->start_ticks = start_ticks;
	return guest;
}

struct thread *guest_find_thread(struct guest *guest, int tid)
{
	for (size_t i = 0; i < guest->thread_count; i++)
		if (guest->threads[i].tid == tid && !guest->threads[i].exited)
			return &guest->threads[i];
	return NULL;
}

struct thread *guest_add_thread(struct guest *guest, int tid)
{
	struct thread *thread;
	int err;

	err = grow((void **)&guest->threads, &guest->thread_cap,
		   guest->thread_count, sizeof(*guest->threads));
	if (err) {
		errno = -err;
		return NULL;
	}
	thread = &guest->threads[guest->thread_count++];
	memset(thread, 0, sizeof(*thread));
	thread->seq = ++guest->next_thread_seq;
	thread->tid = tid;
	thread->tgid = guest->pid;
	thread->kind = THREAD_OTHER;
	thread->vcpu_index = -1;
	thread->slot = -1;
	return thread;
}

static bool expired(bool exited, uint64_t exited_at_ns, uint64_t now_ns,
		    uint64_t retain_ns)
{
	return exited && now_ns >= exited_at_ns &&
	       now_ns - exited_at_ns >= retain_ns;
}

static void prune_threads(struct guest *guest, uint64_t now_ns,
			  uint64_t retain_ns,
			  void (*released)(int slot, void *ctx), void *ctx)
{
	size_t kept = 0;

	for (size_t i = 0; i < guest->thread_count; i++) {
		struct thread *thread = &guest->threads[i];

		if (!expired(thread->exited, thread->exited_at_ns, now_ns,
			     retain_ns)) {
			guest->threads[kept++] = *thread;
			continue;
		}
		thread_counters_add(&guest->retired[thread->kind],
				    &thread->counters);
		if (thread->slot >= 0 && released)
			released(thread->slot, ctx);
	}
	guest->thread_count = kept;
}

void guest_table_prune(struct guest_table *table, uint64_t now_ns,
		       uint64_t retain_ns,
		       void (*released)(int slot, void *ctx), void *ctx)
{
	size_t kept = 0;

	for (size_t i = 0; i < table->guest_count; i++) {
		struct guest *guest = &table->guests[i];

		prune_threads(guest, now_ns, retain_ns, released, ctx);
		if (expired(guest->exited, guest->exited_at_ns, now_ns,
			    retain_ns) &&
		    guest->thread_count == 0) {
			free(guest->threads);
			free(guest->culprits);
			free(guest->hidden_culprits);
			continue;
		}
		table->guests[kept++] = *guest;
	}
	table->guest_count = kept;
}

void thread_counters_add(struct thread_counters *sum,
			 const struct thread_counters *add)
{
	sum->steal_ns += add->steal_ns;
	sum->run_ns += add->run_ns;
	sum->waits += add->waits;
	if (add->wait_max_ns > sum->wait_max_ns)
		sum->wait_max_ns = add->wait_max_ns;
	for (int i = 0; i < SCHED_WAIT_SLOTS; i++)
		sum->wait_hist[i] += add->wait_hist[i];
	hidden_counts_add(&sum->hidden, &add->hidden);
}

static uint64_t sub_clamped(uint64_t after, uint64_t before)
{
	return after > before ? after - before : 0;
}

void thread_counters_delta(struct thread_counters *out,
			   const struct thread_counters *after,
			   const struct thread_counters *before)
{
	out->steal_ns = sub_clamped(after->steal_ns, before->steal_ns);
	out->run_ns = sub_clamped(after->run_ns, before->run_ns);
	out->waits = sub_clamped(after->waits, before->waits);
	/* A maximum has no delta; the window's own maximum is not known
	 * exactly, so report the lifetime one only if a wait happened. */
	out->wait_max_ns = out->waits ? after->wait_max_ns : 0;
	for (int i = 0; i < SCHED_WAIT_SLOTS; i++)
		out->wait_hist[i] =
			sub_clamped(after->wait_hist[i], before->wait_hist[i]);
	hidden_counts_delta(&out->hidden, &after->hidden, &before->hidden);
}

struct culprit_total *guest_culprit(struct guest *guest, uint32_t kind,
				    uint64_t id)
{
	struct culprit_total *entry;
	int err;

	for (size_t i = 0; i < guest->culprit_count; i++)
		if (guest->culprits[i].kind == kind &&
		    guest->culprits[i].id == id)
			return &guest->culprits[i];
	err = grow((void **)&guest->culprits, &guest->culprit_cap,
		   guest->culprit_count, sizeof(*guest->culprits));
	if (err) {
		errno = -err;
		return NULL;
	}
	entry = &guest->culprits[guest->culprit_count++];
	memset(entry, 0, sizeof(*entry));
	entry->kind = kind;
	entry->id = id;
	return entry;
}

const char *culprit_kind_name(uint32_t kind)
{
	switch (kind) {
	case ATTR_CULPRIT_GUEST:
		return "guest";
	case ATTR_CULPRIT_CGROUP:
		return "cgroup";
	case ATTR_CULPRIT_KERNEL:
		return "kernel";
	case ATTR_CULPRIT_IDLE:
		return "idle";
	case ATTR_CULPRIT_THROTTLED:
		return "throttled";
	}
	return "unknown";
}

static void *duplicate(const void *from, size_t bytes)
{
	void *to;

	if (!bytes)
		return NULL;
	to = malloc(bytes);
	if (to)
		memcpy(to, from, bytes);
	return to;
}

int guest_table_copy(struct guest_table *dst, const struct guest_table *src)
{
	guest_table_init(dst);
	dst->next_guest_id = src->next_guest_id;
	dst->kvm = src->kvm;
	if (src->cpu_count > 0) {
		dst->cpu_wait_ns = duplicate(src->cpu_wait_ns,
					     src->cpu_count * sizeof(uint64_t));
		if (!dst->cpu_wait_ns)
			return -ENOMEM;
		dst->cpu_count = src->cpu_count;
	}
	if (src->cpu_irq_count > 0 && src->cpu_irq) {
		dst->cpu_irq = duplicate(src->cpu_irq,
					 src->cpu_irq_count *
						 sizeof(*src->cpu_irq));
		if (!dst->cpu_irq) {
			guest_table_free(dst);
			return -ENOMEM;
		}
		dst->cpu_irq_count = src->cpu_irq_count;
	}
	memcpy(dst->irq_errors, src->irq_errors, sizeof(dst->irq_errors));
	if (!src->guest_count)
		return 0;
	dst->guests = calloc(src->guest_count, sizeof(*dst->guests));
	if (!dst->guests)
		return -ENOMEM;
	dst->guest_cap = src->guest_count;
	for (size_t i = 0; i < src->guest_count; i++) {
		const struct guest *from = &src->guests[i];
		struct guest *to = &dst->guests[i];

		*to = *from;
		to->threads = NULL;
		to->thread_cap = from->thread_count;
		to->culprits = duplicate(from->culprits,
					 from->culprit_count *
						 sizeof(*from->culprits));
		to->culprit_cap = from->culprit_count;
		to->hidden_culprits = duplicate(
			from->hidden_culprits,
			from->hidden_culprit_count *
				sizeof(*from->hidden_culprits));
		to->hidden_culprit_cap = from->hidden_culprit_count;
		if ((from->culprit_count && !to->culprits) ||
		    (from->hidden_culprit_count && !to->hidden_culprits)) {
			to->culprit_count = 0;
			to->hidden_culprit_count = 0;
			to->thread_count = 0;
			dst->guest_count = i + 1;
			guest_table_free(dst);
			return -ENOMEM;
		}
		dst->guest_count = i + 1;
		if (!from->thread_count)
			continue;
		to->threads = malloc(from->thread_count * sizeof(*to->threads));
		if (!to->threads) {
			to->thread_count = 0;
			guest_table_free(dst);
			return -ENOMEM;
		}
		memcpy(to->threads, from->threads,
		       from->thread_count * sizeof(*to->threads));
	}
	return 0;
}

const char *sched_error_name(int which)
{
	static const char *const names[SCHED_ERR_COUNT] = {
		[SCHED_ERR_STORAGE_CREATE] = "storage_create",
		[SCHED_ERR_BAD_SLOT] = "bad_slot",
		[SCHED_ERR_CLOCK] = "clock_backwards",
		[SCHED_ERR_ATTR_FULL] = "attribution_full",
		[SCHED_ERR_WAITERS_FULL] = "waiters_full",
		[SCHED_ERR_ATTR_LOST_NS] = "attribution_lost_ns",
		[SCHED_ERR_STALE_REGISTRATION] = "stale_registration",
		[SCHED_ERR_CULPRIT_EVICTED] = "culprit_evicted",
	};

	if (which < 0 || which >= SCHED_ERR_COUNT || !names[which])
		return "unknown";
	return names[which];
}

const char *guest_identity_name(enum guest_identity identity)
{
	switch (identity) {
	case GUEST_IDENTITY_SELF:
		return "command-line";
	case GUEST_IDENTITY_LIBVIRT:
		return "libvirt";
	case GUEST_IDENTITY_SYSTEMD:
		return "systemd";
	case GUEST_IDENTITY_CONFIG:
		return "config";
	default:
		return "given";
	}
}

static bool claims_same(const struct guest *a, const struct guest *b)
{
	return !strcmp(a->name, b->name) ||
	       (a->uuid[0] && !strcasecmp(a->uuid, b->uuid));
}

size_t guest_table_mark_clashes(struct guest_table *table)
{
	size_t marked = 0;

	/* Quadratic, over live guests only: a host runs tens of them. */
	for (size_t i = 0; i < table->guest_count; i++) {
		struct guest *guest = &table->guests[i];

		guest->claim.clash = false;
		if (guest->exited)
			continue;
		for (size_t j = 0; j < table->guest_count; j++)
			if (j != i && !table->guests[j].exited &&
			    claims_same(guest, &table->guests[j])) {
				guest->claim.clash = true;
				break;
			}
		marked += guest->claim.clash;
	}
	return marked;
}
