// SPDX-License-Identifier: GPL-2.0-only
/*
 * I/O decisions in, per-device cgroup entries (or a systemd unit's IO*
 * properties, enforce_route.h) out, through enforce_write.h's step:
 * read the entry now, journal it (fsynced), write, read back, journal what
 * was set; an entry someone else changed is theirs, for a cool-down.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actuate/actuate_systemd.h"
#include "actuate/enforce_io.h"
#include "actuate/enforce_value.h"
#include "base/log.h"
#include "policy/enforce_route.h"

struct enforce_io *enforce_io_start(struct enforce_writer *writer)
{
	struct enforce_io *io = calloc(1, sizeof(*io));
	const struct config *config = writer->config;

	if (!io)
		return NULL;
	io->writer = writer;
	/* Without an I/O controller the I/O ladder still decides and
	 * audits (what monitor mode shows); nothing is written. */
	if (io_fs_detect(&io->fs, "/proc/self/mountinfo") &&
	    writer->mode == CONFIG_MODE_ENFORCE)
		log_warn("no cgroup hierarchy with the blkio/io controller: "
			 "I/O budgets are only monitored");
	policy_io_init(&io->policy, &config->enforce, config->interval_ms,
		       io_fs_has_weight(&io->fs));
	return io;
}

void enforce_io_reload(struct enforce_io *io)
{
	if (io)
		policy_io_set_config(&io->policy, &io->writer->config->enforce,
				     io->writer->config->interval_ms);
}

static void audit_actions(struct enforce_io *io)
{
	const struct policy_io_result *r = &io->result;

	for (size_t i = 0; i < r->action_count; i++) {
		const struct policy_action *a = &r->actions[i];
		bool weight = a->verb == POLICY_RAISE_WEIGHT ||
			      a->verb == POLICY_RESTORE_WEIGHT;
		char knob[48] = "", from[16] = "", to[16] = "";

		if (a->verb != POLICY_NO_CULPRIT)
			snprintf(knob, sizeof(knob), "%s@%s",
				 weight ? "io_weight" : "io_iops",
				 r->action_device[i]);
		if (a->from)
			snprintf(from, sizeof(from), "%u", a->from);
		if (a->to)
			snprintf(to, sizeof(to), "%u", a->to);
		audit_event(&io->writer->audit, io->writer->mode,
			    (enum audit_action)a->verb, a->victim, a->target,
			    knob, from, to, a->reason);
	}
}

static struct io_managed *managed(struct enforce_io *io, const char *file,
				  const char *cgroup, enum policy_knob knob)
{
	struct io_managed *m;

	for (size_t i = 0; i < io->file_count; i++)
		if (!strcmp(io->files[i].file.file, file))
			return &io->files[i];
	if (io->file_count == io->file_cap) {
		size_t grown = io->file_cap ? io->file_cap * 2 : 8;
		struct io_managed *more =
			realloc(io->files, grown * sizeof(*more));

		if (!more)
			return NULL;
		io->files = more;
		io->file_cap = grown;
	}
	m = &io->files[io->file_count++];
	memset(m, 0, sizeof(*m));
	snprintf(m->file.cgroup, sizeof(m->file.cgroup), "%s", cgroup);
	snprintf(m->file.file, sizeof(m->file.file), "%.*s",
		 (int)sizeof(m->file.file) - 1, file);
	m->file.knob = knob;
	return m;
}

/* For whom a cgroup is acted on, for the journal and `status`. */
static const char *victim_of(const struct enforce_io *io, const char *cgroup)
{
	for (size_t i = 0; i < POLICY_IO_MAX_LADDERS; i++) {
		const struct policy_io_ladder *l = &io->policy.ladders[i];

		if (!l->in_use)
			continue;
		if (!strcmp(l->weight_cgroup, cgroup))
			return l->name;
		for (size_t c = 0; c < l->cap_count; c++)
			if (!strcmp(l->caps[c].cgroup, cgroup))
				return l->name;
	}
	return "";
}

