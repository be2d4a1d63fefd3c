// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reading /proc: a task's stat, cmdline, cgroup and status files, its fds
 * and the task and process listings. The readers only open, read and hand
 * over to the parsers (procfs_cmdline.c, libvirt_cgroup.c, thread_class.c);
 * deciding what to track, and any logging, belongs to callers.
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
#include "model/text_fields.h"

/* Large enough for any stat or cgroup file the kernel writes today (a v1
 * cgroup file with every controller is under 2 KiB). */
#define PROCFS_FILE_BYTES 16384
/* libvirt QEMU command lines run to 10-30 KiB; anything past this is cut at
 * the last whole argument rather than parsed as a shorter value. */
#define CMDLINE_MAX_BYTES (256 * 1024)

static int vanished_or(int neg_errno)
{
	/* ESRCH comes from reading files of a task that exited after open. */
	return neg_errno == -ESRCH ? -ENOENT : neg_errno;
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
	if (text_parse_decimal(&pos, INT_MAX, &value) || value == 0)
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
		if (text_parse_decimal(&pos, UINT64_MAX, &value))
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
	char path[PROCFS_PATH_LEN], buf[PROCFS_FILE_BYTES];
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
	err = procfs_cmdline_parse(buf, len, out);
cleanup:
	free(buf);
	return err;
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
		if (text_parse_decimal(&pos, INT_MAX, &hierarchy) ||
		    *pos != ':')
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
			return text_copy(path, size, found[choice],
					 found_len[choice]);
	}
	return -ENODATA;
}

int procfs_read_cgroup(const char *proc_root, int tgid, int tid, char *path,
		       size_t size)
{
	char file[PROCFS_PATH_LEN], buf[PROCFS_FILE_BYTES];
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
		    text_suffix_index(target, (size_t)len,
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
		if (text_parse_id(entry->d_name, &id))
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
