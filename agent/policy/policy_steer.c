// SPDX-License-Identifier: GPL-2.0-only
/*
 * The hidden-steal ladder (policy_steer.h). Each rung steers one more
 * allowed culprit off the victim's CPUs; relaxing puts back one idle
 * target per interval. The culprits come merged over the victim's vCPUs;
 * only those the steering allow-list names, in the agent's network
 * namespace, are ever targets. Reading the report is
 * policy_steer_guests.c's.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "policy/ladder.h"
#include "policy/policy_steer.h"
#include "policy/victim_slot.h"

enum policy_knob policy_steer_knob(enum policy_steer_kind kind)
{
	return kind == POLICY_STEER_IRQ ? POLICY_KNOB_IRQ_AFFINITY :
					  POLICY_KNOB_RPS_CPUS;
}

void policy_steer_set_config(struct policy_steer *policy,
			     const struct enforce_config *config,
			     uint32_t interval_ms)
{
	policy->config = config;
	policy->cooldown_intervals =
		ladder_cooldown_intervals(config->cooldown_ms, interval_ms);
}

void policy_steer_init(struct policy_steer *policy,
		       const struct enforce_config *config,
		       uint32_t interval_ms)
{
	memset(policy, 0, sizeof(*policy));
	policy_steer_set_config(policy, config, interval_ms);
}

static struct policy_steer_victim *
victim_for(struct policy_steer *policy, const struct policy_steer_guest *guest)
{
	/* The slot heads its victim (policy_steer.h): one address. */
	return (struct policy_steer_victim *)victim_slot_for(
		policy->victims, sizeof(policy->victims[0]), POLICY_MAX_GUESTS,
		guest->name, guest->uuid);
}

/* Whether an IRQ culprit is one of x86's system vectors ("local_timer",
 * hidden.h's kinds in lower case): no /proc/irq entry moves those. */
static bool is_vector(const char *name)
{
	for (int kind = IRQ_HARD_DEVICE + 1; kind < IRQ_HARD_KINDS; kind++) {
		const char *vector = hidden_hard_kind_name(kind);

		if (vector && !strcasecmp(vector, name))
			return true;
	}
	return false;
}

/* What steering would move for culprit c, or why nothing (into *why). */
static bool culprit_target(const struct policy_steer *policy,
			   const struct policy_steer_culprit *c,
			   enum policy_steer_kind *kind, const char **why)
{
	bool irq = c->kind == HIDDEN_CULPRIT_IRQ;

	*kind = irq ? POLICY_STEER_IRQ : POLICY_STEER_DEVICE;
	if (!c->target[0]) {
		*why = "its device is not known";
		return false;
	}
	if (irq && is_vector(c->target)) {
		*why = "it is a system vector, which no IRQ affinity moves";
		return false;
	}
	if (!irq && c->netns && policy->host_netns &&
	    c->netns != policy->host_netns) {
		*why = "it is in another network namespace";
		return false;
	}
	if (!(irq ? policy->irq_steering : policy->device_steering)) {
		*why = irq ? "IRQs cannot be moved on this host" :
			     "devices cannot be steered on this host";
		return false;
	}
	if (!enforce_config_steerable(policy->config, irq, c->target)) {
		*why = irq ? "steering.irqs does not name it" :
			     "steering.devices does not name it";
		return false;
	}
	return true;
}

static struct policy_steer_target *target_on(struct policy_steer_victim *v,
					     enum policy_steer_kind kind,
					     const char *name)
{
	for (size_t t = 0; t < v->target_count; t++)
		if (v->targets[t].kind == kind &&
		    !strcmp(v->targets[t].name, name))
			return &v->targets[t];
	return NULL;
}

/* The largest allowed culprit not steered yet that takes min_share, or
 * NULL; *why says what kept the largest one out when none is. */
static const struct policy_steer_culprit *
next_culprit(const struct policy_steer *policy, struct policy_steer_victim *v,
	     const struct policy_steer_guest *guest, double min_share,
	     enum policy_steer_kind *kind, const char **why)
{
	*why = "no culprit takes a share worth acting on";
	for (size_t i = 0; i < guest->culprit_count; i++) {
		const struct policy_steer_culprit *c = &guest->culprits[i];
		const char *reason;

		if (c->percent < min_share)
			break; /* largest first */
		if (!culprit_target(policy, c, kind, &reason)) {
			if (i == 0)
				*why = reason;
			continue;
		}
		if (!target_on(v, *kind, c->target))
			return c;
		if (i == 0)
			*why = "its largest culprit is steered already";
	}
	return NULL;
}

