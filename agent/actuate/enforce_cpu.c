// SPDX-License-Identifier: GPL-2.0-only
/*
 * The CPU side of the enforcement loop: policy decisions in, one journaled
 * write per setting out, through the backend enforce_route.h picks for
 * each cgroup. A value that reads back different from what we last wrote
 * was changed by someone else (an administrator, libvirt, systemd): we log
 * it, let it go, and keep our hands off it for a cool-down, so at most one
 * rewrite per cool-down. The loop's glue is enforce.c.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actuate/actuate_affinity.h"
#include "actuate/actuate_libvirt.h"
#include "actuate/actuate_systemd.h"
#include "actuate/enforce_cpu.h"
#include "actuate/enforce_value.h"
#include "base/log.h"
#include "policy/enforce_route.h"
#include "policy/policy_guests.h"

/* A libvirt machine's cgroup under the roots: libvirt owns it, so its
 * values go through libvirt's API whenever libvirtd answers. */
static bool through_libvirt(const struct enforce_config *e, const char *cgroup)
{
	const char *manager = enforce_config_path_manager(cgroup);

	return manager && !strcmp(manager, "libvirt") &&
	       enforce_config_path_allowed(e, cgroup);
}

/* Which backend acts on `cgroup` now (enforce_route.h). */
static enum enforce_backend route(const struct enforce_cpu *cpu,
				  const char *cgroup)
{
	return enforce_route(&cpu->writer->config->enforce, cgroup,
			     cpu->policy.libvirt_backend,
			     cpu->policy.systemd_backend);
}

/* Where `knob` of `cgroup` lives: a libvirt value for a libvirt machine
 * while libvirtd answers, a unit's property for a systemd unit while
 * systemd answers, else a cgroup file (which cgroup_knob_file refuses for
 * a manager's cgroup unless write_managed_cgroups says otherwise). */
static int knob_file(struct enforce_cpu *cpu, const char *cgroup,
		     enum policy_knob knob, char *file, size_t size)
{
	const struct enforce_config *e = &cpu->writer->config->enforce;

	switch (route(cpu, cgroup)) {
	case ENFORCE_BACKEND_LIBVIRT:
		return libvirt_knob_file(cgroup, knob, file, size);
	case ENFORCE_BACKEND_SYSTEMD:
		return systemd_knob_file(cgroup, knob, file, size);
	default:
		return cgroup_knob_file(&cpu->fs, e, cgroup, knob, file, size);
	}
}

static void quota_text(uint32_t value, char *text, size_t size)
{
	snprintf(text, size, "%u%%", value);
}

/* The entry a knob of a systemd unit lives in, for the audit trail;
 * "" for every other backend (their names need lookups). */
static const char *audit_entry(const struct enforce_cpu *cpu,
			       const char *target, enum policy_knob knob,
			       char *entry, size_t size)
{
	entry[0] = '\0';
	if (target[0] && route(cpu, target) == ENFORCE_BACKEND_SYSTEMD &&
	    systemd_knob_file(target, knob, entry, size))
		entry[0] = '\0';
	return entry;
}

static void audit_policy_actions(struct enforce_cpu *cpu)
{
	for (size_t i = 0; i < cpu->result.action_count; i++) {
		const struct policy_action *a = &cpu->result.actions[i];
		char from[16] = "", to[16] = "", entry[SYSTEMD_ENTRY_LEN];
		enum policy_knob knob_id = POLICY_KNOB_CPU_QUOTA;
		const char *knob = "";

		if (a->verb == POLICY_SEPARATE_CPUS ||
		    a->verb == POLICY_JOIN_CPUS) {
			knob = "cpus";
			knob_id = POLICY_KNOB_SEPARATE;
			snprintf(a->verb == POLICY_JOIN_CPUS ? from : to,
				 sizeof(to), "separate");
		} else if (a->verb == POLICY_RAISE_WEIGHT ||
			   a->verb == POLICY_RESTORE_WEIGHT) {
			knob = "cpu_weight";
			knob_id = POLICY_KNOB_CPU_WEIGHT;
			if (a->from)
				snprintf(from, sizeof(from), "%u", a->from);
			if (a->to)
				snprintf(to, sizeof(to), "%u", a->to);
		} else if (a->verb != POLICY_NO_CULPRIT) {
			knob = "cpu_quota";
			if (a->from)
				quota_text(a->from, from, sizeof(from));
			if (a->to)
				quota_text(a->to, to, sizeof(to));
		}
		audit_event_entry(&cpu->writer->audit, cpu->writer->mode,
				  (enum audit_action)a->verb, a->victim,
				  a->target, knob,
				  audit_entry(cpu, a->target, knob_id, entry,
					      sizeof(entry)),
				  from, to, a->reason);
	}
}

