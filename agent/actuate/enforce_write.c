// SPDX-License-Identifier: GPL-2.0-only
/*
 * The journaled, audited write step shared by the CPU and I/O sides of
 * enforcement (enforce_write.h says the order). It knows nothing of
 * policies or backends: values go through enforce_value.h by name.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "actuate/enforce_value.h"
#include "actuate/enforce_write.h"
#include "base/log.h"

int enforce_write_journaled(struct enforce_writer *writer, const char *file,
			    const char *value)
{
	int err = journal_record_want(&writer->journal, file, value);

	return err ? err : enforce_value_write(file, value);
}

void enforce_write_let_go(struct enforce_writer *writer, struct managed_file *m,
			  const char *current, uint64_t now_ms)
{
	char reason[160];

	snprintf(reason, sizeof(reason),
		 "changed by someone else; backing off for %u ms",
		 writer->config->enforce.cooldown_ms);
	audit_event_entry(&writer->audit, writer->mode, AUDIT_OUTSIDE_CHANGE,
			  "", m->cgroup, policy_knob_name(m->knob),
			  enforce_value_entry(m->file), m->written, current,
			  reason);
	journal_record_done(&writer->journal, m->file, "released");
	m->active = false;
	m->hands_off_until_ms = now_ms + writer->config->enforce.cooldown_ms;
}

void enforce_write_failed(struct enforce_writer *writer, struct managed_file *m,
			  const char *what, const char *value, int err)
{
	char reason[160];

	snprintf(reason, sizeof(reason), "%s failed: %s", what, strerror(-err));
	audit_event_entry(&writer->audit, writer->mode, AUDIT_WRITE_FAILED, "",
			  m->cgroup, policy_knob_name(m->knob),
			  enforce_value_entry(m->file), "", value, reason);
}

/* -EIO means the write went through but reads back different (the kernel
 * rounded or narrowed it), so what is there now is ours to undo all the
 * same; any other error changed nothing. */
void enforce_write_settle(struct enforce_writer *writer, struct managed_file *m,
			  const char *text, int err)
{
	char now[CGROUP_VALUE_LEN];

	if (err == -EIO && !enforce_value_read(m->file, now, sizeof(now))) {
		enforce_write_failed(writer, m, "reading back what was written",
				     now, err);
		text = now;
	} else if (err) {
		enforce_write_failed(writer, m, "writing", text, err);
		if (!m->active)
			journal_record_done(&writer->journal, m->file,
					    "restored");
		return;
	}
	journal_record_set(&writer->journal, m->file, text);
	snprintf(m->written, sizeof(m->written), "%s", text);
	m->active = true;
}

void enforce_write_change(struct enforce_writer *writer, struct managed_file *m,
			  const char *knob, const char *current,
			  const char *victim, const char *text)
{
	int err;

	if (!m->active) {
		/* The original reaches the disk before the change does. */
		err = journal_record_before(&writer->journal, m->file,
					    m->cgroup, knob, current, victim);
		if (err) {
			enforce_write_failed(writer, m, "journaling", text,
					     err);
			return;
		}
		snprintf(m->original, sizeof(m->original), "%s", current);
	}
	enforce_write_settle(writer, m, text,
			     enforce_write_journaled(writer, m->file, text));
}

int enforce_write_put_back(struct enforce_writer *writer,
			   struct managed_file *m, uint64_t now_ms)
{
	char current[CGROUP_VALUE_LEN];
	int err;

	err = enforce_value_read_owned(m->file, m->cgroup, current,
				       sizeof(current));
	if (err == -ENOENT) {
		/* The cgroup (or task, or domain, or IRQ) went away with
		 * what we set in it. */
		log_info("%s %s: gone with what was set in it; nothing to "
			 "undo",
			 m->cgroup, policy_knob_name(m->knob));
		journal_record_done(&writer->journal, m->file, "released");
		m->active = false;
		return 0;
	}
	if (err)
		return err;
	if (strcmp(current, m->written)) {
		enforce_write_let_go(writer, m, current, now_ms);
		return 0;
	}
	err = enforce_value_write(m->file, m->original);
	if (err) {
		enforce_write_failed(writer, m, "restoring", m->original, err);
		return err;
	}
	audit_event_entry(&writer->audit, writer->mode, AUDIT_RESTORE, "",
			  m->cgroup, policy_knob_name(m->knob),
			  enforce_value_entry(m->file), m->written, m->original,
			  "no longer needed");
	journal_record_done(&writer->journal, m->file, "restored");
	m->active = false;
	m->written[0] = '\0';
	return 0;
}

size_t enforce_write_forget_idle(void *items, size_t count, size_t item_size,
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
