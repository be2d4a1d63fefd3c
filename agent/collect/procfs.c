// SPDX-License-Identifier: GPL-2.0-only
/*
 * /proc and cgroup parsing for VMM identification and thread classes. The
 * parsers take buffers and never trust them; the readers only open, read and
 * hand over. Deciding what to track, and any logging, belongs to callers.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect/procfs.h"

/* Large enough for any stat or cgroup file the kernel writes today (a v1
 * cgroup file with every controller is under 2 KiB). */
#define SMALL_FILE_BYTES 16384
/* libvirt QEMU command lines run to 10-30 KiB; anything past this is cut at
 * the last whole argument rather than parsed as a shorter value. */
#define CMDLINE_MAX_BYTES (256 * 1024)

static int vanished_or(int neg_errno)
{
	/* ESRCH comes from reading files of a task that exited after open. */
	return neg_errno == -ESRCH ? -ENOENT : neg_errno;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Decimal digits at *pos (at least one) not above max; advances *pos. */
static int parse_decimal(const char **pos, uint64_t max, uint64_t *value)
{
	const char *p = *pos;
	uint64_t sum = 0;

	if (!is_digit(*p))
		return -EINVAL;
	for (; is_digit(*p); p++) {
		unsigned int digit = (unsigned int)(*p - '0');

		if (digit > max || sum > (max - digit) / 10)
			return -EINVAL;
		sum = sum * 10 + digit;
	}
	*pos = p;
	*value = sum;
	return 0;
}

/* A whole string of digits as a positive int ("123", not "12a" or "0"). */
static int parse_id(const char *text, int *id)
{
	uint64_t value;

	if (parse_decimal(&text, INT_MAX, &value) || *text || value == 0)
		return -EINVAL;
	*id = (int)value;
	return 0;
}

/* prefix followed by digits up to the end: "vcpu12" with prefix "vcpu". */
static int parse_suffix_index(const char *text, size_t len, const char *prefix)
{
	size_t prefix_len = strlen(prefix);
	const char *p = text + prefix_len;
	uint64_t value;

	if (len <= prefix_len || strncmp(text, prefix, prefix_len) != 0)
		return -1;
	if (parse_decimal(&p, INT_MAX, &value) || p != text + len)
		return -1;
	return (int)value;
}

static int copy_string(char *out, size_t size, const char *in, size_t len)
{
	if (len >= size)
		return -ENAMETOOLONG;
	memcpy(out, in, len);
	out[len] = '\0';
	return 0;
}

static int task_path(char *buf, size_t size, const char *proc_root, int tgid,
		     int tid, const char *leaf)
{
	int written;

	if (!proc_root || tgid <= 0)
		return -EINVAL;
	if (tid > 0)
		written = snprintf(buf, size, "%s/%d/task/%d/%s", proc_root,
				   tgid, tid, leaf);
	else
		written =
			snprintf(buf, size, "%s/%d/%s", proc_root, tgid, leaf);
	if (written < 0 || (size_t)written >= size)
		return -ENAMETOOLONG;
	return 0;
}

/* Reads at most size - 1 bytes and NUL-terminates them. *full says the file
 * may hold more than was read. */
static int read_file(const char *path, char *buf, size_t size, size_t *len,
		     bool *full)
{
	size_t used = 0;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vanished_or(-errno);
	while (used < size - 1) {
		ssize_t got = read(fd, buf + used, size - 1 - used);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			err = vanished_or(-errno);
			goto cleanup;
		}
		if (got == 0)
			break;
		used += (size_t)got;
	}
	buf[used] = '\0';
	*len = used;
	if (full)
		*full = used == size - 1;
cleanup:
	close(fd);
	return err;
}

