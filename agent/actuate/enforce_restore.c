// SPDX-License-Identifier: GPL-2.0-only
/*
 * Replaying the journal to undo what a run left in force. Apart from the
 * enforcement loop because `kvmwarden restore` runs it with no enforcer:
 * each entry's value is read and written through enforce_value.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actuate/enforce_restore.h"
#include "actuate/enforce_value.h"
#include "base/log.h"

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
		err = enforce_value_read_owned(e->file, e->cgroup, current,
					       sizeof(current));
		if (err == -ENOENT) {
			log_info("%s %s: gone with what was set in it; "
				 "nothing to undo",
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
			audit_event_entry(audit, mode, AUDIT_OUTSIDE_CHANGE, "",
					  e->cgroup, e->knob,
					  enforce_value_entry(e->file),
					  e->value, current,
					  "changed by someone else since; left "
					  "as it is");
			journal_record_done(journal, e->file, "released");
			continue;
		}
		if (!err && strcmp(current, e->original))
			err = enforce_value_write(e->file, e->original);
		if (err) {
			char reason[128];

			snprintf(reason, sizeof(reason), "restoring failed: %s",
				 strerror(-err));
			audit_event_entry(audit, mode, AUDIT_WRITE_FAILED, "",
					  e->cgroup, e->knob,
					  enforce_value_entry(e->file), current,
					  e->original, reason);
			(*left)++;
			continue;
		}
		audit_event_entry(audit, mode, AUDIT_RESTORE, "", e->cgroup,
				  e->knob, enforce_value_entry(e->file),
				  current, e->original,
				  "restored from the journal");
		journal_record_done(journal, e->file, "restored");
		(*restored)++;
	}
	free(entries);
	if (!*left)
		return journal_clear(journal);
	return 0;
}