static void apply_file(struct enforce_io *io, const char *file,
		       const struct policy_io_setting *setting, uint64_t now_ms)
{
	char current[CGROUP_VALUE_LEN], text[CGROUP_VALUE_LEN];
	struct io_managed *im;
	struct managed_file *m;
	int err;

	im = managed(io, file, setting->cgroup, setting->knob);
	if (!im)
		return;
	im->wanted_at = io->steps;
	m = &im->file;
	if (!m->active && now_ms < m->hands_off_until_ms)
		return;
	if (enforce_value_read(m->file, current, sizeof(current)))
		return; /* gone with its cgroup: a normal event */
	if (m->active && strcmp(current, m->written)) {
		enforce_write_let_go(io->writer, m, current, now_ms);
		return;
	}
	err = systemd_is_entry(m->file) ?
		      systemd_knob_text(setting->knob, setting->value, text,
					sizeof(text)) :
		      io_knob_text(m->file, setting->knob, setting->value,
				   current, text, sizeof(text));
	if (err || !strcmp(text, current))
		return;
	enforce_write_change(io->writer, m, policy_knob_name(m->knob), current,
			     victim_of(io, m->cgroup), text);
}

_Static_assert(IO_MAX_FILES == SYSTEMD_MAX_PROPERTIES &&
		       ENFORCE_PATH_LEN + 32 == SYSTEMD_ENTRY_LEN,
	       "systemd entries fill the same names as the cgroup files");

/* The unit's properties for `knob` on `device`: IOWeight (one for the
 * unit), IOReadIOPSMax and IOWriteIOPSMax (the device's entry of each). */
static int systemd_io_files(const char *cgroup, const char *device,
			    enum policy_knob knob,
			    char files[IO_MAX_FILES][ENFORCE_PATH_LEN + 32],
			    size_t *count)
{
	char unit[256];
	int err;

	*count = 0;
	err = systemd_unit_of(cgroup, unit, sizeof(unit));
	return err ? err :
		     systemd_knob_entries(unit, knob, device, files, count);
}

static void apply(struct enforce_io *io,
		  const struct policy_io_setting *setting, uint64_t now_ms)
{
	char files[IO_MAX_FILES][ENFORCE_PATH_LEN + 32];
	size_t count;
	int err;

	if (enforce_route(&io->writer->config->enforce, setting->cgroup, false,
			  io->policy.systemd_backend) ==
	    ENFORCE_BACKEND_SYSTEMD)
		err = systemd_io_files(setting->cgroup, setting->device,
				       setting->knob, files, &count);
	else
		err = io_knob_files(&io->fs, &io->writer->config->enforce,
				    setting->cgroup, setting->device,
				    setting->knob, files, &count);
	if (err == -ENOENT)
		return; /* the cgroup went, or the kernel has no such file */
	if (err) {
		/* Said once per cool-down, not every interval: an entry
		 * that is never a file stands for the setting. */
		char key[ENFORCE_PATH_LEN + 32];
		struct io_managed *im;

		snprintf(key, sizeof(key), "unresolved:%.200s#%s#%d",
			 setting->cgroup, setting->device, (int)setting->knob);
		im = managed(io, key, setting->cgroup, setting->knob);
		if (!im || now_ms < im->file.hands_off_until_ms)
			return;
		im->wanted_at = io->steps;
		im->file.hands_off_until_ms =
			now_ms + io->writer->config->enforce.cooldown_ms;
		enforce_write_failed(io->writer, &im->file,
				     "resolving the path", "", err);
		return;
	}
	for (size_t f = 0; f < count; f++)
		apply_file(io, files[f], setting, now_ms);
}

size_t enforce_io_step(struct enforce_io *io, const struct report *report,
		       uint64_t now_ms)
{
	static struct policy_io_guest guests[POLICY_MAX_GUESTS];
	size_t count, active = 0;

	if (!io)
		return 0;
	io->steps++;
	count = policy_io_guests_from_report(report, guests, POLICY_MAX_GUESTS);
	policy_io_step(&io->policy, guests, count, &io->result);
	audit_actions(io);
	if (io->writer->mode != CONFIG_MODE_ENFORCE || !io->fs.version)
		return 0;
	for (size_t i = 0; i < io->result.setting_count; i++)
		apply(io, &io->result.settings[i], now_ms);
	for (size_t i = 0; i < io->file_count; i++) {
		struct io_managed *im = &io->files[i];

		if (im->file.active && im->wanted_at != io->steps)
			enforce_write_put_back(io->writer, &im->file, now_ms);
		active += im->file.active;
	}
	io->file_count = enforce_write_forget_idle(io->files, io->file_count,
						   sizeof(*io->files), now_ms);
	return active;
}

size_t enforce_io_stop(struct enforce_io *io)
{
	size_t failed = 0;

	if (!io)
		return 0;
	for (size_t i = 0; i < io->file_count; i++)
		if (io->files[i].file.active &&
		    enforce_write_put_back(io->writer, &io->files[i].file, 0))
			failed++;
	free(io->files);
	free(io);
	return failed;
}
