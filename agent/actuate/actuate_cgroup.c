// SPDX-License-Identifier: GPL-2.0-only
/*
 * cgroup files for the cpu controller, v1 (cpu.shares, cpu.cfs_quota_us
 * over cpu.cfs_period_us) and v2 (cpu.weight, cpu.max "QUOTA PERIOD").
 * Paths are checked twice: lexically (no "..") and after realpath (no
 * symlink leads out of a root), and the file must sit on a cgroup file
 * system, so a configuration mistake cannot turn into a write to /etc.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>

#include "actuate/actuate_cgroup.h"
#include "actuate/value_file.h"

static bool has_option(const char *options, const char *name)
{
	size_t len = strlen(name);
	const char *at = options;

	while ((at = strstr(at, name))) {
		if ((at == options || at[-1] == ',') &&
		    (at[len] == ',' || at[len] == '\0'))
			return true;
		at += len;
	}
	return false;
}

/* Whether a cgroup2 root lists `controller` in cgroup.controllers. */
static bool v2_has_controller(const char *mount, const char *controller)
{
	char file[ENFORCE_PATH_LEN + 32], controllers[512];
	FILE *in;
	bool found = false;

	snprintf(file, sizeof(file), "%s/cgroup.controllers", mount);
	in = fopen(file, "re");
	if (!in)
		return false;
	if (fgets(controllers, sizeof(controllers), in)) {
		for (char *word = strtok(controllers, " \n"); word;
		     word = strtok(NULL, " \n"))
			found |= !strcmp(word, controller);
	}
	fclose(in);
	return found;
}

int cgroup_hierarchy_detect(const char *mountinfo, const char *v1_option,
			    const char *v2_controller, int *version,
			    char *mount_out, size_t mount_size)
{
	char line[4096], v2_mount[ENFORCE_PATH_LEN] = "";
	FILE *in = fopen(mountinfo, "re");

	*version = 0;
	if (!in)
		return -errno;
	while (fgets(line, sizeof(line), in)) {
		char mount[ENFORCE_PATH_LEN], fstype[32], super[1024];
		char *dash = strstr(line, " - ");

		/* "ID PARENT MAJ:MIN ROOT MOUNT OPTS [TAGS] - TYPE SRC SUPER" */
		if (!dash ||
		    sscanf(line, "%*s %*s %*s %*s %255s", mount) != 1 ||
		    sscanf(dash + 3, "%31s %*s %1023s", fstype, super) != 2)
			continue;
		if (!strcmp(fstype, "cgroup") && has_option(super, v1_option)) {
			*version = 1;
			snprintf(mount_out, mount_size, "%s", mount);
			break;
		}
		if (!strcmp(fstype, "cgroup2") && !v2_mount[0])
			snprintf(v2_mount, sizeof(v2_mount), "%s", mount);
	}
	fclose(in);
	if (!*version && v2_mount[0] &&
	    v2_has_controller(v2_mount, v2_controller)) {
		*version = 2;
		snprintf(mount_out, mount_size, "%s", v2_mount);
	}
	return *version ? 0 : -ENOENT;
}

int cgroup_fs_detect(struct cgroup_fs *fs, const char *mountinfo)
{
	memset(fs, 0, sizeof(*fs));
	return cgroup_hierarchy_detect(mountinfo, "cpu", "cpu", &fs->version,
				       fs->mount, sizeof(fs->mount));
}

static const char *knob_file_name(const struct cgroup_fs *fs,
				  enum policy_knob knob)
{
	if (knob == POLICY_KNOB_CPU_WEIGHT)
		return fs->version == 1 ? "cpu.shares" : "cpu.weight";
	return fs->version == 1 ? "cpu.cfs_quota_us" : "cpu.max";
}

static bool on_cgroup_fs(const char *path)
{
	struct statfs st;

	if (statfs(path, &st))
		return false;
	return st.f_type == CGROUP_SUPER_MAGIC ||
	       st.f_type == CGROUP2_SUPER_MAGIC;
}

int cgroup_dir_checked(const char *mount, const struct enforce_config *enforce,
		       const char *cgroup_path, char *dir, size_t size)
{
	char joined[PATH_MAX], real[PATH_MAX], root_real[PATH_MAX];
	bool inside = false;

	if (!enforce_config_path_writable(enforce, cgroup_path))
		return strstr(cgroup_path, "..") ? -EINVAL : -EPERM;
	if (snprintf(joined, sizeof(joined), "%s%s", mount, cgroup_path) >=
	    (int)sizeof(joined))
		return -ENAMETOOLONG;
	if (!realpath(joined, real))
		return -errno;
	/* A symlink inside the hierarchy must not lead out of the root:
	 * compare real paths, the root's resolved the same way. */
	for (size_t i = 0; i < enforce->root_count && !inside; i++) {
		size_t len;

		snprintf(joined, sizeof(joined), "%s%s", mount,
			 enforce->roots[i]);
		if (!realpath(joined, root_real))
			continue;
		len = strlen(root_real);
		inside = !strncmp(real, root_real, len) &&
			 (real[len] == '\0' || real[len] == '/');
	}
	if (!inside)
		return -EPERM;
	if (!on_cgroup_fs(real))
		return -EPERM;
	if (snprintf(dir, size, "%s", real) >= (int)size)
		return -ENAMETOOLONG;
	return 0;
}