int procfs_parse_stat(const char *line, struct proc_stat *out)
{
	const char *pos, *open_paren, *close_paren;
	size_t comm_len;
	uint64_t value;

	memset(out, 0, sizeof(*out));
	if (!line)
		return -EINVAL;
	pos = line;
	if (parse_decimal(&pos, INT_MAX, &value) || value == 0)
		return -EINVAL;
	out->pid = (int)value;
	if (pos[0] != ' ' || pos[1] != '(')
		return -EINVAL;
	open_paren = pos + 1;
	/* The kernel does not escape comm, but no later field holds ')'. */
	close_paren = strrchr(open_paren, ')');
	if (!close_paren)
		return -EINVAL;
	comm_len = (size_t)(close_paren - open_paren - 1);
	if (comm_len >= sizeof(out->comm))
		comm_len = sizeof(out->comm) - 1;
	memcpy(out->comm, open_paren + 1, comm_len);
	out->comm[comm_len] = '\0';

	pos = close_paren + 1;
	if (pos[0] != ' ' || pos[1] == '\0' || pos[1] == ' ' || pos[2] != ' ')
		return -EINVAL;
	out->state = pos[1];
	pos += 2;
	/* Fields 4..39, each " [-]digits"; later fields vary by kernel. */
	for (int field = 4; field <= 39; field++) {
		bool negative;

		if (*pos != ' ')
			return -EINVAL;
		pos++;
		negative = *pos == '-';
		if (negative)
			pos++;
		if (parse_decimal(&pos, UINT64_MAX, &value))
			return -EINVAL;
		if (*pos != ' ' && *pos != '\n' && *pos != '\0')
			return -EINVAL;
		switch (field) {
		case 4:
		case 39:
			if (negative || value > INT_MAX)
				return -EINVAL;
			if (field == 4)
				out->ppid = (int)value;
			else
				out->processor = (int)value;
			break;
		case 9:
			if (negative || value > UINT_MAX)
				return -EINVAL;
			out->flags = (unsigned int)value;
			break;
		case 22:
			if (negative)
				return -EINVAL;
			out->start_ticks = value;
			break;
		}
	}
	return 0;
}

int procfs_read_stat(const char *proc_root, int tgid, int tid,
		     struct proc_stat *out)
{
	char path[PROCFS_PATH_LEN], buf[SMALL_FILE_BYTES];
	size_t len;
	int err;

	memset(out, 0, sizeof(*out));
	err = task_path(path, sizeof(path), proc_root, tgid, tid, "stat");
	if (err)
		return err;
	err = read_file(path, buf, sizeof(buf), &len, NULL);
	if (err)
		return err;
	return procfs_parse_stat(buf, out);
}

/* One argument of a cmdline buffer; text is not NUL-terminated. */
struct cmdline_arg {
	const char *text;
	size_t len;
};

static bool cmdline_next(const char *buf, size_t len, size_t *offset,
			 struct cmdline_arg *arg)
{
	const char *nul;

	if (*offset >= len)
		return false;
	arg->text = buf + *offset;
	nul = memchr(arg->text, '\0', len - *offset);
	arg->len = nul ? (size_t)(nul - arg->text) : len - *offset;
	*offset += arg->len + 1;
	return true;
}

static bool arg_is(const struct cmdline_arg *arg, const char *word)
{
	return arg->len == strlen(word) &&
	       memcmp(arg->text, word, arg->len) == 0;
}

/* Copies what fits: a shortened guest name still tells guests apart better
 * than none, and is what the operator sees first. */
static void copy_truncated(char *out, size_t size, const char *in, size_t len)
{
	if (len >= size)
		len = size - 1;
	memcpy(out, in, len);
	out[len] = '\0';
}

static enum vmm_kind vmm_kind_from_argv0(const struct cmdline_arg *argv0)
{
	static const char qemu_prefix[] = "qemu-system-";
	const char *slash = memrchr(argv0->text, '/', argv0->len);
	struct cmdline_arg base = *argv0;

	if (slash) {
		base.text = slash + 1;
		base.len = argv0->len - (size_t)(base.text - argv0->text);
	}
	if (base.len > sizeof(qemu_prefix) - 1 &&
	    memcmp(base.text, qemu_prefix, sizeof(qemu_prefix) - 1) == 0)
		return VMM_QEMU;
	if (arg_is(&base, "qemu-kvm"))
		return VMM_QEMU;
	if (arg_is(&base, "firecracker"))
		return VMM_FIRECRACKER;
	if (arg_is(&base, "cloud-hypervisor"))
		return VMM_CLOUD_HYPERVISOR;
	if (arg_is(&base, "crosvm"))
		return VMM_CROSVM;
	return VMM_UNKNOWN;
}

