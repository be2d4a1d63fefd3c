// SPDX-License-Identifier: GPL-2.0-only
/*
 * The enforcement controller. Per victim (a guest with a budget) a ladder:
 * raise its CPU weight, then cap its main allowed culprit's CPU quota in
 * bounded steps down to a floor. It climbs one rung per interval while the
 * budget is broken, holds in the dead band between the budget and the
 * lower "off" line, and after the budget has held below the off line for a
 * cool-down it climbs down one rung per interval. The direction changes at
 * most once per cool-down, so a square-wave load cannot make it oscillate.
 */
#include <stdio.h>
#include <string.h>

#include "policy/enforce_route.h"
#include "policy/ladder.h"
#include "policy/policy.h"
#include "policy/victim_slot.h"

static const char *const verb_names[] = {
	[POLICY_RAISE_WEIGHT] = "raise_weight",
	[POLICY_CAP_QUOTA] = "cap_quota",
	[POLICY_RELAX_QUOTA] = "relax_quota",
	[POLICY_LIFT_QUOTA] = "lift_quota",
	[POLICY_RESTORE_WEIGHT] = "restore_weight",
	[POLICY_NO_CULPRIT] = "no_allowed_culprit",
	[POLICY_SEPARATE_CPUS] = "separate_cpus",
	[POLICY_JOIN_CPUS] = "join_cpus",
};

const char *policy_verb_name(enum policy_verb verb)
{
	return (unsigned int)verb < sizeof(verb_names) / sizeof(verb_names[0]) ?
		       verb_names[verb] :
		       "unknown";
}

const char *policy_knob_name(enum policy_knob knob)
{
	return knob == POLICY_KNOB_CPU_WEIGHT	? "cpu_weight" :
	       knob == POLICY_KNOB_CPU_QUOTA	? "cpu_quota" :
	       knob == POLICY_KNOB_IO_IOPS	? "io_iops" :
	       knob == POLICY_KNOB_IO_WEIGHT	? "io_weight" :
	       knob == POLICY_KNOB_RPS_CPUS	? "rps_cpus" :
	       knob == POLICY_KNOB_IRQ_AFFINITY ? "irq_affinity" :
						  "cpus";
}

void policy_set_config(struct policy *policy,
		       const struct enforce_config *config,
		       uint32_t interval_ms)
{
	policy->config = config;
	policy->cooldown_intervals =
		ladder_cooldown_intervals(config->cooldown_ms, interval_ms);
}

void policy_init(struct policy *policy, const struct enforce_config *config,
		 uint32_t interval_ms)
{
	memset(policy, 0, sizeof(*policy));
	policy_set_config(policy, config, interval_ms);
}

static struct policy_victim *victim_for(struct policy *policy,
					const struct policy_guest *guest)
{
	/* The slot heads its victim (policy.h): one address for both. */
	return (struct policy_victim *)victim_slot_for(
		policy->victims, sizeof(policy->victims[0]), POLICY_MAX_GUESTS,
		guest->name, guest->uuid);
}

static struct policy_action *add_action(struct policy_result *result,
					enum policy_verb verb,
					const struct policy_victim *v,
					const char *target, uint32_t from,
					uint32_t to)
{
	struct policy_action *action;

	if (result->action_count == POLICY_MAX_ACTIONS)
		return NULL;
	action = &result->actions[result->action_count++];
	memset(action, 0, sizeof(*action));
	action->verb = verb;
	snprintf(action->victim, sizeof(action->victim), "%s", v->slot.name);
	snprintf(action->target, sizeof(action->target), "%s", target);
	action->from = from;
	action->to = to;
	return action;
}