static struct policy_action *add_action(struct policy_steer_result *result,
					enum policy_verb verb,
					const struct policy_steer_victim *v,
					enum policy_steer_kind kind,
					const char *target)
{
	struct policy_action *action;

	if (result->action_count == POLICY_STEER_MAX_ACTIONS)
		return NULL;
	result->action_knob[result->action_count] = policy_steer_knob(kind);
	action = &result->actions[result->action_count++];
	memset(action, 0, sizeof(*action));
	action->verb = verb;
	snprintf(action->victim, sizeof(action->victim), "%s", v->slot.name);
	snprintf(action->target, sizeof(action->target), "%s", target);
	return action;
}

static void describe(struct policy_action *action, const char *what,
		     const struct policy_steer_guest *guest,
		     const struct budget *budget)
{
	const struct policy_steer_culprit *top = guest->culprits;

	if (!action)
		return;
	snprintf(action->reason, sizeof(action->reason),
		 "%s: hidden steal %.1f%% (budget %u%%); main culprit %s "
		 "%.64s%s%.16s %.1f%%",
		 what, guest->hidden_percent, budget->max_hidden_steal_percent,
		 guest->culprit_count ? hidden_culprit_kind_name(top->kind) :
					"none",
		 guest->culprit_count ? top->name : "",
		 guest->culprit_count && top->target[0] &&
				 strcmp(top->target, top->name) ?
			 " via " :
			 "",
		 guest->culprit_count && strcmp(top->target, top->name) ?
			 top->target :
			 "",
		 guest->culprit_count ? top->percent : 0.0);
}

static void turn(struct policy_steer *policy, struct policy_steer_victim *v,
		 int direction)
{
	ladder_turn(&v->direction, &v->direction_since, policy->interval,
		    direction);
}

static bool may_turn(const struct policy_steer *policy,
		     const struct policy_steer_victim *v, int direction)
{
	return ladder_may_turn(v->direction, v->direction_since,
			       policy->interval, policy->cooldown_intervals,
			       direction);
}

static void escalate(struct policy_steer *policy, struct policy_steer_victim *v,
		     const struct policy_steer_guest *guest,
		     const struct budget *budget, double min_share,
		     struct policy_steer_result *result)
{
	const struct policy_steer_culprit *c;
	struct policy_steer_target *target;
	enum policy_steer_kind kind;
	const char *why;

	if (!may_turn(policy, v, +1) ||
	    v->target_count == POLICY_STEER_MAX_TARGETS)
		return;
	c = next_culprit(policy, v, guest, min_share, &kind, &why);
	if (!c)
		return;
	target = &v->targets[v->target_count++];
	memset(target, 0, sizeof(*target));
	target->kind = kind;
	snprintf(target->name, sizeof(target->name), "%s", c->target);
	describe(add_action(result, POLICY_SEPARATE_CPUS, v, kind, c->target),
		 "over budget", guest, budget);
	turn(policy, v, +1);
}

/* Puts back the latest target steered that carries no traffic now (all
 * of them when `all`, for a guest gone). */
static void relax(struct policy_steer *policy, struct policy_steer_victim *v,
		  bool all, const char *why, struct policy_steer_result *result)
{
	for (size_t t = v->target_count; t-- > 0;) {
		struct policy_steer_target *target = &v->targets[t];
		struct policy_action *action;

		if (target->busy && !all)
			continue;
		action = add_action(result, POLICY_JOIN_CPUS, v, target->kind,
				    target->name);
		if (action)
			snprintf(action->reason, sizeof(action->reason), "%s",
				 why);
		memmove(target, target + 1,
			(v->target_count - t - 1) * sizeof(*target));
		v->target_count--;
		turn(policy, v, -1);
		if (!all)
			return;
	}
}

void policy_steer_note_busy(struct policy_steer *policy,
			    enum policy_steer_kind kind, const char *name)
{
	for (size_t i = 0; i < POLICY_MAX_GUESTS; i++) {
		struct policy_steer_victim *v = &policy->victims[i];
		struct policy_steer_target *target;

		if (!v->slot.in_use)
			continue;
		target = target_on(v, kind, name);
		if (target)
			target->busy = true;
	}
}

/* Whether this ladder can still help: a steered target still carries
 * traffic or still shows a share worth acting on (as a capped culprit
 * that presses its cap, policy.c), or an allowed culprit worth acting on
 * is not steered yet. Steal from culprits it may not move is no reason to
 * climb nor to keep what it steered. */
