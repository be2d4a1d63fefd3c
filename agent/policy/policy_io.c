// SPDX-License-Identifier: GPL-2.0-only
/*
 * The I/O ladder, per (victim, device): raise the victim's I/O weight,
 * then cap the IOPS of the allowed culprit it waited behind most, from
 * what that culprit did down by quota_step_percent per interval to
 * min_io_iops; then the next allowed culprit. It climbs one rung per
 * interval while the queue-wait p99 breaks the budget, holds in the dead
 * band above the off line, and after a cool-down below it climbs down:
 * every cap four times wider per interval until it reaches where it
 * started (then lifted), the weight last. As in policy.c the direction
 * changes at most once per cool-down.
 */
#include <stdio.h>
#include <string.h>

#include "policy/enforce_route.h"
#include "policy/ladder.h"
#include "model/hist.h"
#include "model/io_model.h"
#include "policy/policy_guests.h"
#include "policy/policy_io.h"

void policy_io_set_config(struct policy_io *policy,
			  const struct enforce_config *config,
			  uint32_t interval_ms)
{
	policy->config = config;
	policy->cooldown_intervals =
		ladder_cooldown_intervals(config->cooldown_ms, interval_ms);
}

void policy_io_init(struct policy_io *policy,
		    const struct enforce_config *config, uint32_t interval_ms,
		    bool weight_available)
{
	memset(policy, 0, sizeof(*policy));
	policy_io_set_config(policy, config, interval_ms);
	policy->weight_available = weight_available;
}

static struct policy_io_ladder *ladder_for(struct policy_io *policy,
					   const struct policy_io_guest *guest,
					   const char *device, bool create)
{
	struct policy_io_ladder *free_slot = NULL;

	for (size_t i = 0; i < POLICY_IO_MAX_LADDERS; i++) {
		struct policy_io_ladder *l = &policy->ladders[i];

		if (!l->in_use) {
			if (!free_slot)
				free_slot = l;
			continue;
		}
		if (!strcmp(l->name, guest->name) &&
		    !strcmp(l->uuid, guest->uuid) && !strcmp(l->device, device))
			return l;
	}
	if (!create || !free_slot)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->in_use = true;
	snprintf(free_slot->name, sizeof(free_slot->name), "%s", guest->name);
	snprintf(free_slot->uuid, sizeof(free_slot->uuid), "%s", guest->uuid);
	snprintf(free_slot->device, sizeof(free_slot->device), "%s", device);
	return free_slot;
}

static struct policy_action *add_action(struct policy_io_result *result,
					enum policy_verb verb,
					const struct policy_io_ladder *l,
					const char *target, uint32_t from,
					uint32_t to, const char *why)
{
	struct policy_action *action;

	if (result->action_count == POLICY_IO_MAX_ACTIONS)
		return NULL;
	snprintf(result->action_device[result->action_count],
		 sizeof(result->action_device[0]), "%s", l->device);
	action = &result->actions[result->action_count++];
	memset(action, 0, sizeof(*action));
	action->verb = verb;
	snprintf(action->victim, sizeof(action->victim), "%s", l->name);
	snprintf(action->target, sizeof(action->target), "%s", target);
	action->from = from;
	action->to = to;
	snprintf(action->reason, sizeof(action->reason), "%s", why);
	return action;
}

static void describe(struct policy_action *action, const char *what,
		     const struct policy_io_device *d,
		     const struct budget *budget)
{
	const struct policy_io_culprit *top = d->culprits;

	if (!action)
		return;
	snprintf(action->reason, sizeof(action->reason),
		 "%s: I/O queue wait p99 %.3f ms on %s (budget %.3f ms); "
		 "waited most behind %s %.200s %.1f ms (%.0f IOPS)",
		 what, d->queue_p99_ms, d->device,
		 budget->max_io_queue_p99_us / 1000.0,
		 d->culprit_count ?
			 (top->kind == IO_CULPRIT_GUEST ? "guest" : "cgroup") :
			 "none",
		 d->culprit_count ? top->name : "",
		 d->culprit_count ? top->blocked_ms : 0.0,
		 d->culprit_count ? top->iops : 0.0);
}