/* Reads a QEMU option value starting at *pos up to a single ',' (",," is a
 * literal comma), into out when out is not NULL. Leaves *pos past the ','. */
static void qemu_opt_value(const char *opts, size_t len, size_t *pos, char *out,
			   size_t size)
{
	size_t used = 0, p = *pos;

	while (p < len) {
		char c = opts[p];

		if (c == ',' && (p + 1 >= len || opts[p + 1] != ',')) {
			p++;
			break;
		}
		p += c == ',' ? 2 : 1;
		if (out && used + 1 < size)
			out[used++] = c;
	}
	if (out)
		out[used] = '\0';
	*pos = p;
}

/* "-name" takes "guest=NAME,debug-threads=on" or an implied "NAME,k=v",
 * exactly as QEMU's option parser splits it (the first element without '='
 * is the value of the implied key "guest"). */
static void qemu_name_from_opts(const struct cmdline_arg *opts, char *name,
				size_t size)
{
	size_t pos = 0;
	bool first = true;

	while (pos < opts->len) {
		size_t key_len = 0;
		bool has_value, is_guest;

		while (pos + key_len < opts->len &&
		       opts->text[pos + key_len] != '=' &&
		       opts->text[pos + key_len] != ',')
			key_len++;
		has_value = pos + key_len < opts->len &&
			    opts->text[pos + key_len] == '=';
		if (first && !has_value) {
			is_guest = true;
		} else if (has_value) {
			is_guest = key_len == 5 &&
				   memcmp(opts->text + pos, "guest", 5) == 0;
			pos += key_len + 1;
		} else {
			/* A bare flag such as "debug-threads": no value. */
			pos += key_len + 1;
			first = false;
			continue;
		}
		qemu_opt_value(opts->text, opts->len, &pos,
			       is_guest ? name : NULL, size);
		first = false;
	}
}

/* QEMU accepts only the canonical 8-4-4-4-12 hex form. */
static bool is_canonical_uuid(const struct cmdline_arg *arg)
{
	if (arg->len != 36)
		return false;
	for (size_t i = 0; i < arg->len; i++) {
		char c = arg->text[i];
		bool dash_slot = i == 8 || i == 13 || i == 18 || i == 23;
		bool hex = is_digit(c) || (c >= 'a' && c <= 'f') ||
			   (c >= 'A' && c <= 'F');

		if (dash_slot ? c != '-' : !hex)
			return false;
	}
	return true;
}

/* Which identity field an option fills with the argument after it. */
enum cmdline_field { FIELD_NONE, FIELD_QEMU_NAME, FIELD_UUID, FIELD_ID };

static enum cmdline_field cmdline_option(enum vmm_kind kind,
					 const struct cmdline_arg *arg)
{
	/* QEMU accepts every option with one dash or two. */
	if (kind == VMM_QEMU && (arg_is(arg, "-name") || arg_is(arg, "--name")))
		return FIELD_QEMU_NAME;
	if (kind == VMM_QEMU && (arg_is(arg, "-uuid") || arg_is(arg, "--uuid")))
		return FIELD_UUID;
	if (kind == VMM_FIRECRACKER && arg_is(arg, "--id"))
		return FIELD_ID;
	return FIELD_NONE;
}