static bool actionable(const struct policy_steer *policy,
		       struct policy_steer_victim *v,
		       const struct policy_steer_guest *guest, double min_share,
		       const char **why)
{
	enum policy_steer_kind kind;

	for (size_t t = 0; t < v->target_count; t++)
		if (v->targets[t].busy)
			return true;
	for (size_t i = 0; i < guest->culprit_count; i++) {
		const struct policy_steer_culprit *c = &guest->culprits[i];
		const char *reason;

		if (c->percent >= min_share &&
		    culprit_target(policy, c, &kind, &reason) &&
		    target_on(v, kind, c->target))
			return true;
	}
	return v->target_count < POLICY_STEER_MAX_TARGETS &&
	       next_culprit(policy, v, guest, min_share, &kind, why);
}

static void add_setting(struct policy_steer_result *result,
			const struct policy_steer_victim *v,
			const struct policy_steer_target *target)
{
	struct policy_steer_setting *setting = NULL;

	for (size_t i = 0; i < result->setting_count && !setting; i++)
		if (result->settings[i].kind == target->kind &&
		    !strcmp(result->settings[i].name, target->name))
			setting = &result->settings[i];
	if (!setting) {
		if (result->setting_count == POLICY_STEER_MAX_SETTINGS)
			return;
		setting = &result->settings[result->setting_count++];
		memset(setting, 0, sizeof(*setting));
		setting->kind = target->kind;
		snprintf(setting->name, sizeof(setting->name), "%s",
			 target->name);
	}
	victim_slot_add_tids(&v->slot, setting->avoid_tids,
			     &setting->avoid_tid_count);
}

static void step_victim(struct policy_steer *policy,
			struct policy_steer_victim *v,
			const struct policy_steer_guest *guest,
			const struct budget *budget,
			struct policy_steer_result *result)
{
	double limit = budget->max_hidden_steal_percent;
	double off = ladder_off_factor(policy->config->hysteresis_percent);
	/* A culprit's share worth acting on: what the off line allows. */
	double min_share = off * limit;
	bool over = guest->hidden_percent > limit;
	const char *why = "";
	bool can_help = actionable(policy, v, guest, min_share, &why);

	if (over && !can_help && !v->blocked_logged) {
		char what[160];

		snprintf(what, sizeof(what),
			 "over budget, but nothing steering may move would "
			 "help (%s)",
			 why);
		describe(add_action(result, POLICY_NO_CULPRIT, v,
				    POLICY_STEER_DEVICE, ""),
			 what, guest, budget);
		v->blocked_logged = true;
	}
	switch (ladder_next_move(over, guest->hidden_percent <= off * limit,
				 can_help, policy->cooldown_intervals,
				 &v->held_intervals, &v->blocked_logged)) {
	case LADDER_CLIMB:
		escalate(policy, v, guest, budget, min_share, result);
		break;
	case LADDER_RELAX:
		if (v->target_count && may_turn(policy, v, -1))
			relax(policy, v, false, "budget held for the cool-down",
			      result);
		break;
	case LADDER_HOLD:
		break;
	}
}

void policy_steer_step(struct policy_steer *policy,
		       const struct policy_steer_guest *guests,
		       size_t guest_count, struct policy_steer_result *result)
{
	const struct enforce_config *config = policy->config;

	result->setting_count = 0;
	result->action_count = 0;
	policy->interval++;
	for (size_t i = 0; i < POLICY_MAX_GUESTS; i++)
		policy->victims[i].slot.seen = false;
	for (size_t i = 0; i < guest_count; i++) {
		const struct policy_steer_guest *guest = &guests[i];
		const struct budget *budget = enforce_config_budget_for_claim(
			config, guest->name, guest->uuid, &guest->claim);
		struct policy_steer_victim *v;

		if (!budget || !budget->max_hidden_steal_percent)
			continue;
		v = victim_for(policy, guest);
		if (!v)
			continue; /* more budgeted guests than slots */
		/* The first window holds what came before tracking. */
		if (victim_slot_see(&v->slot, guest->vcpu_tids,
				    guest->vcpu_tid_count))
			step_victim(policy, v, guest, budget, result);
	}
	for (size_t i = 0; i < POLICY_MAX_GUESTS; i++) {
		struct policy_steer_victim *v = &policy->victims[i];

		if (v->slot.in_use && !v->slot.seen) {
			/* The guest is gone, or lost its budget: whatever was
			 * steered for it goes back. */
			relax(policy, v, true, "guest gone", result);
			v->slot.in_use = false;
		}
	}
	for (size_t i = 0; i < POLICY_MAX_GUESTS; i++) {
		struct policy_steer_victim *v = &policy->victims[i];

		for (size_t t = 0; t < POLICY_STEER_MAX_TARGETS; t++)
			v->targets[t].busy = false; /* noted afresh */
		for (size_t t = 0; v->slot.in_use && t < v->target_count; t++)
			add_setting(result, v, &v->targets[t]);
	}
}
