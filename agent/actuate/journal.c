// SPDX-License-Identifier: GPL-2.0-only
/*
 * The journal's file: one JSON object per line (json-c), appended with
 * O_APPEND and fsynced, so a crash at any point leaves whole lines and
 * every original value on disk before its file is changed. A torn last
 * line (power loss mid-write) is skipped on replay, never fatal; any other
 * unreadable line means the file is not (only) ours, so it is never
 * truncated or appended to unless the operator says so.
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

#include "actuate/journal.h"

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

/* A torn last line is what a crash in the middle of append()'s one write
 * leaves: the start of a record. Anything else without a newline at the
 * end (a text file's last line) is not ours. */
static bool record_prefix(const char *line, size_t len)
{
	static const char start[] = "{\"op\":\"";
	size_t n = len < sizeof(start) - 1 ? len : sizeof(start) - 1;

	return len > 0 && !memcmp(line, start, n);
}

static int load_stream(FILE *in, struct journal_entry **entries, size_t *count,
		       struct journal_damage *damage);

/* Reads the open journal from its start without moving what O_APPEND
 * writes (they always go to the end). */
static int inspect_fd(int fd, struct journal_damage *damage)
{
	struct journal_entry *entries = NULL;
	size_t count = 0;
	FILE *in;
	int copy, err;

	copy = dup(fd);
	if (copy < 0)
		return -errno;
	in = fdopen(copy, "r");
	if (!in) {
		err = -errno;
		close(copy);
		return err;
	}
	err = load_stream(in, &entries, &count, damage);
	free(entries);
	fclose(in);
	return err;
}

/* Beside the journal, before anything is done with a damaged one: the
 * operator asked to go on, not to lose what could not be read. */
static int keep_copy(struct journal *journal)
{
	char buf[4096];
	ssize_t got;
	int out = -1, err = 0;
	off_t at = 0;

	for (int attempt = 0; attempt < 100 && out < 0; attempt++) {
		snprintf(journal->copy_path, sizeof(journal->copy_path),
			 attempt ? "%s.unreadable-%lld-%d" :
				   "%s.unreadable-%lld",
			 journal->path, (long long)time(NULL), attempt);
		out = open(journal->copy_path,
			   O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
			   0600);
		if (out < 0 && errno != EEXIST)
			break;
	}
	if (out < 0) {
		err = -errno;
		goto cleanup;
	}
	while ((got = pread(journal->fd, buf, sizeof(buf), at)) > 0) {
		if (write(out, buf, (size_t)got) != got) {
			err = errno ? -errno : -EIO;
			goto cleanup;
		}
		at += got;
	}
	if (got < 0 || fsync(out))
		err = -errno;
cleanup:
	if (out >= 0)
		close(out);
	if (err) {
		if (out >= 0)
			unlink(journal->copy_path);
		journal->copy_path[0] = '\0';
	}
	return err;
}

int journal_open_flags(struct journal *journal, const char *path,
		       unsigned flags)
{
	struct journal_damage *damage = &journal->damage;
	struct stat st;
	int err;

	journal->fd = -1;
	memset(damage, 0, sizeof(*damage));
	journal->copy_path[0] = '\0';
	snprintf(journal->path, sizeof(journal->path), "%s", path);
	err = make_parent(path);
	if (err)
		return err;
	/* O_NONBLOCK: a FIFO planted at the path must not hang the agent;
	 * it is refused below like any file that is not a journal. */
	journal->fd = open(path,
			   O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC |
				   O_NOFOLLOW | O_NONBLOCK,
			   0600);
	if (journal->fd < 0)
		return -errno;
	if (fstat(journal->fd, &st)) {
		err = -errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		damage->not_regular = true;
		err = -EINVAL;
		goto fail;
	}
	if (flock(journal->fd, LOCK_EX | LOCK_NB)) {
		err = errno == EWOULDBLOCK ? -EBUSY : -errno;
		goto fail;
	}
	/* Only under the lock: another holder may be appending. */
	err = inspect_fd(journal->fd, damage);
	if (err)
		goto fail;
	if (damage->unreadable) {
		/* Without a single record it is some other file that was
		 * named by mistake: going on would erase it. */
		if (!(flags & JOURNAL_SKIP_UNREADABLE) || !damage->shaped) {
			err = -EBADMSG;
			goto fail;
		}
		err = keep_copy(journal);
		if (err)
			goto fail;
	}
	/* Cut a torn line off so the next record starts a line of its own
	 * instead of gluing itself to the fragment. */
	if (damage->torn_tail && (ftruncate(journal->fd, damage->whole_bytes) ||
				  fsync(journal->fd))) {
		err = -errno;
		goto fail;
	}
	return 0;
fail:
	close(journal->fd);
	journal->fd = -1;
	return err;
}