/* A new, zeroed entry for `knob` of `cgroup`; NULL when out of memory. */
static struct managed_file *
add_managed(struct enforce_cpu *cpu, const char *cgroup, enum policy_knob knob)
{
	struct managed_file *m;

	if (cpu->file_count == cpu->file_cap) {
		size_t grown = cpu->file_cap ? cpu->file_cap * 2 : 8;
		struct managed_file *more =
			realloc(cpu->files, grown * sizeof(*more));

		if (!more)
			return NULL;
		cpu->files = more;
		cpu->file_cap = grown;
	}
	m = &cpu->files[cpu->file_count++];
	memset(m, 0, sizeof(*m));
	snprintf(m->cgroup, sizeof(m->cgroup), "%s", cgroup);
	m->knob = knob;
	return m;
}

static struct managed_file *managed(struct enforce_cpu *cpu, const char *cgroup,
				    enum policy_knob knob)
{
	for (size_t i = 0; i < cpu->file_count; i++) {
		struct managed_file *m = &cpu->files[i];

		if (m->knob == knob && !strcmp(m->cgroup, cgroup))
			return m;
	}
	return add_managed(cpu, cgroup, knob);
}

/* For whom a cgroup is acted on, for the journal and `status`: the first
 * victim whose weight or culprit it is. */
static const char *victim_of(const struct enforce_cpu *cpu, const char *cgroup)
{
	for (size_t i = 0; i < POLICY_MAX_GUESTS; i++) {
		const struct policy_victim *v = &cpu->policy.victims[i];

		if (!v->slot.in_use)
			continue;
		if (!strcmp(v->weight_cgroup, cgroup))
			return v->slot.name;
		for (size_t c = 0; c < v->cap_count; c++)
			if (!strcmp(v->caps[c].cgroup, cgroup))
				return v->slot.name;
	}
	return "";
}

/* A task's entry, by its name ("affinity:TID:START"). */
static struct managed_file *managed_task(struct enforce_cpu *cpu,
					 const char *cgroup, const char *name)
{
	struct managed_file *m;

	for (size_t i = 0; i < cpu->file_count; i++)
		if (cpu->files[i].knob == POLICY_KNOB_SEPARATE &&
		    !strcmp(cpu->files[i].file, name))
			return &cpu->files[i];
	m = add_managed(cpu, cgroup, POLICY_KNOB_SEPARATE);
	if (m)
		snprintf(m->file, sizeof(m->file), "%s", name);
	return m;
}

/* Finds where m's knob lives (knob_file). On failure, says why (`what`)
 * unless the cgroup is gone, and not again for a cool-down: no log flood.
 * Returns 0 or the negative errno. */
static int resolve(struct enforce_cpu *cpu, struct managed_file *m,
		   const char *what, uint64_t now_ms)
{
	int err = knob_file(cpu, m->cgroup, m->knob, m->file, sizeof(m->file));

	if (err) {
		m->file[0] = '\0';
		if (err != -ENOENT)
			enforce_write_failed(cpu->writer, m, what, "", err);
		m->hands_off_until_ms =
			now_ms + cpu->writer->config->enforce.cooldown_ms;
	}
	return err;
}

