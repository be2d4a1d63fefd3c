// SPDX-License-Identifier: GPL-2.0-only
/*
 * Per-device cgroup I/O files. v1: blkio.throttle.{read,write}_iops_device
 * ("MAJ:MIN N", 0 or no line: unlimited; writing "MAJ:MIN 0" removes the
 * rule) and blkio.weight or blkio.bfq.weight (one number, 1..1000). v2:
 * io.max ("MAJ:MIN rbps=.. wbps=.. riops=.. wiops=..", all "max" or no
 * line: unlimited) and io.weight ("MAJ:MIN N", "default" to drop it).
 * io.latency is not used: Debian's kernels do not build it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "actuate/actuate_io.h"
#include "actuate/value_file.h"

#define V2_MAX_NONE "rbps=max wbps=max riops=max wiops=max"
#define ENTRY_FILE_LEN 8192

int io_fs_detect(struct io_fs *fs, const char *mountinfo)
{
	memset(fs, 0, sizeof(*fs));
	return cgroup_hierarchy_detect(mountinfo, "blkio", "io", &fs->version,
				       fs->mount, sizeof(fs->mount));
}

static bool exists_in(const char *dir, const char *name)
{
	char file[PATH_MAX + 64];

	if (snprintf(file, sizeof(file), "%s/%s", dir, name) >=
	    (int)sizeof(file))
		return false;
	return !access(file, F_OK);
}

bool io_fs_has_weight(const struct io_fs *fs)
{
	/* The root cgroup has no weight file of its own: what it shows
	 * tells whether its children do. */
	if (fs->version == 1)
		return exists_in(fs->mount, "blkio.weight") ||
		       exists_in(fs->mount, "blkio.bfq.io_serviced");
	if (fs->version == 2)
		return exists_in(fs->mount, "io.cost.qos");
	return false;
}

int io_knob_files(const struct io_fs *fs,
		  const struct enforce_config *enforce, const char *cgroup,
		  const char *device, enum policy_knob knob,
		  char files[IO_MAX_FILES][ENFORCE_PATH_LEN + 32],
		  size_t *count)
{
	char dir[PATH_MAX];
	unsigned int major, minor;
	char tail;
	int err;

	*count = 0;
	if (!fs->version)
		return -ENOENT;
	if (sscanf(device, "%u:%u%c", &major, &minor, &tail) != 2)
		return -EINVAL;
	err = cgroup_dir_checked(fs->mount, enforce, cgroup, dir, sizeof(dir));
	if (err)
		return err;
	const size_t size = sizeof(files[0]);
	int len = 0;

	if (knob == POLICY_KNOB_IO_IOPS && fs->version == 1) {
		len = snprintf(files[0], size,
			       "%s/blkio.throttle.read_iops_device%c%s", dir,
			       IO_ENTRY_SEP, device);
		len |= snprintf(files[1], size,
				"%s/blkio.throttle.write_iops_device%c%s", dir,
				IO_ENTRY_SEP, device);
		*count = 2;
	} else if (knob == POLICY_KNOB_IO_IOPS) {
		len = snprintf(files[0], size, "%s/io.max%c%s", dir,
			       IO_ENTRY_SEP, device);
		*count = 1;
	} else if (knob == POLICY_KNOB_IO_WEIGHT && fs->version == 1) {
		/* One weight for every device: v1 has no per-device one
		 * that BFQ takes (weight_device is refused). */
		const char *name = exists_in(dir, "blkio.weight") ?
					   "blkio.weight" :
				   exists_in(dir, "blkio.bfq.weight") ?
					   "blkio.bfq.weight" :
					   NULL;

		if (!name)
			return -ENOENT;
		len = snprintf(files[0], size, "%s/%s", dir, name);
		*count = 1;
	} else if (knob == POLICY_KNOB_IO_WEIGHT) {
		if (!exists_in(dir, "io.weight"))
			return -ENOENT;
		len = snprintf(files[0], size, "%s/io.weight%c%s", dir,
			       IO_ENTRY_SEP, device);
		*count = 1;
	} else {
		return -EINVAL;
	}
	if (len < 0 || (size_t)len >= size) {
		*count = 0;
		return -ENAMETOOLONG;
	}
	return 0;
}

/* Replaces (or adds) "key=..." in a v2 io.max entry. */
static void set_field(char *entry, size_t size, const char *key,
		      const char *value)
{
	char out[CGROUP_VALUE_LEN] = "", copy[CGROUP_VALUE_LEN];
	size_t key_len = strlen(key);
	bool done = false;

	snprintf(copy, sizeof(copy), "%s", entry);
	for (char *w = strtok(copy, " "); w; w = strtok(NULL, " ")) {
		bool match = !strncmp(w, key, key_len) && w[key_len] == '=';

		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s",
			 out[0] ? " " : "", match ? "" : w);
		if (match) {
			snprintf(out + strlen(out), sizeof(out) - strlen(out),
				 "%s=%s", key, value);
			done = true;
		}
	}
	if (!done)
		snprintf(out + strlen(out), sizeof(out) - strlen(out),
			 "%s%s=%s", out[0] ? " " : "", key, value);
	snprintf(entry, size, "%s", out);
}

