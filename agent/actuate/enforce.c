// SPDX-License-Identifier: GPL-2.0-only
/*
 * The enforcement loop's glue: one writer (mode, journal, audit log) under
 * the CPU side (enforce_cpu.c) and the I/O side (enforce_io.c), started,
 * stepped, reloaded and stopped together. Which backend answers is asked
 * here once per interval; the writes themselves are enforce_write.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actuate/actuate_libvirt.h"
#include "actuate/actuate_systemd.h"
#include "actuate/enforce.h"
#include "actuate/enforce_io.h"
#include "actuate/enforce_restore.h"
#include "actuate/enforce_steer.h"
#include "base/log.h"

/* Asks whether systemd answers on its bus (at most every
 * SYSTEMD_PROBE_MS), so its units are targets and acted on through it.
 * Not asked when nothing could go through it: no roots, or
 * write_managed_cgroups (files directly). */
static void note_systemd(struct enforcer *enforcer, uint64_t now_ms)
{
	const struct enforce_config *e = &enforcer->writer.config->enforce;
	struct policy *policy = &enforcer->cpu.policy;
	bool was = policy->systemd_backend;

	if (!e->root_count || e->write_managed_cgroups) {
		policy->systemd_backend = false;
		return;
	}
	policy->systemd_backend = systemd_available(now_ms);
	if (enforcer->io)
		enforcer->io->policy.systemd_backend = policy->systemd_backend;
	if (policy->systemd_backend == was)
		return;
	if (policy->systemd_backend)
		log_notice("systemd units are acted on through systemd "
			   "(SetUnitProperties, runtime)");
	else
		log_warn("systemd does not answer on its bus: its units are "
			 "left alone");
}

void enforcer_step(struct enforcer *enforcer, const struct report *report,
		   uint64_t now_ms)
{
	size_t io_active, steer_active;

	enforce_cpu_observe(&enforcer->cpu, report, now_ms);
	note_systemd(enforcer, now_ms);
	enforce_cpu_decide(&enforcer->cpu);
	io_active = enforce_io_step(enforcer->io, report, now_ms);
	steer_active = enforce_steer_step(enforcer->steer, report, now_ms);
	if (enforcer->writer.mode != CONFIG_MODE_ENFORCE ||
	    !enforcer->cpu.fs.version)
		return; /* monitor mode: decided and logged, nothing written */
	audit_set_in_force(io_active + steer_active +
			   enforce_cpu_apply(&enforcer->cpu, now_ms));
}

int enforcer_start(struct enforcer *enforcer, const struct config *config,
		   enum config_mode mode)
{
	const struct enforce_config *e = &config->enforce;
	struct enforce_writer *writer = &enforcer->writer;
	size_t restored, left;
	int err;

	memset(enforcer, 0, sizeof(*enforcer));
	writer->journal.fd = -1;
	writer->mode = mode;
	writer->config = config;
	enforcer->cpu.writer = writer;
	policy_init(&enforcer->cpu.policy, e, config->interval_ms);
	audit_open(&writer->audit, e->audit_log);
	enforcer->io = enforce_io_start(writer);
	if (mode != CONFIG_MODE_ENFORCE) {
		enforcer->steer = enforce_steer_start(writer);
		return 0;
	}
	err = cgroup_fs_detect(&enforcer->cpu.fs, "/proc/self/mountinfo");
	if (err) {
		log_err("no cgroup hierarchy with the cpu controller: cannot "
			"enforce");
		goto fail;
	}
	err = journal_open(&writer->journal, e->state_file);
	if (err) {
		char why[768];

		journal_describe(e->state_file, err, &writer->journal.damage,
				 why, sizeof(why));
		log_err("state file %s; refusing to enforce", why);
		goto fail;
	}
	if (writer->journal.damage.torn_tail)
		log_warn("state file %s: its last line was cut short (a crash "
			 "while appending, before the change it announced was "
			 "made); dropped",
			 e->state_file);
	/* A previous run that died left its changes: undo them before
	 * deciding afresh, so every original stays the true one. */
	err = enforce_restore_journal(&writer->journal, &writer->audit, mode,
				      &restored, &left);
	if (err || left) {
		log_err("could not undo %zu change%s of a previous run (%s); "
			"refusing to enforce over them",
			left, left == 1 ? "" : "s",
			err ? strerror(-err) : "see above");
		err = err ? err : -EIO;
		goto fail;
	}
	if (restored)
		log_notice("undid %zu change%s a previous run left", restored,
			   restored == 1 ? "" : "s");
	/* After the journal is ours: a refusal to write says so now. */
	enforcer->steer = enforce_steer_start(writer);
	log_notice("enforcing through cgroup v%d at %s (%zu root%s, %zu "
		   "budget%s)",
		   enforcer->cpu.fs.version, enforcer->cpu.fs.mount,
		   e->root_count, e->root_count == 1 ? "" : "s",
		   e->budget_count, e->budget_count == 1 ? "" : "s");
	return 0;
fail:
	journal_close(&writer->journal);
	audit_close(&writer->audit);
	free(enforcer->io);
	enforcer->io = NULL;
	return err;
}

void enforcer_reload(struct enforcer *enforcer, const struct config *config)
{
	enforcer->writer.config = config;
	policy_set_config(&enforcer->cpu.policy, &config->enforce,
			  config->interval_ms);
	enforce_io_reload(enforcer->io);
	enforcer->steer =
		enforce_steer_reload(enforcer->steer, &enforcer->writer);
}

size_t enforcer_stop(struct enforcer *enforcer)
{
	struct enforce_writer *writer = &enforcer->writer;
	size_t failed;

	failed = enforce_cpu_stop(&enforcer->cpu);
	failed += enforce_io_stop(enforcer->io);
	enforcer->io = NULL;
	failed += enforce_steer_stop(enforcer->steer);
	enforcer->steer = NULL;
	audit_set_in_force(failed);
	libvirt_conn_disconnect();
	if (writer->journal.fd >= 0 && !failed)
		journal_clear(&writer->journal);
	journal_close(&writer->journal);
	audit_close(&writer->audit);
	return failed;
}
