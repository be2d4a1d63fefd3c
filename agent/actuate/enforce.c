// SPDX-License-Identifier: GPL-2.0-only
/*
 * The enforcement loop's glue: policy decisions in, audited cgroup writes
 * out. Every write follows the same order: read the value now, journal it
 * (fsynced), write, read back, journal what was set. A value that reads
 * back different from what we last wrote was changed by someone else
 * (an administrator, libvirt, systemd): we log it, let it go, and keep our
 * hands off it for a cool-down, so at most one rewrite per cool-down.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actuate/actuate_affinity.h"
#include "actuate/actuate_libvirt.h"
#include "actuate/actuate_systemd.h"
#include "actuate/enforce.h"
#include "actuate/enforce_io.h"
#include "policy/enforce_route.h"

/* A journaled "file" is a cgroup file, a task's affinity by name, a
 * libvirt domain's scheduler parameters or a systemd unit's property by
 * name. */
static bool is_affinity(const char *file)
{
	return !strncmp(file, AFFINITY_PREFIX, strlen(AFFINITY_PREFIX));
}

static int value_read(const char *file, char *value, size_t size)
{
	if (libvirt_is_file(file))
		return libvirt_value_read(file, value, size);
	if (systemd_is_entry(file))
		return systemd_entry_read(file, value, size);
	if (io_is_entry(file))
		return io_entry_read(file, value, size);
	return is_affinity(file) ? affinity_read(file, value, size) :
				   cgroup_file_read(file, value, size);
}

static int value_write(const char *file, const char *value)
{
	if (libvirt_is_file(file))
		return libvirt_value_write(file, value);
	if (systemd_is_entry(file))
		return systemd_entry_write(file, value);
	if (io_is_entry(file))
		return io_entry_write(file, value);
	return is_affinity(file) ? affinity_write(file, value) :
				   cgroup_file_write(file, value);
}

/* Writes `value` to `file` after journaling it as pending, so a crash
 * between the write and its "set" record still leaves a value the journal
 * knows as ours (a libvirt write, two round trips, takes a while). */
static int write_journaled(struct journal *journal, const char *file,
			   const char *value)
{
	int err = journal_record_want(journal, file, value);

	return err ? err : value_write(file, value);
}

/* A libvirt machine's cgroup under the roots: libvirt owns it, so its
 * values go through libvirt's API whenever libvirtd answers. */
static bool through_libvirt(const struct enforce_config *e,
			    const char *cgroup)
{
	const char *manager = enforce_path_manager(cgroup);

	return manager && !strcmp(manager, "libvirt") &&
	       enforce_path_allowed(e, cgroup);
}

/* Which backend acts on `cgroup` now (enforce_route.h). */
static enum enforce_backend route(const struct enforcer *enforcer,
				  const char *cgroup)
{
	return enforce_route(&enforcer->config->enforce, cgroup,
			     enforcer->policy.libvirt_backend,
			     enforcer->policy.systemd_backend);
}

/* Where `knob` of `cgroup` lives: a libvirt value for a libvirt machine
 * while libvirtd answers, a unit's property for a systemd unit while
 * systemd answers, else a cgroup file (which cgroup_knob_file refuses for
 * a manager's cgroup unless write_managed_cgroups says otherwise). */
static int knob_file(struct enforcer *enforcer, const char *cgroup,
		     enum policy_knob knob, char *file, size_t size)
{
	const struct enforce_config *e = &enforcer->config->enforce;

	switch (route(enforcer, cgroup)) {
	case ENFORCE_BACKEND_LIBVIRT:
		return libvirt_knob_file(cgroup, knob, file, size);
	case ENFORCE_BACKEND_SYSTEMD:
		return systemd_knob_file(cgroup, knob, file, size);
	default:
		return cgroup_knob_file(&enforcer->fs, e, cgroup, knob, file,
					size);
	}
}

static void quota_text(uint32_t value, char *text, size_t size)
{
	snprintf(text, size, "%u%%", value);
}

/* The entry a knob of a systemd unit lives in, for the audit trail;
 * "" for every other backend (their names need lookups). */
