// SPDX-License-Identifier: GPL-2.0-only
/*
 * The journal's file: one JSON object per line (json-c), appended with
 * O_APPEND and fsynced, so a crash at any point leaves whole lines and
 * every original value on disk before its file is changed. A torn last
 * line (power loss mid-write) is skipped on replay, never fatal.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "journal.h"

static int make_parent(const char *path)
{
	char dir[ENFORCE_PATH_LEN];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

int journal_open(struct journal *journal, const char *path)
{
	int err;

	journal->fd = -1;
	snprintf(journal->path, sizeof(journal->path), "%s", path);
	err = make_parent(path);
	if (err)
		return err;
	journal->fd = open(path,
			   O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
			   0600);
	if (journal->fd < 0)
		return -errno;
	if (flock(journal->fd, LOCK_EX | LOCK_NB)) {
		err = errno == EWOULDBLOCK ? -EBUSY : -errno;
		close(journal->fd);
		journal->fd = -1;
		return err;
	}
	return 0;
}

void journal_close(struct journal *journal)
{
	if (journal->fd >= 0)
		close(journal->fd); /* drops the lock */
	journal->fd = -1;
}

static int append(struct journal *journal, struct json_object *record)
{
	const char *text;
	size_t len;
	ssize_t wrote;
	char *line;
	int err = 0;

	json_object_object_add(record, "at",
			       json_object_new_int64((int64_t)time(NULL)));
	text = json_object_to_json_string_ext(record, JSON_C_TO_STRING_PLAIN);
	len = strlen(text);
	line = malloc(len + 2);
	if (!line) {
		json_object_put(record);
		return -ENOMEM;
	}
	memcpy(line, text, len);
	line[len] = '\n';
	/* One write per line: O_APPEND keeps lines whole between writers. */
	wrote = write(journal->fd, line, len + 1);
	if (wrote < 0)
		err = -errno;
	else if ((size_t)wrote != len + 1)
		err = -EIO;
	else if (fsync(journal->fd))
		err = -errno;
	free(line);
	json_object_put(record);
	return err;
}

static struct json_object *record(const char *op, const char *file)
{
	struct json_object *obj = json_object_new_object();

	json_object_object_add(obj, "op", json_object_new_string(op));
	json_object_object_add(obj, "file", json_object_new_string(file));
	return obj;
}

int journal_record_before(struct journal *journal, const char *file,
			  const char *cgroup, const char *knob,
			  const char *original, const char *victim)
{
	struct json_object *obj = record("before", file);

	json_object_object_add(obj, "cgroup", json_object_new_string(cgroup));
	json_object_object_add(obj, "knob", json_object_new_string(knob));
	json_object_object_add(obj, "value", json_object_new_string(original));
	json_object_object_add(obj, "victim", json_object_new_string(victim));
	return append(journal, obj);
}

int journal_record_want(struct journal *journal, const char *file,
			const char *value)
{
	struct json_object *obj = record("want", file);

	json_object_object_add(obj, "value", json_object_new_string(value));
	return append(journal, obj);
}

int journal_record_set(struct journal *journal, const char *file,
		       const char *value)
{
	struct json_object *obj = record("set", file);

	json_object_object_add(obj, "value", json_object_new_string(value));
	return append(journal, obj);
}

int journal_record_done(struct journal *journal, const char *file,
			const char *how)
{
	return append(journal, record(how, file));
}

int journal_clear(struct journal *journal)
{
	if (ftruncate(journal->fd, 0) || fsync(journal->fd))
		return -errno;
	return 0;
}

static const char *field(struct json_object *obj, const char *key)
{
	struct json_object *value;

	if (!json_object_object_get_ex(obj, key, &value) ||
	    !json_object_is_type(value, json_type_string))
		return NULL;
	return json_object_get_string(value);
}

static struct journal_entry *find(struct journal_entry *entries, size_t count,
				  const char *file)
{
	for (size_t i = 0; i < count; i++)
		if (!strcmp(entries[i].file, file))
			return &entries[i];
	return NULL;
}

/* Applies one parsed line; false when it is not a journal record. */
static bool replay(struct json_object *obj, struct journal_entry **entries,
		   size_t *count, size_t *cap)
{
	const char *op = field(obj, "op"), *file = field(obj, "file");
	const char *value = field(obj, "value");
	struct journal_entry *entry;
	struct json_object *at;

	if (!op || !file)
		return false;
	entry = find(*entries, *count, file);
	if (!strcmp(op, "before")) {
		if (!value)
			return false;
		/* A second "before" while in force would be our own bug;
		 * the first original is the one to put back. */
		if (entry && entry->in_force)
			return true;
		if (!entry) {
			if (*count == *cap) {
				size_t grown = *cap ? *cap * 2 : 16;
				struct journal_entry *more = realloc(
					*entries, grown * sizeof(**entries));

				if (!more)
					return false;
				*entries = more;
				*cap = grown;
			}
			entry = &(*entries)[(*count)++];
		}
		memset(entry, 0, sizeof(*entry));
		snprintf(entry->file, sizeof(entry->file), "%s", file);
		snprintf(entry->cgroup, sizeof(entry->cgroup), "%s",
			 field(obj, "cgroup") ?: "");
		snprintf(entry->knob, sizeof(entry->knob), "%s",
			 field(obj, "knob") ?: "");
		snprintf(entry->victim, sizeof(entry->victim), "%s",
			 field(obj, "victim") ?: "");
		snprintf(entry->original, sizeof(entry->original), "%s", value);
		if (json_object_object_get_ex(obj, "at", &at))
			entry->since_unix_s =
				(uint64_t)json_object_get_int64(at);
		entry->in_force = true;
		return true;
	}
	if (!entry)
		return false;
	if (!strcmp(op, "set") && value) {
		snprintf(entry->value, sizeof(entry->value), "%s", value);
		entry->pending[0] = '\0';
	} else if (!strcmp(op, "want") && value)
		snprintf(entry->pending, sizeof(entry->pending), "%s", value);
	else if (!strcmp(op, "restored") || !strcmp(op, "released"))
		entry->in_force = false;
	else
		return false;
	return true;
}

int journal_load(const char *path, struct journal_entry **entries,
		 size_t *count, size_t *bad_lines)
{
	size_t cap = 0, bad = 0, line_cap = 0;
	char *line = NULL;
	ssize_t len;
	FILE *in;

	*entries = NULL;
	*count = 0;
	in = fopen(path, "re");
	if (!in) {
		if (bad_lines)
			*bad_lines = 0;
		return errno == ENOENT ? 0 : -errno;
	}
	while ((len = getline(&line, &line_cap, in)) > 0) {
		struct json_object *obj = json_tokener_parse(line);

		if (!obj || !replay(obj, entries, count, &cap))
			bad++;
		json_object_put(obj);
	}
	free(line);
	fclose(in);
	if (bad_lines)
		*bad_lines = bad;
	return 0;
}
