// SPDX-License-Identifier: GPL-2.0-only
/*
 * Steering decisions in, rps_cpus and smp_affinity_list out
 * (enforce_steer.h), through enforce_write.h's step: read the value now,
 * journal it (fsynced), write, read back, journal what was set; a value
 * someone else changed is theirs, for a cool-down. The masks are worked
 * out from the original value, so undoing is exact.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "actuate/actuate_affinity.h"
#include "actuate/actuate_steer.h"
#include "actuate/enforce_steer.h"
#include "actuate/enforce_value.h"
#include "base/log.h"
#include "policy/policy_steer_guests.h"

/* A steered device that still receives this many packets a second stays
 * steered: at the 2-8 µs of NET_RX a packet costs, that is 2-8 ms of a
 * CPU per second, which put back would land on the victim again. */
#define STEER_BUSY_PPS 1000
#define CAP_NET_ADMIN_BIT 12 /* linux/capability.h's CAP_NET_ADMIN */

bool enforce_steer_wants_net_admin(const struct enforce_config *enforce)
{
	return enforce_config_has_hidden_budget(enforce) &&
	       enforce->steering.device_count;
}

static bool read_only(const char *path)
{
	struct statvfs st;

	return statvfs(path, &st) || (st.f_flag & ST_RDONLY);
}

static bool has_net_admin(void)
{
	unsigned long long effective = 0;
	char line[256];
	bool found = false;
	FILE *in = fopen("/proc/self/status", "re");

	if (!in)
		return false;
	while (!found && fgets(line, sizeof(line), in))
		found = sscanf(line, "CapEff: %llx", &effective) == 1;
	fclose(in);
	return found && (effective >> CAP_NET_ADMIN_BIT & 1);
}

static uint32_t own_netns(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) ? 0 : (uint32_t)st.st_ino;
}

/* What this host lets steering write, said once per start or reload. */
static void check_host(struct enforce_steer *steer)
{
	const struct enforce_config *e = &steer->writer->config->enforce;
	bool enforcing = steer->writer->mode == CONFIG_MODE_ENFORCE;

	steer->devices_allowed = e->steering.device_count > 0;
	steer->irqs_allowed = e->steering.irq_count > 0;
	if (!enforcing)
		goto done; /* monitor mode writes nothing */
	/* Through a device's link: its files live under /sys/devices, and
	 * that mount, not /sys/class/net's, is the one written. */
	if (steer->devices_allowed && read_only(STEER_NET_ROOT "/lo/queues")) {
		log_warn("hidden-steal budget: %s is read-only here (the "
			 "unit's ProtectKernelTunables=, without the steering "
			 "drop-in): devices are not steered",
			 STEER_NET_ROOT);
		steer->devices_allowed = false;
	} else if (steer->devices_allowed && !has_net_admin()) {
		log_warn("hidden-steal budget: no CAP_NET_ADMIN, which "
			 "writing rps_cpus needs: devices are not steered");
		steer->devices_allowed = false;
	}
	if (steer->irqs_allowed && read_only(STEER_IRQ_ROOT)) {
		log_warn("hidden-steal budget: %s is read-only here (the "
			 "unit's ProtectKernelTunables=, without the steering "
			 "drop-in): IRQs are not moved",
			 STEER_IRQ_ROOT);
		steer->irqs_allowed = false;
	}
	if (!steer->devices_allowed && !steer->irqs_allowed &&
	    enforce_config_has_hidden_budget(e))
		log_warn("hidden-steal budget: off, nothing it may move can "
			 "be written on this host (the agent goes on)");
done:
	steer->policy.device_steering = steer->devices_allowed;
	steer->policy.irq_steering = steer->irqs_allowed;
}

struct enforce_steer *enforce_steer_start(struct enforce_writer *writer)
{
	const struct config *config = writer->config;
	struct enforce_steer *steer;

	if (!enforce_config_has_hidden_budget(&config->enforce))
		return NULL;
	steer = calloc(1, sizeof(*steer));
	if (!steer) {
		log_warn("hidden-steal budget: out of memory; off");
		return NULL;
	}
	steer->writer = writer;
	policy_steer_init(&steer->policy, &config->enforce,
			  config->interval_ms);
	steer->policy.host_netns = own_netns();
	check_host(steer);
	return steer;
}

struct enforce_steer *enforce_steer_reload(struct enforce_steer *steer,
					   struct enforce_writer *writer)
{
	const struct config *config = writer->config;

	if (!steer)
		return enforce_steer_start(writer);
	/* Kept with no hidden budget left: its ladders put back what they
	 * steered, one per interval, as a guest gone does. */
	policy_steer_set_config(&steer->policy, &config->enforce,
				config->interval_ms);
	check_host(steer);
	return steer;
}