static void describe(struct policy_action *action, const char *what,
		     const struct policy_guest *guest,
		     const struct budget *budget)
{
	const struct report_culprit *top = guest->culprits;

	if (!action)
		return;
	snprintf(action->reason, sizeof(action->reason),
		 "%s: steal %.1f%% (budget %u%%), wait p99 %.2f ms (budget "
		 "%u ms); main culprit %s %.200s %.1f%%",
		 what, guest->steal_percent, budget->max_steal_percent,
		 guest->wait_p99_ms, budget->max_wait_p99_ms,
		 guest->culprit_count ? culprit_kind_name(top->kind) : "none",
		 guest->culprit_count ? top->name : "",
		 guest->culprit_count ? guest->culprit_percent[0] : 0.0);
}

static const struct policy_guest *guest_named(const struct policy_guest *all,
					      size_t count, const char *name)
{
	for (size_t i = 0; i < count; i++)
		if (!strcmp(all[i].name, name))
			return &all[i];
	return NULL;
}

/* Whether some backend may act on `cgroup`: the cgroupfs one where no
 * manager owns it, libvirt's for a libvirt machine when libvirtd answers,
 * systemd's for a unit when systemd does (enforce_route.h). */
static bool target_writable(const struct policy *policy, const char *cgroup)
{
	return enforce_route(policy->config, cgroup, policy->libvirt_backend,
			     policy->systemd_backend) != ENFORCE_BACKEND_NONE;
}

/* The cgroup to throttle for the victim's culprit i, or NULL when this
 * budget may not throttle it. Kernel threads, idle time and the victim's
 * own quota never qualify, nor does a cgroup holding the victim (capping
 * it would cap the victim). */