int cgroup_knob_file(const struct cgroup_fs *fs,
		     const struct enforce_config *enforce,
		     const char *cgroup_path, enum policy_knob knob, char *file,
		     size_t size)
{
	char dir[PATH_MAX];
	int err;

	if (!fs->version)
		return -ENOENT;
	err = cgroup_dir_checked(fs->mount, enforce, cgroup_path, dir,
				 sizeof(dir));
	if (err)
		return err;
	if (snprintf(file, size, "%s/%s", dir, knob_file_name(fs, knob)) >=
	    (int)size)
		return -ENAMETOOLONG;
	return 0;
}

int cgroup_file_read(const char *file, char *value, size_t size)
{
	return value_file_read(file, value, size);
}

int cgroup_file_write(const char *file, const char *value)
{
	int err;

	if (!on_cgroup_fs(file))
		return -EPERM;
	err = value_file_write(file, value);
	return err ? err : value_file_check(file, value);
}

/* cpu.cfs_period_us next to a v1 quota file; the default when unreadable
 * (the quota is then still a sane share of the default period). */
static uint64_t v1_period_us(const char *quota_file)
{
	char file[PATH_MAX], text[CGROUP_VALUE_LEN];
	const char *slash = strrchr(quota_file, '/');
	unsigned long long period;

	if (!slash || snprintf(file, sizeof(file), "%.*s/cpu.cfs_period_us",
			       (int)(slash - quota_file),
			       quota_file) >= (int)sizeof(file))
		return CGROUP_DEFAULT_PERIOD_US;
	if (cgroup_file_read(file, text, sizeof(text)) ||
	    sscanf(text, "%llu", &period) != 1 || !period)
		return CGROUP_DEFAULT_PERIOD_US;
	return period;
}

int cgroup_knob_text(const struct cgroup_fs *fs, const char *cgroup_file,
		     enum policy_knob knob, uint32_t value, const char *current,
		     char *text, size_t size)
{
	unsigned long long period = CGROUP_DEFAULT_PERIOD_US, quota;

	if (knob == POLICY_KNOB_CPU_WEIGHT) {
		uint64_t shares = (uint64_t)value * 1024 / 100;

		/* v1 shares 2..262144; v2 weight 1..10000. */
		if (fs->version == 1)
			snprintf(text, size, "%" PRIu64,
				 shares < 2	 ? 2 :
				 shares > 262144 ? 262144 :
						   shares);
		else
			snprintf(text, size, "%u",
				 value < 1     ? 1 :
				 value > 10000 ? 10000 :
						 value);
		return 0;
	}
	if (fs->version == 1)
		period = v1_period_us(cgroup_file);
	else if (sscanf(current, "%*s %llu", &period) != 1 || !period)
		return -EINVAL;
	quota = period * value / 100;
	if (quota < CGROUP_MIN_QUOTA_US)
		quota = CGROUP_MIN_QUOTA_US;
	if (fs->version == 1)
		snprintf(text, size, "%llu", quota);
	else
		snprintf(text, size, "%llu %llu", quota, period);
	return 0;
}

/* cpu.stat's nr_throttled in `dir`, 0 when unreadable. */
unsigned long long cgroup_nr_throttled(const char *dir)
{
	char stat_file[PATH_MAX], line[128];
	unsigned long long throttled = 0;
	FILE *in;

	snprintf(stat_file, sizeof(stat_file), "%s/cpu.stat", dir);
	in = fopen(stat_file, "re");
	if (!in)
		return 0;
	while (fgets(line, sizeof(line), in))
		if (sscanf(line, "nr_throttled %llu", &throttled) == 1)
			break;
	fclose(in);
	return throttled;
}

unsigned long long cgroup_nr_throttled_children(const char *dir)
{
	char child[PATH_MAX + 256];
	unsigned long long sum = 0;
	struct dirent *entry;
	DIR *listing;

	listing = opendir(dir);
	if (!listing)
		return 0;
	while ((entry = readdir(listing)))
		if (entry->d_type == DT_DIR && entry->d_name[0] != '.') {
			snprintf(child, sizeof(child), "%s/%s", dir,
				 entry->d_name);
			sum += cgroup_nr_throttled(child);
		}
	closedir(listing);
	return sum;
}