/* Makes `setting` real. ENOENT (the cgroup went with its guest) is a
 * normal event and says nothing. */
static void apply(struct enforce_cpu *cpu, const struct policy_setting *setting,
		  uint64_t now_ms)
{
	char current[CGROUP_VALUE_LEN], text[CGROUP_VALUE_LEN];
	struct managed_file *m;
	int err;

	m = managed(cpu, setting->cgroup, setting->knob);
	if (!m || (!m->active && now_ms < m->hands_off_until_ms))
		return;
	if (!m->file[0] && resolve(cpu, m, "resolving the path", now_ms))
		return;
	err = enforce_value_read(m->file, current, sizeof(current));
	if (err)
		return; /* gone; the next step will not ask again */
	if (m->active && strcmp(current, m->written)) {
		enforce_write_let_go(cpu->writer, m, current, now_ms);
		return;
	}
	if (libvirt_is_file(m->file))
		err = libvirt_knob_text(cpu->fs.version, m->file,
					setting->value, text, sizeof(text));
	else if (systemd_is_entry(m->file))
		err = systemd_knob_text(setting->knob, setting->value, text,
					sizeof(text));
	else
		err = cgroup_knob_text(&cpu->fs, m->file, setting->knob,
				       setting->value, current, text,
				       sizeof(text));
	if (err || !strcmp(text, current))
		return;
	enforce_write_change(cpu->writer, m, policy_knob_name(m->knob), current,
			     victim_of(cpu, m->cgroup), text);
}

static bool mask_any(const struct cpu_mask *mask)
{
	for (size_t w = 0; w < AFFINITY_MAX_CPUS / 64; w++)
		if (mask->bits[w])
			return true;
	return false;
}

/* The online CPUs outside the victim's into *rest: whether any. */
static bool other_cpus(const struct cpu_mask *online,
		       const struct cpu_mask *victim, struct cpu_mask *rest)
{
	for (size_t w = 0; w < AFFINITY_MAX_CPUS / 64; w++)
		rest->bits[w] = online->bits[w] & ~victim->bits[w];
	return mask_any(rest);
}

/* A libvirt culprit's vCPUs and emulator threads kept off the victim's
 * CPUs through libvirt's live pinning, or a systemd unit's tasks through
 * its AllowedCPUs: one value for the whole domain or unit, journaled,
 * read back and let go like any other. */
static void apply_managed_separation(struct enforce_cpu *cpu,
				     const struct policy_setting *setting,
				     uint64_t now_ms)
{
	char current[CGROUP_VALUE_LEN], text[CGROUP_VALUE_LEN];
	struct cpu_mask victim, online, rest;
	struct managed_file *m;
	int err;

	if (affinity_tids_cpus(setting->avoid_tids, setting->avoid_tid_count,
			       &victim, &online))
		return;
	if (!other_cpus(&online, &victim, &rest))
		return; /* the victim may run everywhere: nowhere to go */
	m = managed(cpu, setting->cgroup, POLICY_KNOB_SEPARATE);
	if (!m || (!m->active && now_ms < m->hands_off_until_ms))
		return;
	if (!m->file[0] && resolve(cpu, m, "resolving the domain", now_ms))
		return;
	if (enforce_value_read(m->file, current, sizeof(current)))
		return; /* gone; the next step will not ask again */
	if (m->active) {
		if (strcmp(current, m->written))
			enforce_write_let_go(cpu->writer, m, current, now_ms);
		return; /* the victim's CPUs are fixed while separated */
	}
	err = systemd_is_entry(m->file) ?
		      systemd_separate_text(current, &victim, &online, &rest,
					    text, sizeof(text)) :
		      libvirt_separate_text(current, &victim, &rest, text,
					    sizeof(text));
	if (err || !strcmp(text, current))
		return;
	enforce_write_change(cpu->writer, m, "cpus", current,
			     victim_of(cpu, m->cgroup), text);
}