static void audit_actions(struct enforce_steer *steer)
{
	const struct policy_steer_result *r = &steer->result;

	for (size_t i = 0; i < r->action_count; i++) {
		const struct policy_action *a = &r->actions[i];
		bool away = a->verb == POLICY_SEPARATE_CPUS;
		const char *knob = a->verb == POLICY_NO_CULPRIT ?
					   "" :
					   policy_knob_name(r->action_knob[i]);

		audit_event(&steer->writer->audit, steer->writer->mode,
			    (enum audit_action)a->verb, a->victim, a->target,
			    knob,
			    away			? "" :
			    a->verb == POLICY_JOIN_CPUS ? "separate" :
							  "",
			    away ? "separate" : "", a->reason);
	}
}

static struct steer_managed *managed(struct enforce_steer *steer,
				     const char *file, const char *label,
				     enum policy_knob knob)
{
	struct steer_managed *m;

	for (size_t i = 0; i < steer->file_count; i++)
		if (!strcmp(steer->files[i].file.file, file))
			return &steer->files[i];
	if (steer->file_count == steer->file_cap) {
		size_t grown = steer->file_cap ? steer->file_cap * 2 : 8;
		struct steer_managed *more =
			realloc(steer->files, grown * sizeof(*more));

		if (!more)
			return NULL;
		steer->files = more;
		steer->file_cap = grown;
	}
	m = &steer->files[steer->file_count++];
	memset(m, 0, sizeof(*m));
	snprintf(m->file.cgroup, sizeof(m->file.cgroup), "%s", label);
	snprintf(m->file.file, sizeof(m->file.file), "%.*s",
		 (int)sizeof(m->file.file) - 1, file);
	m->file.knob = knob;
	return m;
}

/* For whom a target is steered, for the journal and `status`. */
static const char *victim_of(const struct enforce_steer *steer,
			     enum policy_steer_kind kind, const char *name)
{
	for (size_t i = 0; i < POLICY_MAX_GUESTS; i++) {
		const struct policy_steer_victim *v = &steer->policy.victims[i];

		for (size_t t = 0; v->slot.in_use && t < v->target_count; t++)
			if (v->targets[t].kind == kind &&
			    !strcmp(v->targets[t].name, name))
				return v->slot.name;
	}
	return "";
}

/* The text `file` should hold: its original (or current, before it is
 * ours) without the protected CPUs, in the file's own format. */
static int wanted_text(const struct steer_managed *m, const char *current,
		       const struct cpu_mask *protected_cpus,
		       const struct cpu_mask *online, char *text, size_t size)
{
	const char *from = m->file.active ? m->file.original : current;
	bool rps = m->file.knob == POLICY_KNOB_RPS_CPUS;
	struct cpu_mask base, next;
	int err;

	err = rps ? steer_hex_parse(from, &base) : affinity_parse(from, &base);
	if (err)
		return err;
	err = steer_mask_next(&base, protected_cpus, online, &next);
	if (err)
		return err;
	return rps ? steer_hex_format(&next, current, text, size) :
		     affinity_format(&next, text, size);
}

static void apply_file(struct enforce_steer *steer, const char *file,
		       const struct policy_steer_setting *setting,
		       const struct cpu_mask *protected_cpus,
		       const struct cpu_mask *online, uint64_t now_ms)
{
	char current[CGROUP_VALUE_LEN], text[CGROUP_VALUE_LEN], label[64];
	bool irq = setting->kind == POLICY_STEER_IRQ;
	struct steer_managed *m;
	int err;

	snprintf(label, sizeof(label), "%s:%s", irq ? "irq" : "net",
		 setting->name);
	m = managed(steer, file, label, policy_steer_knob(setting->kind));
	if (!m)
		return;
	m->wanted_at = steer->steps;
	if (m->refused ||
	    (!m->file.active && now_ms < m->file.hands_off_until_ms))
		return;
	if (steer_entry_read(file, current, sizeof(current)))
		return; /* gone with its device or IRQ: a normal event */
	if (m->file.active && strcmp(current, m->file.written)) {
		enforce_write_let_go(steer->writer, &m->file, current, now_ms);
		return;
	}
	err = wanted_text(m, current, protected_cpus, online, text,
			  sizeof(text));
	if (err == -ENOSPC && !m->said_full) {
		log_warn("%s %s: every online CPU is a protected guest's, so "
			 "steering would leave it none; left as it is",
			 label, file);
		m->said_full = true;
		/* Kept (enforce_write_forget_idle) so it is said once a
		 * cool-down, not every interval. */
		m->file.hands_off_until_ms =
			now_ms + steer->writer->config->enforce.cooldown_ms;
	}
	if (err || !strcmp(text, current))
		return;
	enforce_write_change(steer->writer, &m->file,
			     policy_knob_name(m->file.knob), current,
			     victim_of(steer, setting->kind, setting->name),
			     text);
	if (irq && !m->file.active) {
		/* The kernel refused the write (EIO): an IRQ it manages
		 * itself. Asking again each interval would change nothing. */
		log_notice("%s %s: the kernel refuses its affinity (a managed "
			   "IRQ); skipped",
			   label, file);
		m->refused = true;
		m->file.hands_off_until_ms = UINT64_MAX; /* kept, for good */
	}
}