static const struct policy_io_guest *
guest_named(const struct policy_io_guest *all, size_t count, const char *name)
{
	for (size_t i = 0; i < count; i++)
		if (!strcmp(all[i].name, name))
			return &all[i];
	return NULL;
}

/* The files where no manager owns the cgroup, systemd's properties for a
 * unit when systemd answers (enforce_route.h); libvirt has no I/O knob. */
static bool target_writable(const struct policy_io *policy, const char *cgroup)
{
	return enforce_route(policy->config, cgroup, false,
			     policy->systemd_backend) != ENFORCE_BACKEND_NONE;
}

/* The cgroup to cap for culprit c, or NULL when this budget may not: as
 * in policy.c, a host cgroup under the budget's throttle roots or a guest
 * of a lower class, writable, and not holding the victim. */
static const char *culprit_target(const struct policy_io *policy,
				  const struct budget *budget,
				  const struct policy_io_guest *victim,
				  const struct policy_io_guest *all,
				  size_t count,
				  const struct policy_io_culprit *c)
{
	const struct enforce_config *config = policy->config;
	const char *cgroup = NULL;

	if (c->kind == IO_CULPRIT_CGROUP) {
		for (size_t r = 0; r < budget->throttle_root_count; r++)
			if (enforce_config_path_under(
				    c->name, budget->throttle_roots[r]))
				cgroup = c->name;
	} else if (c->kind == IO_CULPRIT_GUEST &&
		   budget->throttle_lower_class_guests) {
		const struct policy_io_guest *other =
			guest_named(all, count, c->name);

		if (other && other->cgroup[0] &&
		    enforce_config_class_rank_claim(
			    config, other->name, other->uuid, &other->claim) >
			    enforce_config_class_rank_claim(
				    config, victim->name, victim->uuid,
				    &victim->claim))
			cgroup = other->cgroup;
	}
	if (!cgroup || !target_writable(policy, cgroup) ||
	    enforce_config_path_under(victim->cgroup, cgroup))
		return NULL;
	return cgroup;
}

static struct policy_io_cap *cap_on(struct policy_io_ladder *l,
				    const char *cgroup)
{
	for (size_t c = 0; c < l->cap_count; c++)
		if (!strcmp(l->caps[c].cgroup, cgroup))
			return &l->caps[c];
	return NULL;
}

/* The allowed culprit the victim waited behind most that is not capped
 * yet and did I/O in the window; *which is its index. */
static const char *
new_culprit(const struct policy_io *policy, struct policy_io_ladder *l,
	    const struct budget *budget, const struct policy_io_guest *victim,
	    const struct policy_io_device *d, const struct policy_io_guest *all,
	    size_t count, size_t *which)
{
	for (size_t i = 0; i < d->culprit_count; i++) {
		const char *cgroup = culprit_target(policy, budget, victim, all,
						    count, &d->culprits[i]);

		if (cgroup && d->culprits[i].blocked_ms > 0 &&
		    d->culprits[i].iops >= 1.0 && !cap_on(l, cgroup)) {
			*which = i;
			return cgroup;
		}
	}
	return NULL;
}

/* Whether the ladder can still help: a capped culprit is still among
 * those waited behind, or a new allowed one is. */
static bool actionable(const struct policy_io *policy,
		       struct policy_io_ladder *l, const struct budget *budget,
		       const struct policy_io_guest *victim,
		       const struct policy_io_device *d,
		       const struct policy_io_guest *all, size_t count)
{
	size_t which;

	for (size_t i = 0; i < d->culprit_count; i++) {
		const char *cgroup = culprit_target(policy, budget, victim, all,
						    count, &d->culprits[i]);

		if (cgroup && cap_on(l, cgroup))
			return true;
	}
	return new_culprit(policy, l, budget, victim, d, all, count, &which) !=
	       NULL;
}

static void turn(struct policy_io *policy, struct policy_io_ladder *l,
		 int direction)
{
	ladder_turn(&l->direction, &l->direction_since, policy->interval,
		    direction);
}