int procfs_parse_cmdline(const char *buf, size_t len, struct vmm_identity *out)
{
	struct cmdline_arg arg, value;
	enum cmdline_field field;
	size_t offset = 0;

	memset(out, 0, sizeof(*out));
	if (!buf || !cmdline_next(buf, len, &offset, &arg))
		return -EINVAL;
	out->kind = vmm_kind_from_argv0(&arg);
	while (cmdline_next(buf, len, &offset, &arg)) {
		if (out->kind == VMM_FIRECRACKER && arg.len >= 5 &&
		    memcmp(arg.text, "--id=", 5) == 0) {
			copy_truncated(out->name, sizeof(out->name),
				       arg.text + 5, arg.len - 5);
			continue;
		}
		field = cmdline_option(out->kind, &arg);
		if (field == FIELD_NONE)
			continue;
		/* A trailing option without its value names nothing. */
		if (!cmdline_next(buf, len, &offset, &value))
			break;
		if (field == FIELD_QEMU_NAME)
			qemu_name_from_opts(&value, out->name,
					    sizeof(out->name));
		else if (field == FIELD_ID)
			copy_truncated(out->name, sizeof(out->name), value.text,
				       value.len);
		else if (is_canonical_uuid(&value))
			copy_truncated(out->uuid, sizeof(out->uuid), value.text,
				       value.len);
	}
	return 0;
}

int procfs_read_cmdline(const char *proc_root, int tgid,
			struct vmm_identity *out)
{
	char path[PROCFS_PATH_LEN], *buf = NULL;
	size_t len;
	bool full;
	int err;

	memset(out, 0, sizeof(*out));
	err = task_path(path, sizeof(path), proc_root, tgid, 0, "cmdline");
	if (err)
		return err;
	buf = malloc(CMDLINE_MAX_BYTES);
	if (!buf)
		return -ENOMEM;
	err = read_file(path, buf, CMDLINE_MAX_BYTES, &len, &full);
	if (err)
		goto cleanup;
	if (full) {
		/* Drop the cut-off last argument: "-name gu" must not become
		 * a guest called "gu". */
		const char *last_nul = memrchr(buf, '\0', len);

		len = last_nul ? (size_t)(last_nul - buf) + 1 : 0;
	}
	err = procfs_parse_cmdline(buf, len, out);
cleanup:
	free(buf);
	return err;
}