static const char *audit_entry(const struct enforcer *enforcer,
			       const char *target, enum policy_knob knob,
			       char *entry, size_t size)
{
	entry[0] = '\0';
	if (target[0] &&
	    route(enforcer, target) == ENFORCE_BACKEND_SYSTEMD &&
	    systemd_knob_file(target, knob, entry, size))
		entry[0] = '\0';
	return entry;
}

/* A backend's entry names itself in the audit trail; a cgroup file's
 * path would only repeat the target. */
static const char *backend_entry(const char *file)
{
	return systemd_is_entry(file) || libvirt_is_file(file) ? file : "";
}

static const char *managed_entry(const struct managed_file *m)
{
	return backend_entry(m->file);
}

static void audit_policy_actions(struct enforcer *enforcer)
{
	for (size_t i = 0; i < enforcer->result.action_count; i++) {
		const struct policy_action *a = &enforcer->result.actions[i];
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
		audit_event_entry(&enforcer->audit, enforcer->mode,
				  (enum audit_action)a->verb, a->victim,
				  a->target, knob,
				  audit_entry(enforcer, a->target, knob_id,
					      entry, sizeof(entry)),
				  from, to, a->reason);
	}
}

static struct managed_file *managed(struct enforcer *enforcer,
				    const char *cgroup, enum policy_knob knob)
{
	for (size_t i = 0; i < enforcer->file_count; i++) {
		struct managed_file *m = &enforcer->files[i];

		if (m->knob == knob && !strcmp(m->cgroup, cgroup))
			return m;
	}
	if (enforcer->file_count == enforcer->file_cap) {
		size_t grown = enforcer->file_cap ? enforcer->file_cap * 2 : 8;
		struct managed_file *more =
			realloc(enforcer->files, grown * sizeof(*more));

		if (!more)
			return NULL;
		enforcer->files = more;
		enforcer->file_cap = grown;
	}
	struct managed_file *m = &enforcer->files[enforcer->file_count++];

	memset(m, 0, sizeof(*m));
	snprintf(m->cgroup, sizeof(m->cgroup), "%s", cgroup);
	m->knob = knob;
	return m;
}

/* For whom a cgroup is acted on, for the journal and `status`: the first
 * victim whose weight or culprit it is. */
static const char *victim_of(const struct enforcer *enforcer,
			     const char *cgroup)
{
	for (size_t i = 0; i < POLICY_MAX_GUESTS; i++) {
		const struct policy_victim *v = &enforcer->policy.victims[i];

		if (!v->in_use)
			continue;
		if (!strcmp(v->weight_cgroup, cgroup))
			return v->name;
		for (size_t c = 0; c < v->cap_count; c++)
			if (!strcmp(v->caps[c].cgroup, cgroup))
				return v->name;
	}
	return "";
}

/* A task's entry, by its name ("affinity:TID:START"). */
static struct managed_file *managed_task(struct enforcer *enforcer,
					 const char *cgroup, const char *name)
{
	struct managed_file *m;

	for (size_t i = 0; i < enforcer->file_count; i++)
		if (enforcer->files[i].knob == POLICY_KNOB_SEPARATE &&
		    !strcmp(enforcer->files[i].file, name))
			return &enforcer->files[i];
	if (enforcer->file_count == enforcer->file_cap) {
		size_t grown = enforcer->file_cap ? enforcer->file_cap * 2 : 8;
		struct managed_file *more =
			realloc(enforcer->files, grown * sizeof(*more));

		if (!more)
			return NULL;
		enforcer->files = more;
		enforcer->file_cap = grown;
	}
	m = &enforcer->files[enforcer->file_count++];
	memset(m, 0, sizeof(*m));
	snprintf(m->cgroup, sizeof(m->cgroup), "%s", cgroup);
	m->knob = POLICY_KNOB_SEPARATE;
	snprintf(m->file, sizeof(m->file), "%s", name);
	return m;
}

/* Someone else's value is in the file now: theirs to keep. */
static void let_go(struct enforcer *enforcer, struct managed_file *m,
		   const char *current, uint64_t now_ms)
{
	char reason[160];

	snprintf(reason, sizeof(reason),
		 "changed by someone else; backing off for %u ms",
		 enforcer->config->enforce.cooldown_ms);
	audit_event_entry(&enforcer->audit, enforcer->mode,
			  AUDIT_OUTSIDE_CHANGE, "", m->cgroup,
			  policy_knob_name(m->knob), managed_entry(m),
			  m->written, current, reason);
	journal_record_done(&enforcer->journal, m->file, "released");
	m->active = false;
	m->hands_off_until_ms = now_ms + enforcer->config->enforce.cooldown_ms;
}