static bool may_turn(const struct policy_io *policy,
		     const struct policy_io_ladder *l, int direction)
{
	return ladder_may_turn(l->direction, l->direction_since,
			       policy->interval, policy->cooldown_intervals,
			       direction);
}

static void escalate(struct policy_io *policy, struct policy_io_ladder *l,
		     const struct budget *budget,
		     const struct policy_io_guest *victim,
		     const struct policy_io_device *d,
		     const struct policy_io_guest *all, size_t count,
		     struct policy_io_result *result)
{
	const struct enforce_config *config = policy->config;
	struct policy_io_cap *cap;
	const char *culprit;
	size_t which = 0;
	uint32_t next;

	if (!may_turn(policy, l, +1))
		return;
	if (budget->io_weight && policy->weight_available &&
	    !l->weight_cgroup[0] && target_writable(policy, victim->cgroup)) {
		snprintf(l->weight_cgroup, sizeof(l->weight_cgroup), "%s",
			 victim->cgroup);
		l->weight = budget->io_weight;
		describe(add_action(result, POLICY_RAISE_WEIGHT, l,
				    l->weight_cgroup, 0, l->weight, ""),
			 "over budget", d, budget);
		turn(policy, l, +1);
		return;
	}
	cap = l->cap_count ? &l->caps[l->cap_count - 1] : NULL;
	if (!cap || cap->iops <= config->min_io_iops) {
		if (l->cap_count == POLICY_IO_MAX_CAPS)
			return;
		culprit = new_culprit(policy, l, budget, victim, d, all, count,
				      &which);
		if (!culprit)
			return;
		cap = &l->caps[l->cap_count++];
		memset(cap, 0, sizeof(*cap));
		snprintf(cap->cgroup, sizeof(cap->cgroup), "%s", culprit);
		/* From what it did: a cap above its rate is a lost step. */
		cap->start_iops = (uint32_t)d->culprits[which].iops + 1;
		cap->iops = cap->start_iops;
	}
	next = ladder_cut(cap->iops, config->quota_step_percent,
			  config->min_io_iops);
	describe(add_action(result, POLICY_CAP_QUOTA, l, cap->cgroup,
			    cap->iops == cap->start_iops ? 0 : cap->iops, next,
			    ""),
		 "over budget", d, budget);
	cap->iops = next;
	turn(policy, l, +1);
}

static bool has_actions(const struct policy_io_ladder *l)
{
	return l->weight_cgroup[0] || l->cap_count;
}

static void relax(struct policy_io *policy, struct policy_io_ladder *l,
		  struct policy_io_result *result, const char *why)
{
	size_t kept = 0;

	for (size_t c = 0; c < l->cap_count; c++) {
		struct policy_io_cap *cap = &l->caps[c];
		uint32_t next = 0;

		if (ladder_relax_lifts(cap->iops, cap->start_iops, &next)) {
			add_action(result, POLICY_LIFT_QUOTA, l, cap->cgroup,
				   cap->iops, 0, why);
		} else {
			add_action(result, POLICY_RELAX_QUOTA, l, cap->cgroup,
				   cap->iops, next, why);
			cap->iops = next;
			l->caps[kept++] = *cap;
		}
	}
	if (l->cap_count) {
		l->cap_count = kept;
	} else if (l->weight_cgroup[0]) {
		add_action(result, POLICY_RESTORE_WEIGHT, l, l->weight_cgroup,
			   l->weight, 0, why);
		l->weight_cgroup[0] = '\0';
		l->weight = 0;
	}
	turn(policy, l, -1);
}