static int hex_value(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int systemd_unescape(const char *in, char *out, size_t size)
{
	size_t used = 0;
	bool too_long = false;

	if (!in || !out || size == 0)
		return -EINVAL;
	out[0] = '\0';
	for (const char *p = in; *p;) {
		int byte = (unsigned char)*p;

		if (*p == '\\') {
			/* Each of p[1..3] is read only once the byte before it
			 * proved not to be the terminating NUL. */
			int high = p[1] == 'x' ? hex_value(p[2]) : -1;
			int low = high >= 0 ? hex_value(p[3]) : -1;

			if (low < 0 || (high == 0 && low == 0))
				goto malformed;
			byte = high * 16 + low;
			p += 4;
		} else {
			p++;
		}
		/* Keep scanning when out is full: a malformed escape later
		 * on is the more useful error. */
		if (used + 1 >= size)
			too_long = true;
		else
			out[used++] = (char)byte;
	}
	if (too_long) {
		out[0] = '\0';
		return -ENAMETOOLONG;
	}
	out[used] = '\0';
	return 0;
malformed:
	out[0] = '\0';
	return -EINVAL;
}

/* Next '/'-separated component at *cursor, or NULL at the end. */
static const char *next_component(const char **cursor, size_t *len)
{
	const char *start = *cursor;

	while (*start == '/')
		start++;
	if (!*start)
		return NULL;
	*cursor = strchrnul(start, '/');
	*len = (size_t)(*cursor - start);
	return start;
}

static bool has_affix(const char *text, size_t len, const char *prefix,
		      const char *suffix)
{
	size_t prefix_len = strlen(prefix), suffix_len = strlen(suffix);

	return len >= prefix_len + suffix_len &&
	       memcmp(text, prefix, prefix_len) == 0 &&
	       memcmp(text + len - suffix_len, suffix, suffix_len) == 0;
}

/* "qemu-N-NAME" -> NAME. Without the prefix, NAME is the whole machine name
 * only where the layout allows it (libvirt's older v1 "NAME.libvirt-qemu"). */
static int strip_qemu_prefix(const char *machine, bool prefix_optional,
			     char *name, size_t size)
{
	const char *id = machine;
	uint64_t domain_id;
	bool prefixed = false;

	if (strncmp(machine, "qemu-", 5) == 0) {
		id = machine + 5;
		prefixed = parse_decimal(&id, UINT64_MAX, &domain_id) == 0 &&
			   *id == '-';
	}
	if (prefixed)
		machine = id + 1;
	else if (!prefix_optional)
		return -ENOENT;
	if (!*machine)
		return -EINVAL;
	return copy_string(name, size, machine, strlen(machine));
}

/* The domain name if this one component is a libvirt QEMU machine. */
static int libvirt_machine_component(const char *comp, size_t len, char *name,
				     size_t size)
{
	static const char v1_suffix[] = ".libvirt-qemu";
	static const char scope_prefix[] = "machine-",
			  scope_suffix[] = ".scope";
	char raw[PROCFS_PATH_LEN], machine[PROCFS_PATH_LEN];
	size_t raw_len;
	int err;

	if (has_affix(comp, len, "", v1_suffix)) {
		if (copy_string(machine, sizeof(machine), comp,
				len - (sizeof(v1_suffix) - 1)))
			return -EINVAL;
		return strip_qemu_prefix(machine, true, name, size);
	}
	/* systemd-machined names the scope "machine-" + escaped name. */
	if (!has_affix(comp, len, scope_prefix, scope_suffix))
		return -ENOENT;
	raw_len = len - (sizeof(scope_prefix) - 1) - (sizeof(scope_suffix) - 1);
	if (copy_string(raw, sizeof(raw), comp + sizeof(scope_prefix) - 1,
			raw_len))
		return -EINVAL;
	err = systemd_unescape(raw, machine, sizeof(machine));
	if (err)
		return -EINVAL;
	return strip_qemu_prefix(machine, false, name, size);
}

/* Finds the machine component; *rest points just past it. */
static int libvirt_machine_split(const char *path, char *name, size_t size,
				 const char **rest)
{
	const char *cursor = path, *comp;
	size_t len;
	int err;

	if (!path || path[0] != '/' || !name || size == 0)
		return -EINVAL;
	name[0] = '\0';
	while ((comp = next_component(&cursor, &len))) {
		err = libvirt_machine_component(comp, len, name, size);
		if (err != -ENOENT) {
			*rest = cursor;
			return err;
		}
	}
	return -ENOENT;
}

int cgroup_libvirt_name(const char *cgroup_path, char *name, size_t size)
{
	const char *rest;

	return libvirt_machine_split(cgroup_path, name, size, &rest);
}

int procfs_libvirt_thread_kind(const char *cgroup_path, enum thread_kind *kind,
			       int *index)
{
	char name[PROCFS_PATH_LEN];
	const char *rest, *leaf, *extra;
	size_t leaf_len, extra_len;
	int vcpu, iothread, err;

	err = libvirt_machine_split(cgroup_path, name, sizeof(name), &rest);
	if (err)
		return err;
	leaf = next_component(&rest, &leaf_len);
	/* cgroup v2 puts libvirt's sub-cgroups under a "libvirt" child,
	 * because a v2 cgroup holding processes cannot have children. */
	if (leaf && leaf_len == 7 && memcmp(leaf, "libvirt", 7) == 0)
		leaf = next_component(&rest, &leaf_len);
	extra = next_component(&rest, &extra_len);
	if (!leaf || extra)
		return -ENOENT;
	vcpu = parse_suffix_index(leaf, leaf_len, "vcpu");
	iothread = parse_suffix_index(leaf, leaf_len, "iothread");
	if (leaf_len == 8 && memcmp(leaf, "emulator", 8) == 0) {
		*kind = THREAD_EMULATOR;
		*index = -1;
	} else if (vcpu >= 0) {
		*kind = THREAD_VCPU;
		*index = vcpu;
	} else if (iothread >= 0) {
		*kind = THREAD_IOTHREAD;
		*index = iothread;
	} else {
		return -ENOENT;
	}
	return 0;
}

/* Does the comma-separated controller list hold exactly this name? */
static bool has_controller(const char *list, size_t len, const char *want)
{
	size_t want_len = strlen(want), pos = 0;

	while (pos < len) {
		const char *comma = memchr(list + pos, ',', len - pos);
		size_t item_len = comma ? (size_t)(comma - list) - pos :
					  len - pos;

		if (item_len == want_len &&
		    memcmp(list + pos, want, want_len) == 0)
			return true;
		pos += item_len + 1;
	}
	return false;
}

/* Lines are "ID:CONTROLLERS:PATH"; PATH may itself hold ':'. */
int procfs_parse_cgroup(const char *contents, char *path, size_t size)
{
	/* In order of preference; PICK_NONE counts them. */
	enum { PICK_UNIFIED, PICK_CPU, PICK_SYSTEMD, PICK_ROOT, PICK_NONE };
	const char *found[PICK_NONE] = { NULL }, *line = contents;
	size_t found_len[PICK_NONE] = { 0 };

	if (!contents || !path || size == 0)
		return -EINVAL;
	path[0] = '\0';
	if (!*contents)
		return -EINVAL;
	while (*line) {
		const char *end = strchrnul(line, '\n'), *pos = line;
		const char *controllers, *colon, *cgroup;
		size_t controllers_len, cgroup_len;
		uint64_t hierarchy;
		int choice;

		if (end == line) {
			line++;
			continue;
		}
		if (parse_decimal(&pos, INT_MAX, &hierarchy) || *pos != ':')
			return -EINVAL;
		controllers = pos + 1;
		colon = memchr(controllers, ':', (size_t)(end - controllers));
		if (!colon || colon + 1 == end || colon[1] != '/')
			return -EINVAL;
		controllers_len = (size_t)(colon - controllers);
		cgroup = colon + 1;
		cgroup_len = (size_t)(end - cgroup);
		if (hierarchy == 0 && controllers_len == 0)
			choice = cgroup_len == 1 ? PICK_ROOT : PICK_UNIFIED;
		else if (has_controller(controllers, controllers_len, "cpu"))
			choice = PICK_CPU;
		else if (has_controller(controllers, controllers_len,
					"name=systemd"))
			choice = PICK_SYSTEMD;
		else
			choice = PICK_NONE;
		if (choice != PICK_NONE) {
			found[choice] = cgroup;
			found_len[choice] = cgroup_len;
		}
		line = *end ? end + 1 : end;
	}
	for (int choice = 0; choice < PICK_NONE; choice++) {
		if (found[choice])
			return copy_string(path, size, found[choice],
					   found_len[choice]);
	}
	return -ENODATA;
}

int procfs_read_cgroup(const char *proc_root, int tgid, int tid, char *path,
		       size_t size)
{
	char file[PROCFS_PATH_LEN], buf[SMALL_FILE_BYTES];
	size_t len;
	int err;

	if (path && size)
		path[0] = '\0';
	err = task_path(file, sizeof(file), proc_root, tgid, tid, "cgroup");
	if (err)
		return err;
	err = read_file(file, buf, sizeof(buf), &len, NULL);
	if (err)
		return err;
	return procfs_parse_cgroup(buf, path, size);
}

enum thread_kind procfs_classify_thread(enum vmm_kind kind, int tgid, int tid,
					const char *comm,
					const char *cgroup_path)
{
	enum thread_kind libvirt_kind = THREAD_OTHER;
	int index;

	if (tid == tgid)
		return THREAD_EMULATOR;
	/* Since Linux 6.4 vhost workers are threads of the VMM process,
	 * named "vhost-<pid of the owner>". */
	if (comm && parse_suffix_index(comm, strlen(comm), "vhost-") >= 0)
		return THREAD_VHOST;
	/* QEMU names iothreads "IO <id>" when debug-threads=on. */
	if (kind == VMM_QEMU && comm && strncmp(comm, "IO ", 3) == 0)
		return THREAD_IOTHREAD;
	/* libvirt's "emulator" cgroup also holds QEMU's worker threads, so
	 * only the iothread leaf says something here. */
	if (cgroup_path &&
	    procfs_libvirt_thread_kind(cgroup_path, &libvirt_kind, &index))
		libvirt_kind = THREAD_OTHER;
	return libvirt_kind == THREAD_IOTHREAD ? THREAD_IOTHREAD : THREAD_OTHER;
}

static int vcpu_index_from_comm(enum vmm_kind kind, const char *comm)
{
	size_t len = strlen(comm);
	bool any = kind == VMM_UNKNOWN;
	int index = -1;

	if ((any || kind == VMM_QEMU) && strncmp(comm, "CPU ", 4) == 0) {
		/* "CPU N/KVM": only KVM vCPUs, not TCG ones. */
		const char *slash = strchr(comm, '/');

		if (slash && strcmp(slash, "/KVM") == 0)
			index = parse_suffix_index(comm, (size_t)(slash - comm),
						   "CPU ");
	}
	if (index < 0 && (any || kind == VMM_FIRECRACKER)) {
		index = parse_suffix_index(comm, len, "fc_vcpu ");
		if (index < 0)
			index = parse_suffix_index(comm, len, "fc_vcpu_");
	}
	if (index < 0 && (any || kind == VMM_CLOUD_HYPERVISOR))
		index = parse_suffix_index(comm, len, "vcpu");
	if (index < 0 && (any || kind == VMM_CROSVM)) {
		index = parse_suffix_index(comm, len, "crosvm_vcpu");
		if (index < 0)
			index = parse_suffix_index(comm, len, "crosvm_vcpu ");
	}
	return index;
}

int procfs_vcpu_index_from_name(enum vmm_kind kind, const char *comm,
				const char *cgroup_path)
{
	enum thread_kind libvirt_kind;
	int index = -1;

	if (comm)
		index = vcpu_index_from_comm(kind, comm);
	if (index >= 0)
		return index;
	if (!cgroup_path ||
	    procfs_libvirt_thread_kind(cgroup_path, &libvirt_kind, &index))
		return -1;
	return libvirt_kind == THREAD_VCPU ? index : -1;
}

int procfs_scan_kvm_fds(const char *proc_root, int tgid, int *has_vm)
{
	char dir_path[PROCFS_PATH_LEN], target[PROCFS_PATH_LEN];
	struct dirent *entry;
	int vcpu_fds = 0, err;
	DIR *dir;

	if (has_vm)
		*has_vm = 0;
	err = task_path(dir_path, sizeof(dir_path), proc_root, tgid, 0, "fd");
	if (err)
		return err;
	dir = opendir(dir_path);
	if (!dir)
		return vanished_or(-errno);
	while ((entry = readdir(dir))) {
		ssize_t len = readlinkat(dirfd(dir), entry->d_name, target,
					 sizeof(target) - 1);

		/* "." and ".." are no links, and an fd closed since readdir
		 * is simply not counted. */
		if (len < 0)
			continue;
		target[len] = '\0';
		if (strcmp(target, "anon_inode:kvm-vm") == 0 && has_vm)
			*has_vm = 1;
		/* Newer kernels append ":<vcpu id>"; older ones name all alike. */
		if (strcmp(target, "anon_inode:kvm-vcpu") == 0 ||
		    parse_suffix_index(target, (size_t)len,
				       "anon_inode:kvm-vcpu:") >= 0)
			vcpu_fds++;
	}
	closedir(dir);
	return vcpu_fds;
}

static int compare_ids(const void *a, const void *b)
{
	int left = *(const int *)a, right = *(const int *)b;

	return (left > right) - (left < right);
}

/* All positive numeric entries of a directory, sorted, in a new array. */
static int read_numeric_dir(const char *dir_path, int **ids_out)
{
	size_t count = 0, cap = 0;
	int *ids = NULL, err = 0;
	struct dirent *entry;
	DIR *dir;

	*ids_out = NULL;
	dir = opendir(dir_path);
	if (!dir)
		return vanished_or(-errno);
	for (;;) {
		int id;

		errno = 0;
		entry = readdir(dir);
		if (!entry) {
			err = vanished_or(-errno);
			break;
		}
		if (parse_id(entry->d_name, &id))
			continue;
		if (count == cap) {
			size_t new_cap = cap ? cap * 2 : 64;
			int *bigger = realloc(ids, new_cap * sizeof(*ids));

			if (!bigger) {
				err = -ENOMEM;
				break;
			}
			ids = bigger;
			cap = new_cap;
		}
		ids[count++] = id;
	}
	closedir(dir);
	if (err || count > INT_MAX) {
		free(ids);
		return err ? err : -EOVERFLOW;
	}
	qsort(ids, count, sizeof(*ids), compare_ids);
	*ids_out = ids;
	return (int)count;
}

static int list_sorted(const char *dir_path, int *out, int max)
{
	int *ids, count;

	if (max < 0 || (max > 0 && !out))
		return -EINVAL;
	count = read_numeric_dir(dir_path, &ids);
	if (count < 0)
		return count;
	if (count > max)
		count = max;
	if (count > 0)
		memcpy(out, ids, (size_t)count * sizeof(*out));
	free(ids);
	return count;
}

int procfs_list_threads(const char *proc_root, int tgid, int *tids, int max)
{
	char dir_path[PROCFS_PATH_LEN];
	int err;

	err = task_path(dir_path, sizeof(dir_path), proc_root, tgid, 0, "task");
	if (err)
		return err;
	return list_sorted(dir_path, tids, max);
}

int procfs_list_pids(const char *proc_root, int *pids, int max)
{
	if (!proc_root)
		return -EINVAL;
	return list_sorted(proc_root, pids, max);
}

int procfs_find_vhost_kthreads(const char *proc_root, int tgid, int *out,
			       int max)
{
	char want[PROCFS_COMM_LEN];
	struct proc_stat stat;
	int *pids, count, found = 0;

	if (!proc_root || tgid <= 0 || max < 0 || (max > 0 && !out))
		return -EINVAL;
	snprintf(want, sizeof(want), "vhost-%d", tgid);
	count = read_numeric_dir(proc_root, &pids);
	if (count < 0)
		return count;
	for (int i = 0; i < count && found < max; i++) {
		/* Processes that vanish or look odd are not ours: skip. */
		if (procfs_read_stat(proc_root, pids[i], 0, &stat))
			continue;
		if ((stat.flags & PROCFS_PF_KTHREAD) &&
		    strcmp(stat.comm, want) == 0)
			out[found++] = pids[i];
	}
	free(pids);
	return found;
}

void procfs_escape_control(const char *in, char *out, size_t size)
{
	size_t used = 0;

	if (!size)
		return;
	for (; *in; in++) {
		unsigned char c = (unsigned char)*in;
		bool control = c < 0x20 || c == 0x7f;
		size_t need = control ? 4 : 1;

		if (used + need >= size)
			break;
		if (control)
			snprintf(out + used, 5, "\\x%02x", c);
		else
			out[used] = (char)c;
		used += need;
	}
	out[used] = '\0';
}

int procfs_read_uid(const char *proc_root, int tgid, uint32_t *uid)
{
	char path[PROCFS_PATH_LEN], line[256];
	unsigned long ids[4];
	int err = -EINVAL;
	FILE *in;

	err = task_path(path, sizeof(path), proc_root, tgid, 0, "status");
	if (err)
		return err;
	in = fopen(path, "re");
	if (!in)
		return -errno;
	err = -EINVAL;
	while (fgets(line, sizeof(line), in))
		if (sscanf(line, "Uid: %lu %lu %lu %lu", &ids[0], &ids[1],
			   &ids[2], &ids[3]) == 4) {
			err = ids[0] == ids[1] && ids[1] == ids[2] &&
					      ids[2] == ids[3] ?
				      0 :
				      -EPERM;
			*uid = (uint32_t)ids[0];
			break;
		}
	fclose(in);
	return err;
}