static void write_failed(struct enforcer *enforcer, struct managed_file *m,
			 const char *what, const char *value, int err)
{
	char reason[160];

	snprintf(reason, sizeof(reason), "%s failed: %s", what, strerror(-err));
	audit_event_entry(&enforcer->audit, enforcer->mode, AUDIT_WRITE_FAILED,
			  "", m->cgroup, policy_knob_name(m->knob),
			  managed_entry(m), "", value, reason);
}

/* After writing `text` to m: -EIO means the write went through but reads
 * back different (the kernel rounded or narrowed it), so what is there now
 * is ours to undo all the same; any other error changed nothing. */
static void settle_write(struct enforcer *enforcer, struct managed_file *m,
			 const char *text, int err)
{
	char now[CGROUP_VALUE_LEN];

	if (err == -EIO && !value_read(m->file, now, sizeof(now))) {
		write_failed(enforcer, m, "reading back what was written", now,
			     err);
		text = now;
	} else if (err) {
		write_failed(enforcer, m, "writing", text, err);
		if (!m->active)
			journal_record_done(&enforcer->journal, m->file,
					    "restored");
		return;
	}
	journal_record_set(&enforcer->journal, m->file, text);
	snprintf(m->written, sizeof(m->written), "%s", text);
	m->active = true;
}

/* Makes `setting` real. ENOENT (the cgroup went with its guest) is a
 * normal event and says nothing. */
static void apply(struct enforcer *enforcer,
		  const struct policy_setting *setting, uint64_t now_ms)
{
	char current[CGROUP_VALUE_LEN], text[CGROUP_VALUE_LEN];
	struct managed_file *m;
	int err;

	m = managed(enforcer, setting->cgroup, setting->knob);
	if (!m || (!m->active && now_ms < m->hands_off_until_ms))
		return;
	if (!m->file[0]) {
		err = knob_file(enforcer, setting->cgroup, setting->knob,
				m->file, sizeof(m->file));
		if (err) {
			m->file[0] = '\0';
			if (err != -ENOENT)
				write_failed(enforcer, m, "resolving the path",
					     "", err);
			/* Not again for a cool-down: no log flood. */
			m->hands_off_until_ms =
				now_ms + enforcer->config->enforce.cooldown_ms;
			return;
		}
	}
	err = value_read(m->file, current, sizeof(current));
	if (err)
		return; /* gone; the next step will not ask again */
	if (m->active && strcmp(current, m->written)) {
		let_go(enforcer, m, current, now_ms);
		return;
	}
	if (libvirt_is_file(m->file))
		err = libvirt_knob_text(enforcer->fs.version, m->file,
					setting->value, text, sizeof(text));
	else if (systemd_is_entry(m->file))
		err = systemd_knob_text(setting->knob, setting->value, text,
					sizeof(text));
	else
		err = cgroup_knob_text(&enforcer->fs, m->file, setting->knob,
				       setting->value, current, text,
				       sizeof(text));
	if (err || !strcmp(text, current))
		return;
	if (!m->active) {
		/* The original reaches the disk before the change does. */
		err = journal_record_before(&enforcer->journal, m->file,
					    m->cgroup,
					    policy_knob_name(m->knob), current,
					    victim_of(enforcer, m->cgroup));
		if (err) {
			write_failed(enforcer, m, "journaling", text, err);
			return;
		}
		snprintf(m->original, sizeof(m->original), "%s", current);
	}
	err = write_journaled(&enforcer->journal, m->file, text);
	settle_write(enforcer, m, text, err);
}

static bool mask_any(const struct cpu_mask *mask)
{
	for (size_t w = 0; w < AFFINITY_MAX_CPUS / 64; w++)
		if (mask->bits[w])
			return true;
	return false;
}

/* The CPUs the victim's vCPUs may run on, and the online ones. */
static int victim_cpus(const struct policy_setting *setting,
		       struct cpu_mask *victim, struct cpu_mask *online)
{
	char text[256];
	bool any = false;
	FILE *in;