static void add_setting(struct policy_io_result *result, const char *cgroup,
			const char *device, enum policy_knob knob,
			uint32_t value)
{
	struct policy_io_setting *s;

	/* Two victims acting on one cgroup and device: the stronger wins. */
	for (size_t i = 0; i < result->setting_count; i++) {
		s = &result->settings[i];
		if (s->knob != knob || strcmp(s->cgroup, cgroup) ||
		    strcmp(s->device, device))
			continue;
		if (knob == POLICY_KNOB_IO_WEIGHT ? value > s->value :
						    value < s->value)
			s->value = value;
		return;
	}
	if (result->setting_count == POLICY_IO_MAX_SETTINGS)
		return;
	s = &result->settings[result->setting_count++];
	snprintf(s->cgroup, sizeof(s->cgroup), "%s", cgroup);
	snprintf(s->device, sizeof(s->device), "%s", device);
	s->knob = knob;
	s->value = value;
}

/* One (victim, device) this interval; d NULL: no I/O there this time,
 * which is the budget held. */
static void step_ladder(struct policy_io *policy, struct policy_io_ladder *l,
			const struct budget *budget,
			const struct policy_io_guest *victim,
			const struct policy_io_device *d,
			const struct policy_io_guest *all, size_t count,
			struct policy_io_result *result)
{
	double off = ladder_off_factor(policy->config->hysteresis_percent);
	double limit = budget->max_io_queue_p99_us / 1000.0;
	bool over = d && d->queue_p99_ms > limit;
	bool can_help = d &&
			actionable(policy, l, budget, victim, d, all, count);

	if (over && !can_help && !l->blocked_logged) {
		describe(add_action(result, POLICY_NO_CULPRIT, l, "", 0, 0, ""),
			 "over budget, but no culprit this budget may "
			 "throttle was waited behind",
			 d, budget);
		l->blocked_logged = true;
	}
	switch (ladder_next_move(over, !d || d->queue_p99_ms <= off * limit,
				 can_help, policy->cooldown_intervals,
				 &l->held_intervals, &l->blocked_logged)) {
	case LADDER_CLIMB:
		escalate(policy, l, budget, victim, d, all, count, result);
		break;
	case LADDER_RELAX:
		if (has_actions(l) && may_turn(policy, l, -1))
			relax(policy, l, result,
			      "I/O budget held for the cool-down");
		break;
	case LADDER_HOLD:
		break;
	}
}

void policy_io_step(struct policy_io *policy,
		    const struct policy_io_guest *guests, size_t guest_count,
		    struct policy_io_result *result)
{
	const struct enforce_config *config = policy->config;

	result->setting_count = 0;
	result->action_count = 0;
	policy->interval++;
	for (size_t i = 0; i < POLICY_IO_MAX_LADDERS; i++)
		policy->ladders[i].seen = false;
	for (size_t i = 0; i < guest_count; i++) {
		const struct policy_io_guest *g = &guests[i];
		const struct budget *budget = enforce_config_budget_for_claim(
			config, g->name, g->uuid, &g->claim);

		if (!budget || !budget->max_io_queue_p99_us)
			continue;
		for (size_t k = 0; k < g->device_count; k++) {
			const struct policy_io_device *d = &g->devices[k];
			struct policy_io_ladder *l =
				ladder_for(policy, g, d->device, true);

			if (!l)
				continue; /* more ladders than slots */
			l->seen = true;
			/* The first window holds what queued before the
			 * guest was tracked: judge from the second on. */
			if (!l->windows++)
				continue;
			step_ladder(policy, l, budget, g, d, guests,
				    guest_count, result);
		}
		/* Its ladders on devices it did no I/O on this time. */
		for (size_t j = 0; j < POLICY_IO_MAX_LADDERS; j++) {
			struct policy_io_ladder *l = &policy->ladders[j];

			if (!l->in_use || l->seen || strcmp(l->name, g->name) ||
			    strcmp(l->uuid, g->uuid))
				continue;
			l->seen = true;
			step_ladder(policy, l, budget, g, NULL, guests,
				    guest_count, result);
		}
	}
	for (size_t i = 0; i < POLICY_IO_MAX_LADDERS; i++) {
		struct policy_io_ladder *l = &policy->ladders[i];

		if (!l->in_use || l->seen)
			continue;
		/* The guest (or its budget) is gone: so is what we did. */
		while (has_actions(l))
			relax(policy, l, result, "guest gone");
		l->in_use = false;
	}
	for (size_t i = 0; i < POLICY_IO_MAX_LADDERS; i++) {
		const struct policy_io_ladder *l = &policy->ladders[i];

		if (!l->in_use)
			continue;
		if (l->weight_cgroup[0])
			add_setting(result, l->weight_cgroup, l->device,
				    POLICY_KNOB_IO_WEIGHT, l->weight);
		for (size_t c = 0; c < l->cap_count; c++)
			add_setting(result, l->caps[c].cgroup, l->device,
				    POLICY_KNOB_IO_IOPS, l->caps[c].iops);
	}
}