static void apply(struct enforce_steer *steer,
		  const struct policy_steer_setting *setting, uint64_t now_ms)
{
	char files[STEER_MAX_FILES][STEER_FILE_LEN];
	struct cpu_mask protected_cpus, online;
	int count;

	/* The CPUs the victims' vCPUs may run on, and the online ones. */
	if (affinity_tids_cpus(setting->avoid_tids, setting->avoid_tid_count,
			       &protected_cpus, &online))
		return; /* its vCPUs went: nothing to keep off */
	count = setting->kind == POLICY_STEER_IRQ ?
			steer_irq_files(setting->name, files, STEER_MAX_FILES) :
			steer_device_files(setting->name, files,
					   STEER_MAX_FILES);
	for (int f = 0; f < count; f++)
		apply_file(steer, files[f], setting, &protected_cpus, &online,
			   now_ms);
}

static struct steer_traffic *traffic_of(struct enforce_steer *steer,
					const char *device)
{
	for (size_t i = 0; i < steer->traffic_count; i++)
		if (!strcmp(steer->traffic[i].device, device))
			return &steer->traffic[i];
	if (steer->traffic_count == POLICY_STEER_MAX_SETTINGS)
		return NULL;
	memset(&steer->traffic[steer->traffic_count], 0,
	       sizeof(steer->traffic[0]));
	snprintf(steer->traffic[steer->traffic_count].device,
		 POLICY_STEER_NAME_LEN, "%s", device);
	return &steer->traffic[steer->traffic_count++];
}

/* Which steered devices still receive enough to matter (STEER_BUSY_PPS),
 * from their own counters: told to the policy before it steps. */
static void note_traffic(struct enforce_steer *steer, uint64_t now_ms)
{
	for (size_t i = 0; i < steer->result.setting_count; i++) {
		const struct policy_steer_setting *s =
			&steer->result.settings[i];
		char path[STEER_FILE_LEN];
		unsigned long long packets;
		struct steer_traffic *t;
		FILE *in;

		if (s->kind != POLICY_STEER_DEVICE ||
		    !steer_name_valid(s->name))
			continue;
		snprintf(path, sizeof(path),
			 STEER_NET_ROOT "/%s/statistics/rx_packets", s->name);
		in = fopen(path, "re");
		t = traffic_of(steer, s->name);
		if (!in || !t) {
			if (in)
				fclose(in);
			continue;
		}
		if (fscanf(in, "%llu", &packets) == 1) {
			if (t->seen_at_ms && now_ms > t->seen_at_ms &&
			    packets >= t->rx_packets &&
			    (packets - t->rx_packets) * 1000 >=
				    STEER_BUSY_PPS * (now_ms - t->seen_at_ms))
				policy_steer_note_busy(&steer->policy,
						       POLICY_STEER_DEVICE,
						       s->name);
			t->rx_packets = packets;
			t->seen_at_ms = now_ms;
		}
		fclose(in);
	}
}

size_t enforce_steer_step(struct enforce_steer *steer,
			  const struct report *report, uint64_t now_ms)
{
	static struct policy_steer_guest guests[POLICY_MAX_GUESTS];
	size_t count, active = 0;

	if (!steer)
		return 0;
	steer->steps++;
	note_traffic(steer, now_ms);
	count = policy_steer_guests_from_report(report, guests,
						POLICY_MAX_GUESTS);
	policy_steer_step(&steer->policy, guests, count, &steer->result);
	audit_actions(steer);
	if (steer->writer->mode != CONFIG_MODE_ENFORCE)
		return 0;
	for (size_t i = 0; i < steer->result.setting_count; i++)
		apply(steer, &steer->result.settings[i], now_ms);
	for (size_t i = 0; i < steer->file_count; i++) {
		struct steer_managed *m = &steer->files[i];

		if (m->file.active && m->wanted_at != steer->steps)
			enforce_write_put_back(steer->writer, &m->file, now_ms);
		active += m->file.active;
	}
	steer->file_count = enforce_write_forget_idle(
		steer->files, steer->file_count, sizeof(*steer->files), now_ms);
	return active;
}

size_t enforce_steer_stop(struct enforce_steer *steer)
{
	size_t failed = 0;

	if (!steer)
		return 0;
	for (size_t i = 0; i < steer->file_count; i++)
		if (steer->files[i].file.active &&
		    enforce_write_put_back(steer->writer, &steer->files[i].file,
					   0))
			failed++;
	free(steer->files);
	free(steer);
	return failed;
}