	memset(victim, 0, sizeof(*victim));
	for (size_t i = 0; i < setting->avoid_tid_count; i++) {
		struct cpu_mask one;

		if (affinity_get_tid(setting->avoid_tids[i], &one))
			continue; /* a vCPU that just went */
		for (size_t w = 0; w < AFFINITY_MAX_CPUS / 64; w++)
			victim->bits[w] |= one.bits[w];
		any = true;
	}
	in = fopen("/sys/devices/system/cpu/online", "re");
	if (!in)
		return -errno;
	if (!fgets(text, sizeof(text), in))
		text[0] = '\0';
	fclose(in);
	text[strcspn(text, "\n")] = '\0';
	if (!any || affinity_parse(text, online))
		return -ENOENT;
	return 0;
}

/* A libvirt culprit's vCPUs and emulator threads kept off the victim's
 * CPUs through libvirt's live pinning, or a systemd unit's tasks through
 * its AllowedCPUs: one value for the whole domain or unit, journaled,
 * read back and let go like any other. */
static void apply_managed_separation(struct enforcer *enforcer,
				     const struct policy_setting *setting,
				     uint64_t now_ms)
{
	char current[CGROUP_VALUE_LEN], text[CGROUP_VALUE_LEN];
	struct cpu_mask victim, online, rest;
	struct managed_file *m;
	int err;

	if (victim_cpus(setting, &victim, &online))
		return;
	for (size_t w = 0; w < AFFINITY_MAX_CPUS / 64; w++)
		rest.bits[w] = online.bits[w] & ~victim.bits[w];
	if (!mask_any(&rest))
		return; /* the victim may run everywhere: nowhere to go */
	m = managed(enforcer, setting->cgroup, POLICY_KNOB_SEPARATE);
	if (!m || (!m->active && now_ms < m->hands_off_until_ms))
		return;
	if (!m->file[0]) {
		err = knob_file(enforcer, setting->cgroup, POLICY_KNOB_SEPARATE,
				m->file, sizeof(m->file));
		if (err) {
			m->file[0] = '\0';
			if (err != -ENOENT)
				write_failed(enforcer, m, "resolving the domain",
					     "", err);
			m->hands_off_until_ms =
				now_ms + enforcer->config->enforce.cooldown_ms;
			return;
		}
	}
	if (value_read(m->file, current, sizeof(current)))
		return; /* gone; the next step will not ask again */
	if (m->active) {
		if (strcmp(current, m->written))
			let_go(enforcer, m, current, now_ms);
		return; /* the victim's CPUs are fixed while separated */
	}
	err = systemd_is_entry(m->file) ?
		      systemd_separate_text(current, &victim, &online, &rest,
					    text, sizeof(text)) :
		      libvirt_separate_text(current, &victim, &rest, text,
					    sizeof(text));
	if (err || !strcmp(text, current))
		return;
	err = journal_record_before(&enforcer->journal, m->file, m->cgroup,
				    "cpus", current,
				    victim_of(enforcer, m->cgroup));
	if (err) {
		write_failed(enforcer, m, "journaling", text, err);
		return;
	}
	snprintf(m->original, sizeof(m->original), "%s", current);
	settle_write(enforcer, m, text,
		     write_journaled(&enforcer->journal, m->file, text));
}

/* Keeps every task of the culprit's cgroup off the victim's CPUs: each
 * task's mask minus those CPUs, or the other online CPUs for a task
 * pinned to the victim's only. Each task is journaled like a file. */