static const struct io_device *device_of(const struct io_owner *owner,
					 uint32_t dev)
{
	for (size_t i = 0; owner && i < owner->device_count; i++)
		if (owner->devices[i].dev == dev)
			return &owner->devices[i];
	return NULL;
}

static const struct io_owner *owner_named(const struct io_report *io,
					  const struct io_culprit *c)
{
	if (c->kind == IO_CULPRIT_GUEST) {
		for (size_t i = 0; i < io->guest_count; i++)
			if (!strcmp(io->guests[i].name, c->name))
				return &io->guests[i];
	} else {
		for (size_t i = 0; i < io->host_count; i++)
			if (!strcmp(io->hosts[i].cgroup, c->name))
				return &io->hosts[i];
	}
	return NULL;
}

static double ops_per_s(const struct io_device *d, double window_s)
{
	uint64_t ops = 0;

	for (int op = 0; d && op < BLOCK_OP_COUNT; op++)
		ops += d->delta.ops[op];
	return (double)ops / window_s;
}

_Static_assert(sizeof(((struct policy_io_guest *)0)->name) ==
			       PROCFS_NAME_LEN &&
		       sizeof(((struct policy_io_guest *)0)->uuid) ==
			       PROCFS_UUID_LEN &&
		       sizeof(((struct policy_io_guest *)0)->cgroup) ==
			       PROCFS_PATH_LEN,
	       "policy_guests_identity fills these buffers");

size_t policy_io_guests_from_report(const struct report *report,
				    struct policy_io_guest *out, size_t cap)
{
	const struct io_report *io = report->io;
	double window_s =
		report->duration_ns ? (double)report->duration_ns / 1e9 : 1.0;
	size_t filled = 0;

	for (size_t i = 0; i < report->guest_count && filled < cap; i++) {
		const struct report_guest *guest = &report->guests[i];
		struct policy_io_guest *pg = &out[filled];
		const struct io_owner *owner = NULL;

		if (guest->exited)
			continue;
		memset(pg, 0, sizeof(*pg));
		policy_guests_identity(guest, pg->name, pg->uuid, pg->cgroup,
				       &pg->claim);
		filled++;
		if (io && io->available)
			owner = io_report_guest(io, guest->pid);
		for (size_t k = 0; owner && k < owner->device_count &&
				   pg->device_count < POLICY_IO_MAX_DEVICES;
		     k++) {
			const struct io_device *d = &owner->devices[k];
			struct policy_io_device *pd =
				&pg->devices[pg->device_count++];

			pd->dev = d->dev;
			snprintf(pd->device, sizeof(pd->device), "%s",
				 d->device);
			pd->queue_p99_ms = (double)hist_quantile_ns(
						   d->delta.queue_hist, 0.99,
						   d->delta.queue_max_ns) /
					   1e6;
			for (size_t c = 0;
			     c < d->blocked_count &&
			     pd->culprit_count < POLICY_IO_MAX_CULPRITS;
			     c++) {
				const struct io_culprit *ic =
					&d->blocked_behind[c];
				struct policy_io_culprit *pc =
					&pd->culprits[pd->culprit_count++];

				pc->kind = ic->kind;
				snprintf(pc->name, sizeof(pc->name), "%s",
					 ic->name);
				pc->blocked_ms = (double)ic->blocked_ns / 1e6;
				pc->iops = ops_per_s(
					device_of(owner_named(io, ic), d->dev),
					window_s);
			}
		}
	}
	return filled;
}
