// SPDX-License-Identifier: GPL-2.0-only
/*
 * value_file.h: the open/read/write steps every one-line kernel file
 * shares. No path checks here: each backend refuses the paths it does not
 * own before it calls in.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "actuate/value_file.h"

int value_file_read(const char *file, char *value, size_t size)
{
	ssize_t got;
	int fd, err = 0;

	fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	got = read(fd, value, size - 1);
	if (got < 0) {
		err = -errno;
		goto out;
	}
	value[got] = '\0';
	value[strcspn(value, "\n")] = '\0';
out:
	close(fd);
	return err;
}

int value_file_write(const char *file, const char *value)
{
	size_t len = strlen(value);
	ssize_t wrote;
	int fd, err;

	fd = open(file, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* One write: a cgroup or sysfs file takes the value whole or not at
	 * all, so a short count means the kernel refused the rest. */
	wrote = write(fd, value, len);
	err = wrote < 0 ? -errno : (size_t)wrote != len ? -EIO : 0;
	close(fd);
	return err;
}

int value_file_check(const char *file, const char *value)
{
	char back[VALUE_FILE_LEN];
	int err = value_file_read(file, back, sizeof(back));

	if (err)
		return err;
	return strcmp(back, value) ? -EIO : 0;
}