static void apply_separation(struct enforcer *enforcer,
			     const struct policy_setting *setting,
			     uint64_t now_ms)
{
	struct cpu_mask victim, online, rest;
	char quota_file[ENFORCE_PATH_LEN + 32];
	int tids[1024], count;
	char *slash;

	if (route(enforcer, setting->cgroup) == ENFORCE_BACKEND_LIBVIRT ||
	    route(enforcer, setting->cgroup) == ENFORCE_BACKEND_SYSTEMD) {
		apply_managed_separation(enforcer, setting, now_ms);
		return;
	}
	if (victim_cpus(setting, &victim, &online) ||
	    cgroup_knob_file(&enforcer->fs, &enforcer->config->enforce,
			     setting->cgroup, POLICY_KNOB_CPU_QUOTA, quota_file,
			     sizeof(quota_file)))
		return;
	for (size_t w = 0; w < AFFINITY_MAX_CPUS / 64; w++)
		rest.bits[w] = online.bits[w] & ~victim.bits[w];
	if (!mask_any(&rest))
		return; /* the victim may run everywhere: nowhere to go */
	slash = strrchr(quota_file, '/');
	*slash = '\0';
	count = affinity_cgroup_tids(quota_file, tids, 1024);
	for (int i = 0; i < count; i++) {
		char name[64], current[256], text[256];
		struct cpu_mask mask, wanted_mask;
		struct managed_file *m;
		bool overlaps = false;
		int err;

		if (affinity_task_name(tids[i], name, sizeof(name)) ||
		    affinity_read(name, current, sizeof(current)) ||
		    affinity_parse(current, &mask))
			continue; /* gone meanwhile: a normal event */
		m = managed_task(enforcer, setting->cgroup, name);
		if (!m || (!m->active && now_ms < m->hands_off_until_ms))
			continue;
		if (m->active) {
			if (strcmp(current, m->written))
				let_go(enforcer, m, current, now_ms);
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
		err = journal_record_before(&enforcer->journal, name, m->cgroup,
					    "cpus", current,
					    victim_of(enforcer, m->cgroup));
		if (err) {
			write_failed(enforcer, m, "journaling", text, err);
			continue;
		}
		snprintf(m->original, sizeof(m->original), "%s", current);
		settle_write(enforcer, m, text,
			     write_journaled(&enforcer->journal, name, text));
	}
}

/* Puts m's original back if our value is still there. Returns 0 when m
 * is no longer ours either way, else a negative errno. */
static int put_back(struct enforcer *enforcer, struct managed_file *m,
		    uint64_t now_ms)
{
	char current[CGROUP_VALUE_LEN];
	int err;

	err = value_read(m->file, current, sizeof(current));
	if (err == -ENOENT) {
		/* The cgroup (or task, or domain) went away with what we set
		 * in it. */
		fprintf(stderr,
			"<6>kvmwarden: %s %s: gone with what was set in it; "
			"nothing to undo\n",
			m->cgroup, policy_knob_name(m->knob));
		journal_record_done(&enforcer->journal, m->file, "released");
		m->active = false;
		return 0;
	}
	if (err)
		return err;
	if (strcmp(current, m->written)) {
		let_go(enforcer, m, current, now_ms);
		return 0;
	}
	err = value_write(m->file, m->original);
	if (err) {
		write_failed(enforcer, m, "restoring", m->original, err);
		return err;
	}
	audit_event_entry(&enforcer->audit, enforcer->mode, AUDIT_RESTORE, "",
			  m->cgroup, policy_knob_name(m->knob),
			  managed_entry(m), m->written, m->original,
			  "no longer needed");
	journal_record_done(&enforcer->journal, m->file, "restored");
	m->active = false;
	m->written[0] = '\0';
	return 0;
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

/* cpu.stat's nr_throttled in `dir`, 0 when unreadable. */
static unsigned long long nr_throttled(const char *dir)
{
	char stat_file[PATH_MAX], line[128];
	unsigned long long throttled = 0;
	FILE *in;

	snprintf(stat_file, sizeof(stat_file), "%s/cpu.stat", dir);
	in = fopen(stat_file, "re");
	if (!in)
		return 0;
	while (fgets(line, sizeof(line), in))
		if (sscanf(line, "nr_throttled %llu", &throttled) == 1)
			break;
	fclose(in);
	return throttled;
}

/* A libvirt domain's quotas sit on its vCPU and emulator cgroups, the
 * siblings of the emulator cgroup a guest is known by: their sum. Reading
 * libvirt's cgroups is no write behind its back. */
static unsigned long long libvirt_nr_throttled(const struct enforcer *enforcer,
					       const char *cgroup)
{
	char dir[PATH_MAX], child[PATH_MAX + 256];
	unsigned long long sum = 0;
	const char *slash = strrchr(cgroup, '/');
	struct dirent *entry;
	DIR *listing;

	if (slash && !strcmp(slash, "/emulator"))
		snprintf(dir, sizeof(dir), "%s%.*s", enforcer->fs.mount,
			 (int)(slash - cgroup), cgroup);
	else
		snprintf(dir, sizeof(dir), "%s%s", enforcer->fs.mount, cgroup);
	listing = opendir(dir);
	if (!listing)
		return 0;
	while ((entry = readdir(listing)))
		if (entry->d_type == DT_DIR && entry->d_name[0] != '.') {
			snprintf(child, sizeof(child), "%s/%s", dir,
				 entry->d_name);
			sum += nr_throttled(child);
		}
	closedir(listing);
	return sum;
}

/* Tells the policy which capped culprits the kernel throttled since the
 * last interval: cpu.stat's nr_throttled (v1 and v2 alike) grew. */
static void note_throttled(struct enforcer *enforcer)
{
	for (size_t i = 0; i < enforcer->file_count; i++) {
		struct managed_file *m = &enforcer->files[i];
		char dir[PATH_MAX];
		unsigned long long throttled;
		const char *slash = strrchr(m->file, '/');

		if (!m->active || m->knob != POLICY_KNOB_CPU_QUOTA)
			continue;
		if (libvirt_is_file(m->file)) {
			throttled = libvirt_nr_throttled(enforcer, m->cgroup);
		} else if (systemd_is_entry(m->file)) {
			/* systemd wrote the unit's own cgroup's cpu.max. */
			snprintf(dir, sizeof(dir), "%s%s", enforcer->fs.mount,
				 m->cgroup);
			throttled = nr_throttled(dir);
		} else if (slash) {
			snprintf(dir, sizeof(dir), "%.*s",
				 (int)(slash - m->file), m->file);
			throttled = nr_throttled(dir);
		} else {
			continue;
		}
		if (throttled > m->nr_throttled)
			policy_note_throttled(&enforcer->policy, m->cgroup);
		m->nr_throttled = throttled;
	}
}

/* Connects to libvirtd once a libvirt guest is seen (and again after it
 * went away), so the policy may choose libvirt guests as targets. */
static void note_libvirt(struct enforcer *enforcer,
			 const struct policy_guest *guests, size_t count,
			 uint64_t now_ms)
{
	bool any = false, was = enforcer->policy.libvirt_backend;

	for (size_t i = 0; i < count && !any; i++)
		any = through_libvirt(&enforcer->config->enforce,
				      guests[i].cgroup);
	if (!any && !was)
		return;
	enforcer->policy.libvirt_backend = libvirt_available(now_ms);
	if (enforcer->policy.libvirt_backend != was)
		fprintf(stderr,
			enforcer->policy.libvirt_backend ?
				"<5>kvmwarden: libvirt guests are acted on "
				"through " LIBVIRT_URI "\n" :
				"<4>kvmwarden: libvirtd does not answer at "
				LIBVIRT_URI ": its guests are left alone\n");
}

/* Asks whether systemd answers on its bus (at most every
 * SYSTEMD_PROBE_MS), so its units are targets and acted on through it.
 * Not asked when nothing could go through it: no roots, or
 * write_managed_cgroups (files directly). */
static void note_systemd(struct enforcer *enforcer, uint64_t now_ms)
{
	const struct enforce_config *e = &enforcer->config->enforce;
	bool was = enforcer->policy.systemd_backend;

	if (!e->root_count || e->write_managed_cgroups) {
		enforcer->policy.systemd_backend = false;
		return;
	}
	enforcer->policy.systemd_backend = systemd_available(now_ms);
	if (enforcer->io)
		enforcer->io->policy.systemd_backend =
			enforcer->policy.systemd_backend;
	if (enforcer->policy.systemd_backend != was)
		fputs(enforcer->policy.systemd_backend ?
			      "<5>kvmwarden: systemd units are acted on "
			      "through systemd (SetUnitProperties, runtime)\n" :
			      "<4>kvmwarden: systemd does not answer on its "
			      "bus: its units are left alone\n",
		      stderr);
}

void enforcer_step(struct enforcer *enforcer, const struct report *report,
		   uint64_t now_ms)
{
	static struct policy_guest guests[POLICY_MAX_GUESTS];
	size_t count;

	note_throttled(enforcer);
	count = policy_guests_from_report(report, guests, POLICY_MAX_GUESTS);
	note_libvirt(enforcer, guests, count, now_ms);
	note_systemd(enforcer, now_ms);
	policy_step(&enforcer->policy, guests, count, &enforcer->result);
	audit_policy_actions(enforcer);
	size_t io_active = enforce_io_step(enforcer, report, now_ms);

	if (enforcer->mode != CONFIG_MODE_ENFORCE || !enforcer->fs.version)
		return; /* monitor mode: decided and logged, nothing written */
	for (size_t i = 0; i < enforcer->result.setting_count; i++) {
		const struct policy_setting *setting =
			&enforcer->result.settings[i];

		if (setting->knob == POLICY_KNOB_SEPARATE)
			apply_separation(enforcer, setting, now_ms);
		else
			apply(enforcer, setting, now_ms);
	}
	size_t active = io_active;

	for (size_t i = 0; i < enforcer->file_count; i++) {
		struct managed_file *m = &enforcer->files[i];

		if (m->active && !wanted(&enforcer->result, m))
			put_back(enforcer, m, now_ms);
		active += m->active;
	}
	enforcer->file_count = enforce_forget_idle(
		enforcer->files, enforcer->file_count, sizeof(*enforcer->files),
		now_ms);
	audit_set_in_force(active);
}

size_t enforce_forget_idle(void *items, size_t count, size_t item_size,
			   uint64_t now_ms)
{
	char *base = items;
	size_t kept = 0;

	for (size_t i = 0; i < count; i++) {
		const struct managed_file *m =
			(const struct managed_file *)(base + i * item_size);

		if (!m->active && m->hands_off_until_ms <= now_ms)
			continue;
		if (kept != i)
			memmove(base + kept * item_size, m, item_size);
		kept++;
	}
	return kept;
}

int enforce_restore_journal(struct journal *journal, struct audit *audit,
			    enum config_mode mode, size_t *restored,
			    size_t *left)
{
	struct journal_entry *entries;
	size_t count;
	int err;

	*restored = 0;
	*left = 0;
	err = journal_load(journal->path, &entries, &count, NULL);
	if (err)
		return err;
	for (size_t i = 0; i < count; i++) {
		struct journal_entry *e = &entries[i];
		char current[CGROUP_VALUE_LEN];

		if (!e->in_force)
			continue;
		err = value_read(e->file, current, sizeof(current));
		if (err == -ENOENT) {
			fprintf(stderr,
				"<6>kvmwarden: %s %s: gone with what was set "
				"in it; nothing to undo\n",
				e->cgroup, e->knob);
			journal_record_done(journal, e->file, "released");
			continue;
		}
		/* Ours when it holds what we set, what we were setting (a
		 * crash between the write and its record) or the original (a
		 * crash between journaling and writing); anything else is
		 * someone else's newer choice. */
		if (!err && (e->value[0] || e->pending[0]) &&
		    strcmp(current, e->value) && strcmp(current, e->original) &&
		    strcmp(current, e->pending)) {
			audit_event_entry(audit, mode, AUDIT_OUTSIDE_CHANGE,
					  "", e->cgroup, e->knob,
					  backend_entry(e->file), e->value,
					  current,
				    "changed by someone else since; left as "
				    "it is");
			journal_record_done(journal, e->file, "released");
			continue;
		}
		if (!err && strcmp(current, e->original))
			err = value_write(e->file, e->original);
		if (err) {
			char reason[128];

			snprintf(reason, sizeof(reason), "restoring failed: %s",
				 strerror(-err));
			audit_event_entry(audit, mode, AUDIT_WRITE_FAILED, "",
					  e->cgroup, e->knob,
					  backend_entry(e->file), current,
					  e->original,
				    reason);
			(*left)++;
			continue;
		}
		audit_event_entry(audit, mode, AUDIT_RESTORE, "", e->cgroup,
				  e->knob, backend_entry(e->file), current,
				  e->original, "restored from the journal");
		journal_record_done(journal, e->file, "restored");
		(*restored)++;
	}
	free(entries);
	if (!*left)
		return journal_clear(journal);
	return 0;
}

int enforcer_start(struct enforcer *enforcer, const struct config *config,
		   enum config_mode mode)
{
	const struct enforce_config *e = &config->enforce;
	size_t restored, left;
	int err;

	memset(enforcer, 0, sizeof(*enforcer));
	enforcer->journal.fd = -1;
	enforcer->mode = mode;
	enforcer->config = config;
	policy_init(&enforcer->policy, e, config->interval_ms);
	audit_open(&enforcer->audit, e->audit_log);
	enforce_io_start(enforcer);
	if (mode != CONFIG_MODE_ENFORCE)
		return 0;
	err = cgroup_fs_detect(&enforcer->fs, "/proc/self/mountinfo");
	if (err) {
		fputs("<3>kvmwarden: no cgroup hierarchy with the cpu "
		      "controller: cannot enforce\n",
		      stderr);
		goto fail;
	}
	err = journal_open(&enforcer->journal, e->state_file);
	if (err) {
		char why[768];

		journal_describe(e->state_file, err,
				 &enforcer->journal.damage, why, sizeof(why));
		fprintf(stderr,
			"<3>kvmwarden: state file %s; refusing to enforce\n",
			why);
		goto fail;
	}
	if (enforcer->journal.damage.torn_tail)
		fprintf(stderr,
			"<4>kvmwarden: state file %s: its last line was cut "
			"short (a crash while appending, before the change it "
			"announced was made); dropped\n",
			e->state_file);
	/* A previous run that died left its changes: undo them before
	 * deciding afresh, so every original stays the true one. */
	err = enforce_restore_journal(&enforcer->journal, &enforcer->audit,
				      mode, &restored, &left);
	if (err || left) {
		fprintf(stderr,
			"<3>kvmwarden: could not undo %zu change%s of a "
			"previous run (%s); refusing to enforce over them\n",
			left, left == 1 ? "" : "s",
			err ? strerror(-err) : "see above");
		err = err ? err : -EIO;
		goto fail;
	}
	if (restored)
		fprintf(stderr,
			"<5>kvmwarden: undid %zu change%s a previous run left\n",
			restored, restored == 1 ? "" : "s");
	fprintf(stderr,
		"<5>kvmwarden: enforcing through cgroup v%d at %s (%zu "
		"root%s, %zu budget%s)\n",
		enforcer->fs.version, enforcer->fs.mount, e->root_count,
		e->root_count == 1 ? "" : "s", e->budget_count,
		e->budget_count == 1 ? "" : "s");
	return 0;
fail:
	journal_close(&enforcer->journal);
	audit_close(&enforcer->audit);
	free(enforcer->io);
	enforcer->io = NULL;
	return err;
}

void enforcer_reload(struct enforcer *enforcer, const struct config *config)
{
	enforcer->config = config;
	policy_set_config(&enforcer->policy, &config->enforce,
			  config->interval_ms);
	enforce_io_reload(enforcer);
}

size_t enforcer_stop(struct enforcer *enforcer)
{
	size_t failed = 0;

	for (size_t i = 0; i < enforcer->file_count; i++)
		if (enforcer->files[i].active &&
		    put_back(enforcer, &enforcer->files[i], 0))
			failed++;
	failed += enforce_io_stop(enforcer);
	audit_set_in_force(failed);
	libvirt_disconnect();
	if (enforcer->journal.fd >= 0 && !failed)
		journal_clear(&enforcer->journal);
	journal_close(&enforcer->journal);
	audit_close(&enforcer->audit);
	free(enforcer->files);
	enforcer->files = NULL;
	enforcer->file_count = enforcer->file_cap = 0;
	return failed;
}

/* For enforce_io.c: the same journaled writes for I/O entries. */
int enforce_value_read(const char *file, char *value, size_t size)
{
	return value_read(file, value, size);
}

int enforce_value_write(const char *file, const char *value)
{
	return value_write(file, value);
}

int enforce_write_journaled(struct enforcer *enforcer, const char *file,
			    const char *value)
{
	return write_journaled(&enforcer->journal, file, value);
}

void enforce_let_go(struct enforcer *enforcer, struct managed_file *m,
		    const char *current, uint64_t now_ms)
{
	let_go(enforcer, m, current, now_ms);
}

void enforce_write_failed(struct enforcer *enforcer, struct managed_file *m,
			  const char *what, const char *value, int err)
{
	write_failed(enforcer, m, what, value, err);
}

void enforce_settle_write(struct enforcer *enforcer, struct managed_file *m,
			  const char *text, int err)
{
	settle_write(enforcer, m, text, err);
}

int enforce_put_back(struct enforcer *enforcer, struct managed_file *m,
		     uint64_t now_ms)
{
	return put_back(enforcer, m, now_ms);
}