int journal_open(struct journal *journal, const char *path)
{
	return journal_open_flags(journal, path, 0);
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

static int load_stream(FILE *in, struct journal_entry **entries, size_t *count,
		       struct journal_damage *damage)
{
	size_t cap = 0, line_cap = 0, number = 0;
	char *line = NULL;
	ssize_t len;

	*entries = NULL;
	*count = 0;
	memset(damage, 0, sizeof(*damage));
	while ((len = getline(&line, &line_cap, in)) > 0) {
		bool whole = line[len - 1] == '\n';
		struct json_object *obj = NULL;
		bool ok;

		number++;
		/* json-c stops at a NUL and would read the line as its
		 * prefix; no record holds one. */
		if (!memchr(line, '\0', (size_t)len))
			obj = json_tokener_parse(line);
		ok = obj && whole && replay(obj, entries, count, &cap);
		/* Shaped like a record, even one that cannot be replayed (a
		 * "set" whose "before" was lost): a journal, if a damaged one. */
		if (obj && whole && field(obj, "op") && field(obj, "file"))
			damage->shaped++;
		json_object_put(obj);
		if (ok) {
			damage->records++;
			damage->whole_bytes += len;
		} else if (!whole && record_prefix(line, (size_t)len)) {
			/* getline returns a line without its newline only
			 * at the end of the file. */
			damage->torn_tail = true;
		} else {
			damage->unreadable++;
			if (!damage->first_unreadable_line)
				damage->first_unreadable_line = number;
			damage->whole_bytes += len;
		}
	}
	free(line);
	if (ferror(in)) {
		free(*entries);
		*entries = NULL;
		*count = 0;
		return -EIO;
	}
	return 0;
}

int journal_load_damage(const char *path, struct journal_entry **entries,
			size_t *count, struct journal_damage *damage)
{
	struct journal_damage ignored;
	FILE *in;
	int err;

	if (!damage)
		damage = &ignored;
	memset(damage, 0, sizeof(*damage));
	*entries = NULL;
	*count = 0;
	in = fopen(path, "re");
	if (!in)
		return errno == ENOENT ? 0 : -errno;
	err = load_stream(in, entries, count, damage);
	fclose(in);
	return err;
}

int journal_load(const char *path, struct journal_entry **entries,
		 size_t *count, size_t *bad_lines)
{
	struct journal_damage damage;
	int err = journal_load_damage(path, entries, count, &damage);

	if (bad_lines)
		*bad_lines = damage.unreadable + damage.torn_tail;
	return err;
}

int journal_check_file(const char *path, struct journal_damage *damage)
{
	struct journal_damage ignored;
	struct journal_entry *entries = NULL;
	size_t count = 0;
	struct stat st;
	FILE *in;
	int fd, err;

	if (!damage)
		damage = &ignored;
	memset(damage, 0, sizeof(*damage));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		close(fd);
		return err;
	}
	if (!S_ISREG(st.st_mode)) {
		damage->not_regular = true;
		close(fd);
		return -EINVAL;
	}
	in = fdopen(fd, "r");
	if (!in) {
		err = -errno;
		close(fd);
		return err;
	}
	err = load_stream(in, &entries, &count, damage);
	free(entries);
	fclose(in);
	if (!err && damage->unreadable)
		err = -EBADMSG;
	return err;
}

void journal_describe(const char *path, int err,
		      const struct journal_damage *damage, char *out,
		      size_t size)
{
	if (err == -EINVAL && damage->not_regular)
		snprintf(out, size,
			 "%s: not a regular file, so not a journal; left as it "
			 "is",
			 path);
	else if (err == -EBADMSG && !damage->shaped)
		snprintf(out, size,
			 "%s: line %zu is not a journal record, and no line "
			 "is: not a journal (another file named by mistake?); "
			 "left as it is",
			 path, damage->first_unreadable_line);
	else if (err == -EBADMSG)
		snprintf(
			out, size,
			"%s: line %zu is unreadable (%zu line%s cannot be "
			"replayed, which no crash leaves behind; %zu can): "
			"original values may be lost, so nothing is undone "
			"and the file is left as it is; after reading it, "
			"`kvmwarden restore --skip-unreadable` undoes what can "
			"be read and keeps a copy",
			path, damage->first_unreadable_line, damage->unreadable,
			damage->unreadable == 1 ? "" : "s", damage->records);
	else if (err == -EBUSY)
		snprintf(out, size, "%s: in use by another kvmwarden", path);
	else
		snprintf(out, size, "%s: %s", path, strerror(-err));
}