/* Keeps every task of the culprit's cgroup off the victim's CPUs: each
 * task's mask minus those CPUs, or the other online CPUs for a task
 * pinned to the victim's only. Each task is journaled like a file. */
static void apply_separation(struct enforce_cpu *cpu,
			     const struct policy_setting *setting,
			     uint64_t now_ms)
{
	struct cpu_mask victim, online, rest;
	char quota_file[ENFORCE_PATH_LEN + 32];
	int tids[1024], count;
	char *slash;

	if (route(cpu, setting->cgroup) == ENFORCE_BACKEND_LIBVIRT ||
	    route(cpu, setting->cgroup) == ENFORCE_BACKEND_SYSTEMD) {
		apply_managed_separation(cpu, setting, now_ms);
		return;
	}
	if (affinity_tids_cpus(setting->avoid_tids, setting->avoid_tid_count,
			       &victim, &online) ||
	    cgroup_knob_file(&cpu->fs, &cpu->writer->config->enforce,
			     setting->cgroup, POLICY_KNOB_CPU_QUOTA, quota_file,
			     sizeof(quota_file)))
		return;
	if (!other_cpus(&online, &victim, &rest))
		return; /* the victim may run everywhere: nowhere to go */
	slash = strrchr(quota_file, '/');
	*slash = '\0';
	count = affinity_cgroup_tids(quota_file, tids, 1024);
	for (int i = 0; i < count; i++) {
		char name[64], current[256], text[256];
		struct cpu_mask mask, wanted_mask;
		struct managed_file *m;
		bool overlaps = false;

		if (affinity_task_name(tids[i], name, sizeof(name)) ||
		    affinity_read(name, current, sizeof(current)) ||
		    affinity_parse(current, &mask))
			continue; /* gone meanwhile: a normal event */
		m = managed_task(cpu, setting->cgroup, name);
		if (!m || (!m->active && now_ms < m->hands_off_until_ms))
			continue;
		if (m->active) {
			if (strcmp(current, m->written))
				enforce_write_let_go(cpu->writer, m, current,
						     now_ms);
			continue;
		}
		for (size_t w = 0; w < AFFINITY_MAX_CPUS / 64; w++) {
			wanted_mask.bits[w] = mask.bits[w] & ~victim.bits[w];
			overlaps |= (mask.bits[w] & victim.bits[w]) != 0;
		}
		if (!overlaps)
			continue;
		if (!mask_any(&wanted_mask))
			wanted_mask = rest;
		if (affinity_format(&wanted_mask, text, sizeof(text)))
			continue;
		/* m->file is the task's name (managed_task). */
		enforce_write_change(cpu->writer, m, "cpus", current,
				     victim_of(cpu, m->cgroup), text);
	}
}

static bool wanted(const struct policy_result *result,
		   const struct managed_file *m)
{
	for (size_t i = 0; i < result->setting_count; i++)
		if (result->settings[i].knob == m->knob &&
		    !strcmp(result->settings[i].cgroup, m->cgroup))
			return true;
	return false;
}

/* A libvirt domain's quotas sit on its vCPU and emulator cgroups, the
 * siblings of the emulator cgroup a guest is known by: their sum. Reading
 * libvirt's cgroups is no write behind its back. */
static unsigned long long libvirt_nr_throttled(const struct enforce_cpu *cpu,
					       const char *cgroup)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(cgroup, '/');

	if (slash && !strcmp(slash, "/emulator"))
		snprintf(dir, sizeof(dir), "%s%.*s", cpu->fs.mount,
			 (int)(slash - cgroup), cgroup);
	else
		snprintf(dir, sizeof(dir), "%s%s", cpu->fs.mount, cgroup);
	return cgroup_nr_throttled_children(dir);
}

/* Tells the policy which capped culprits the kernel throttled since the
 * last interval: cpu.stat's nr_throttled (v1 and v2 alike) grew. */