static const char *base_name(const char *file, char *base, size_t size)
{
	const char *slash = strrchr(file, '/');
	const char *name = slash ? slash + 1 : file;

	snprintf(base, size, "%.*s", (int)strcspn(name, "#"), name);
	return base;
}

int io_knob_text(const char *file, enum policy_knob knob, uint32_t value,
		 const char *current, char *text, size_t size)
{
	char base[64], number[16];

	base_name(file, base, sizeof(base));
	if (!strcmp(base, "io.max")) {
		snprintf(number, sizeof(number), "%u", value ? value : 1);
		snprintf(text, size, "%s", current);
		set_field(text, size, "riops", number);
		set_field(text, size, "wiops", number);
		return 0;
	}
	if (knob == POLICY_KNOB_IO_IOPS) {
		/* v1: 0 would mean no limit, so the least cap is 1. */
		snprintf(text, size, "%u", value ? value : 1);
		return 0;
	}
	if (!strcmp(base, "io.weight")) {
		snprintf(text, size, "%u",
			 value < 1 ? 1 : value > 10000 ? 10000 : value);
		return 0;
	}
	/* v1 (BFQ 1..1000, CFQ 10..1000) and v2 share the default 100: the
	 * same number is the same share, only the ceiling is lower. */
	snprintf(text, size, "%u",
		 value < 10 ? 10 : value > 1000 ? 1000 : value);
	return 0;
}

bool io_is_entry(const char *file)
{
	const char *sep = strrchr(file, IO_ENTRY_SEP);
	unsigned int major, minor;
	char tail;

	return sep && !strchr(sep, '/') &&
	       sscanf(sep + 1, "%u:%u%c", &major, &minor, &tail) == 2;
}

int io_entry_parse(const char *contents, const char *device,
		   const char *absent, char *value, size_t size)
{
	size_t len = strlen(device);

	for (const char *line = contents; *line;) {
		size_t line_len = strcspn(line, "\n");

		if (line_len > len && !strncmp(line, device, len) &&
		    line[len] == ' ') {
			snprintf(value, size, "%.*s", (int)(line_len - len - 1),
				 line + len + 1);
			return 0;
		}
		line += line_len;
		if (*line)
			line++;
	}
	snprintf(value, size, "%s", absent);
	return 0;
}

/* file "DIR/NAME#MAJ:MIN" into the real file and the device. */
static int split_entry(const char *file, char *path, size_t path_size,
		       char *device, size_t device_size)
{
	const char *sep = strrchr(file, IO_ENTRY_SEP);

	if (!sep || !io_is_entry(file))
		return -EINVAL;
	snprintf(path, path_size, "%.*s", (int)(sep - file), file);
	snprintf(device, device_size, "%s", sep + 1);
	return 0;
}

static const char *absent_value(const char *path)
{
	char base[64];

	base_name(path, base, sizeof(base));
	if (!strcmp(base, "io.max"))
		return V2_MAX_NONE;
	if (!strcmp(base, "io.weight"))
		return "default";
	return "0"; /* v1 throttle files */
}

int io_entry_read(const char *file, char *value, size_t size)
{
	char path[PATH_MAX], device[24];
	char *contents;
	ssize_t got;
	int fd, err;

	err = split_entry(file, path, sizeof(path), device, sizeof(device));
	if (err)
		return err;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	contents = malloc(ENTRY_FILE_LEN);
	if (!contents) {
		close(fd);
		return -ENOMEM;
	}
	got = read(fd, contents, ENTRY_FILE_LEN - 1);
	err = got < 0 ? -errno : 0;
	close(fd);
	if (!err) {
		contents[got] = '\0';
		err = io_entry_parse(contents, device, absent_value(path),
				     value, size);
	}
	free(contents);
	return err;
}

int io_entry_write(const char *file, const char *value)
{
	char path[PATH_MAX], device[24], line[CGROUP_VALUE_LEN + 32];
	char back[CGROUP_VALUE_LEN];
	struct statfs st;
	int err;

	err = split_entry(file, path, sizeof(path), device, sizeof(device));
	if (err)
		return err;
	if (statfs(path, &st) || (st.f_type != CGROUP_SUPER_MAGIC &&
				  st.f_type != CGROUP2_SUPER_MAGIC))
		return -EPERM;
	snprintf(line, sizeof(line), "%s %s", device, value);
	err = value_file_write(path, line);
	if (err)
		return err;
	err = io_entry_read(file, back, sizeof(back));
	if (err)
		return err;
	return strcmp(back, value) ? -EIO : 0;
}