static const char *culprit_target(const struct policy *policy,
				  const struct budget *budget,
				  const struct policy_guest *victim,
				  const struct policy_guest *all, size_t count,
				  size_t i)
{
	const struct enforce_config *config = policy->config;
	const struct report_culprit *c = &victim->culprits[i];
	const char *cgroup = NULL;

	if (c->kind == ATTR_CULPRIT_CGROUP) {
		for (size_t r = 0; r < budget->throttle_root_count; r++)
			if (enforce_config_path_under(
				    c->name, budget->throttle_roots[r]))
				cgroup = c->name;
	} else if (c->kind == ATTR_CULPRIT_GUEST &&
		   budget->throttle_lower_class_guests) {
		const struct policy_guest *other =
			guest_named(all, count, c->name);

		if (other &&
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

/* The largest culprit this budget may throttle that took at least
 * min_share percent of the window, or NULL; *which is its index. */
static const struct policy_cap *cap_on(const struct policy_victim *v,
				       const char *cgroup)
{
	for (size_t c = 0; c < v->cap_count; c++)
		if (!strcmp(v->caps[c].cgroup, cgroup))
			return &v->caps[c];
	return NULL;
}

/* Skips culprits v already caps. */
static const char *allowed_culprit(const struct policy *policy,
				   const struct policy_victim *v,
				   const struct budget *budget,
				   const struct policy_guest *victim,
				   const struct policy_guest *all, size_t count,
				   double min_share, size_t *which)
{
	for (size_t i = 0; i < victim->culprit_count; i++) {
		const char *cgroup;

		if (victim->culprit_percent[i] < min_share)
			break; /* largest first: the rest are smaller */
		cgroup = culprit_target(policy, budget, victim, all, count, i);
		if (cgroup && !cap_on(v, cgroup)) {
			*which = i;
			return cgroup;
		}
	}
	return NULL;
}

/* Whether anything this ladder does can still help: an allowed culprit
 * takes a share worth acting on, or the culprit we cap presses against
 * its cap. Steal from culprits we may not touch (kernel threads, other
 * host work) is no reason to climb, and a cap on a culprit that went
 * idle is no reason to stay: that steal counts as the budget held. */
static bool
actionable(const struct policy *policy, const struct policy_victim *v,
	   const struct budget *budget, const struct policy_guest *guest,
	   const struct policy_guest *all, size_t count, double min_share)
{
	size_t which;

	for (size_t c = 0; c < v->cap_count; c++) {
		const struct policy_cap *cap = &v->caps[c];

		if (cap->pressing)
			return true;
		for (size_t i = 0; i < guest->culprit_count; i++) {
			const char *cgroup = culprit_target(
				policy, budget, guest, all, count, i);

			if (cgroup && !strcmp(cgroup, cap->cgroup) &&
			    (guest->culprit_percent[i] >= min_share ||
			     guest->culprit_percent[i] >=
				     cap->quota_percent / 2.0))
				return true;
		}
	}
	return allowed_culprit(policy, v, budget, guest, all, count, min_share,
			       &which) != NULL;
}

static void turn(struct policy *policy, struct policy_victim *v, int direction)
{
	ladder_turn(&v->direction, &v->direction_since, policy->interval,
		    direction);
	v->changed_at = policy->interval;
}

static bool may_turn(const struct policy *policy, const struct policy_victim *v,
		     int direction)
{
	return ladder_may_turn(v->direction, v->direction_since,
			       policy->interval, policy->cooldown_intervals,
			       direction);
}

static void escalate(struct policy *policy, struct policy_victim *v,
		     const struct budget *budget,
		     const struct policy_guest *guest,
		     const struct policy_guest *all, size_t count,
		     double min_share, struct policy_result *result)
{
	const struct enforce_config *config = policy->config;
	struct policy_action *action;
	struct policy_cap *cap;
	const char *culprit;
	size_t which = 0;
	uint32_t next;

	if (!may_turn(policy, v, +1))
		return;
	if (budget->cpu_weight && !v->weight_cgroup[0] &&
	    target_writable(policy, guest->cgroup)) {
		snprintf(v->weight_cgroup, sizeof(v->weight_cgroup), "%s",
			 guest->cgroup);
		v->weight = budget->cpu_weight;
		action = add_action(result, POLICY_RAISE_WEIGHT, v,
				    v->weight_cgroup, 0, v->weight);
		describe(action, "over budget", guest, budget);
		turn(policy, v, +1);
		return;
	}
	cap = v->cap_count ? &v->caps[v->cap_count - 1] : NULL;
	/* At the floor, the last rung for this culprit, when allowed, is
	 * CPUs of the victim's own. */
	if (cap && cap->quota_percent <= config->min_quota_percent &&
	    config->separate_cpus && !cap->separated &&
	    v->slot.vcpu_tid_count) {
		cap->separated = true;
		action = add_action(result, POLICY_SEPARATE_CPUS, v,
				    cap->cgroup, 0, 1);
		describe(action, "over budget at the quota floor", guest,
			 budget);
		turn(policy, v, +1);
		return;
	}
	if (!cap || cap->quota_percent <= config->min_quota_percent) {
		/* Nothing more for the culprits capped so far: the next
		 * allowed one that still takes a share worth acting on. */
		if (v->cap_count == POLICY_MAX_CAPS)
			return;
		culprit = allowed_culprit(policy, v, budget, guest, all, count,
					  min_share, &which);
		if (!culprit)
			return; /* this ladder has nothing more */
		cap = &v->caps[v->cap_count++];
		memset(cap, 0, sizeof(*cap));
		snprintf(cap->cgroup, sizeof(cap->cgroup), "%s", culprit);
		/* The first cut starts from what the culprit took, not from
		 * a whole CPU: a hog at 30 % capped at 50 % is a lost step. */
		cap->quota_percent = POLICY_QUOTA_NONE;
		if (guest->culprit_percent[which] > 0 &&
		    guest->culprit_percent[which] < POLICY_QUOTA_NONE)
			cap->quota_percent =
				(uint32_t)guest->culprit_percent[which] + 1;
	}
	next = ladder_cut(cap->quota_percent, config->quota_step_percent,
			  config->min_quota_percent);
	action = add_action(result, POLICY_CAP_QUOTA, v, cap->cgroup,
			    cap->quota_percent == POLICY_QUOTA_NONE ?
				    0 :
				    cap->quota_percent,
			    next);
	describe(action, "over budget", guest, budget);
	cap->quota_percent = next;
	turn(policy, v, +1);
}

static bool has_actions(const struct policy_victim *v)
{
	return v->weight_cgroup[0] || v->cap_count;
}

/* One rung down. `why` names the cause (budget held, guest gone). */
static void relax(struct policy *policy, struct policy_victim *v,
		  struct policy_result *result, const char *why)
{
	struct policy_action *action = NULL;
	size_t kept = 0;

	/* Every cap one step up at once, so relaxing still ends within the
	 * cool-down plus 5 intervals however many culprits were capped; a
	 * separation goes with its cap's first step up from the floor. */
	for (size_t c = 0; c < v->cap_count; c++) {
		struct policy_cap *cap = &v->caps[c];
		uint32_t next = 0;

		if (cap->separated) {
			action = add_action(result, POLICY_JOIN_CPUS, v,
					    cap->cgroup, 1, 0);
			if (action)
				snprintf(action->reason, sizeof(action->reason),
					 "%s", why);
			cap->separated = false;
		}
		if (ladder_relax_lifts(cap->quota_percent, POLICY_QUOTA_NONE,
				       &next)) {
			action = add_action(result, POLICY_LIFT_QUOTA, v,
					    cap->cgroup, cap->quota_percent, 0);
		} else {
			action = add_action(result, POLICY_RELAX_QUOTA, v,
					    cap->cgroup, cap->quota_percent,
					    next);
			cap->quota_percent = next;
			v->caps[kept++] = *cap;
		}
		if (action)
			snprintf(action->reason, sizeof(action->reason), "%s",
				 why);
	}
	if (v->cap_count) {
		v->cap_count = kept;
		action = NULL; /* each said why already */
	} else if (v->weight_cgroup[0]) {
		action = add_action(result, POLICY_RESTORE_WEIGHT, v,
				    v->weight_cgroup, v->weight, 0);
		v->weight_cgroup[0] = '\0';
		v->weight = 0;
	}
	if (action)
		snprintf(action->reason, sizeof(action->reason), "%s", why);
	turn(policy, v, -1);
}

static void add_setting(struct policy_result *result, const char *cgroup,
			enum policy_knob knob, uint32_t value)
{
	struct policy_setting *setting;

	/* Two victims may act on one cgroup: the stronger action wins. */
	for (size_t i = 0; i < result->setting_count; i++) {
		setting = &result->settings[i];
		if (setting->knob != knob || strcmp(setting->cgroup, cgroup))
			continue;
		if (knob == POLICY_KNOB_CPU_WEIGHT ? value > setting->value :
						     value < setting->value)
			setting->value = value;
		return;
	}
	if (result->setting_count == POLICY_MAX_SETTINGS)
		return;
	setting = &result->settings[result->setting_count++];
	snprintf(setting->cgroup, sizeof(setting->cgroup), "%s", cgroup);
	setting->knob = knob;
	setting->value = value;
}

/* Keeps v's culprit off v's vCPUs' CPUs; two victims separating from one
 * culprit add up (as far as the list holds). */
static void add_separation(struct policy_result *result,
			   const struct policy_victim *v,
			   const struct policy_cap *cap)
{
	struct policy_setting *setting = NULL;

	for (size_t i = 0; i < result->setting_count && !setting; i++)
		if (result->settings[i].knob == POLICY_KNOB_SEPARATE &&
		    !strcmp(result->settings[i].cgroup, cap->cgroup))
			setting = &result->settings[i];
	if (!setting) {
		if (result->setting_count == POLICY_MAX_SETTINGS)
			return;
		setting = &result->settings[result->setting_count++];
		memset(setting, 0, sizeof(*setting));
		snprintf(setting->cgroup, sizeof(setting->cgroup), "%s",
			 cap->cgroup);
		setting->knob = POLICY_KNOB_SEPARATE;
		setting->value = 1;
	}
	victim_slot_add_tids(&v->slot, setting->avoid_tids,
			     &setting->avoid_tid_count);
}

static bool over_line(const struct policy_guest *guest,
		      const struct budget *budget, double factor)
{
	return (budget->max_steal_percent &&
		guest->steal_percent >
			factor * (double)budget->max_steal_percent) ||
	       (budget->max_wait_p99_ms &&
		guest->wait_p99_ms > factor * (double)budget->max_wait_p99_ms);
}

void policy_note_throttled(struct policy *policy, const char *cgroup)
{
	for (size_t i = 0; i < POLICY_MAX_GUESTS; i++) {
		struct policy_victim *v = &policy->victims[i];

		for (size_t c = 0; v->slot.in_use && c < v->cap_count; c++)
			if (!strcmp(v->caps[c].cgroup, cgroup))
				v->caps[c].pressing = true;
	}
}

void policy_step(struct policy *policy, const struct policy_guest *guests,
		 size_t guest_count, struct policy_result *result)
{
	const struct enforce_config *config = policy->config;
	double off = ladder_off_factor(config->hysteresis_percent);

	result->setting_count = 0;
	result->action_count = 0;
	policy->interval++;
	for (size_t i = 0; i < POLICY_MAX_GUESTS; i++)
		policy->victims[i].slot.seen = false;
	for (size_t i = 0; i < guest_count; i++) {
		const struct policy_guest *guest = &guests[i];
		const struct budget *budget = enforce_config_budget_for_claim(
			config, guest->name, guest->uuid, &guest->claim);
		struct policy_victim *v;

		if (!budget)
			continue;
		v = victim_for(policy, guest);
		if (!v)
			continue; /* more budgeted guests than slots */
		/* A guest's first window holds whatever its threads waited
		 * before they were tracked: judge from the second one on. */
		if (!victim_slot_see(&v->slot, guest->vcpu_tids,
				     guest->vcpu_tid_count))
			continue;
		/* A culprit's share worth acting on: what the off line
		 * allows (1 % for a budget on waits only). */
		double min_share = budget->max_steal_percent ?
					   off * budget->max_steal_percent :
					   1.0;
		bool over = over_line(guest, budget, 1.0);
		bool can_help = actionable(policy, v, budget, guest, guests,
					   guest_count, min_share);

		if (over && !can_help && !v->blocked_logged) {
			struct policy_action *action = add_action(
				result, POLICY_NO_CULPRIT, v, "", 0, 0);

			describe(action,
				 "over budget, but no culprit this budget may "
				 "throttle takes a share worth acting on",
				 guest, budget);
			v->blocked_logged = true;
		}
		switch (ladder_next_move(over, !over_line(guest, budget, off),
					 can_help, policy->cooldown_intervals,
					 &v->held_intervals,
					 &v->blocked_logged)) {
		case LADDER_CLIMB:
			escalate(policy, v, budget, guest, guests, guest_count,
				 min_share, result);
			break;
		case LADDER_RELAX:
			if (has_actions(v) && may_turn(policy, v, -1))
				relax(policy, v, result,
				      "budget held for the cool-down");
			break;
		case LADDER_HOLD:
			break;
		}
	}
	for (size_t i = 0; i < POLICY_MAX_GUESTS; i++) {
		struct policy_victim *v = &policy->victims[i];

		if (!v->slot.in_use || v->slot.seen)
			continue;
		/* The guest is gone: whatever was done for it goes too. */
		while (has_actions(v))
			relax(policy, v, result, "guest gone");
		v->slot.in_use = false;
	}
	for (size_t i = 0; i < POLICY_MAX_GUESTS; i++) {
		struct policy_victim *v = &policy->victims[i];

		for (size_t c = 0; c < POLICY_MAX_CAPS; c++)
			v->caps[c].pressing = false; /* noted afresh */
		if (!v->slot.in_use)
			continue;
		if (v->weight_cgroup[0])
			add_setting(result, v->weight_cgroup,
				    POLICY_KNOB_CPU_WEIGHT, v->weight);
		for (size_t c = 0; c < v->cap_count; c++) {
			add_setting(result, v->caps[c].cgroup,
				    POLICY_KNOB_CPU_QUOTA,
				    v->caps[c].quota_percent);
			if (v->caps[c].separated)
				add_separation(result, v, &v->caps[c]);
		}
	}
}