static void note_throttled(struct enforce_cpu *cpu)
{
	for (size_t i = 0; i < cpu->file_count; i++) {
		struct managed_file *m = &cpu->files[i];
		char dir[PATH_MAX];
		unsigned long long throttled;
		const char *slash = strrchr(m->file, '/');

		if (!m->active || m->knob != POLICY_KNOB_CPU_QUOTA)
			continue;
		if (libvirt_is_file(m->file)) {
			throttled = libvirt_nr_throttled(cpu, m->cgroup);
		} else if (systemd_is_entry(m->file)) {
			/* systemd wrote the unit's own cgroup's cpu.max. */
			snprintf(dir, sizeof(dir), "%s%s", cpu->fs.mount,
				 m->cgroup);
			throttled = cgroup_nr_throttled(dir);
		} else if (slash) {
			snprintf(dir, sizeof(dir), "%.*s",
				 (int)(slash - m->file), m->file);
			throttled = cgroup_nr_throttled(dir);
		} else {
			continue;
		}
		if (throttled > m->nr_throttled)
			policy_note_throttled(&cpu->policy, m->cgroup);
		m->nr_throttled = throttled;
	}
}

/* Connects to libvirtd once a libvirt guest is seen (and again after it
 * went away), so the policy may choose libvirt guests as targets. */
static void note_libvirt(struct enforce_cpu *cpu,
			 const struct policy_guest *guests, size_t count,
			 uint64_t now_ms)
{
	bool any = false, was = cpu->policy.libvirt_backend;

	for (size_t i = 0; i < count && !any; i++)
		any = through_libvirt(&cpu->writer->config->enforce,
				      guests[i].cgroup);
	if (!any && !was)
		return;
	cpu->policy.libvirt_backend = libvirt_conn_available(now_ms);
	if (cpu->policy.libvirt_backend == was)
		return;
	if (cpu->policy.libvirt_backend)
		log_notice("libvirt guests are acted on through " LIBVIRT_URI);
	else
		log_warn("libvirtd does not answer at " LIBVIRT_URI
			 ": its guests are left alone");
}

/* This interval's guests, from observe to decide (too big for a stack). */
static struct policy_guest guests[POLICY_MAX_GUESTS];

void enforce_cpu_observe(struct enforce_cpu *cpu, const struct report *report,
			 uint64_t now_ms)
{
	note_throttled(cpu);
	cpu->guest_count =
		policy_guests_from_report(report, guests, POLICY_MAX_GUESTS);
	note_libvirt(cpu, guests, cpu->guest_count, now_ms);
}

void enforce_cpu_decide(struct enforce_cpu *cpu)
{
	policy_step(&cpu->policy, guests, cpu->guest_count, &cpu->result);
	audit_policy_actions(cpu);
}

size_t enforce_cpu_apply(struct enforce_cpu *cpu, uint64_t now_ms)
{
	size_t active = 0;

	for (size_t i = 0; i < cpu->result.setting_count; i++) {
		const struct policy_setting *setting = &cpu->result.settings[i];

		if (setting->knob == POLICY_KNOB_SEPARATE)
			apply_separation(cpu, setting, now_ms);
		else
			apply(cpu, setting, now_ms);
	}
	for (size_t i = 0; i < cpu->file_count; i++) {
		struct managed_file *m = &cpu->files[i];

		if (m->active && !wanted(&cpu->result, m))
			enforce_write_put_back(cpu->writer, m, now_ms);
		active += m->active;
	}
	cpu->file_count = enforce_write_forget_idle(
		cpu->files, cpu->file_count, sizeof(*cpu->files), now_ms);
	return active;
}

size_t enforce_cpu_stop(struct enforce_cpu *cpu)
{
	size_t failed = 0;

	for (size_t i = 0; i < cpu->file_count; i++)
		if (cpu->files[i].active &&
		    enforce_write_put_back(cpu->writer, &cpu->files[i], 0))
			failed++;
	free(cpu->files);
	cpu->files = NULL;
	cpu->file_count = cpu->file_cap = 0;
	return failed;
}
