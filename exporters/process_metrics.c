// SPDX-License-Identifier: GPL-2.0-only
/*
 * The agent's own process figures, read from PROC_ROOT/self the way the
 * official Prometheus clients read them, so process_* metrics mean the
 * same here as for any other exporter.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/units.h"
#include "process_metrics.h"

/* /proc/self/stat is under 400 bytes and /proc/self/limits under 1.5 KiB;
 * /proc/stat grows with CPUs, and btime follows the per-CPU lines. */
#define SELF_FILE_BYTES 4096
#define PROC_STAT_BYTES (256 * 1024)

static int read_text(const char *path, char *buf, size_t size)
{
	size_t used = 0;
	ssize_t got;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (used + 1 < size) {
		got = read(fd, buf + used, size - 1 - used);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			err = -errno;
			break;
		}
		if (got == 0)
			break;
		used += (size_t)got;
	}
	buf[used] = '\0';
	close(fd);
	return err;
}

/* Field `wanted` (1-based, as in proc(5)) of a stat line, whose comm (field
 * 2) may hold spaces and ')': fields resume after the LAST ')'. */
static int stat_field(const char *line, int wanted, uint64_t *value)
{
	const char *p = strrchr(line, ')');
	char *end;

	if (!p || wanted < 3)
		return -EINVAL;
	p++;
	for (int field = 3; field <= wanted; field++) {
		while (*p == ' ')
			p++;
		if (!*p || *p == '\n')
			return -EINVAL;
		if (field == wanted)
			break;
		while (*p && *p != ' ' && *p != '\n')
			p++;
	}
	if (*p < '0' || *p > '9')
		return -EINVAL;
	errno = 0;
	*value = strtoull(p, &end, 10);
	if (errno || (*end && *end != ' ' && *end != '\n'))
		return -EINVAL;
	return 0;
}

int process_parse_stat(const char *line, uint64_t ticks_per_s,
		       uint64_t page_bytes, struct process_figures *out)
{
	uint64_t utime, stime, start, vsize, rss;

	if (!ticks_per_s || stat_field(line, 14, &utime) ||
	    stat_field(line, 15, &stime) || stat_field(line, 22, &start) ||
	    stat_field(line, 23, &vsize) || stat_field(line, 24, &rss))
		return -EINVAL;
	/* Split into whole seconds and the rest, so ticks * 1e9 cannot
	 * overflow for any realistic uptime. */
	out->cpu_ns = (utime + stime) / ticks_per_s * NS_PER_SEC +
		      (utime + stime) % ticks_per_s * NS_PER_SEC / ticks_per_s;
	out->start_ticks = start;
	out->virtual_bytes = vsize;
	out->resident_bytes = rss * page_bytes;
	out->have_stat = true;
	return 0;
}

int process_parse_max_fds(const char *limits, uint64_t *max_fds)
{
	static const char label[] = "Max open files";
	const char *line = strstr(limits, label);
	char *end;

	if (!line)
		return -EINVAL;
	line += sizeof(label) - 1;
	while (*line == ' ')
		line++;
	if (!strncmp(line, "unlimited", 9))
		return -ERANGE;
	if (*line < '0' || *line > '9')
		return -EINVAL;
	errno = 0;
	*max_fds = strtoull(line, &end, 10);
	if (errno || *end != ' ')
		return -EINVAL;
	return 0;
}

static int read_boot_time_s(const char *proc_root, uint64_t *btime_s)
{
	char path[512], *text, *line;
	char *end;
	int err;

	text = malloc(PROC_STAT_BYTES);
	if (!text)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/stat", proc_root);
	err = read_text(path, text, PROC_STAT_BYTES);
	if (err)
		goto cleanup;
	err = -EINVAL;
	line = strstr(text, "\nbtime ");
	if (!line)
		goto cleanup;
	errno = 0;
	*btime_s = strtoull(line + 7, &end, 10);
	if (!errno && end != line + 7)
		err = 0;
cleanup:
	free(text);
	return err;
}

static int count_fds(const char *proc_root, uint64_t *open_fds)
{
	char path[512];
	struct dirent *entry;
	uint64_t count = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/self/fd", proc_root);
	dir = opendir(path);
	if (!dir)
		return -errno;
	/* The directory's own descriptor is counted too, as the Go client
	 * counts it: it is open while the figure is taken. */
	while ((entry = readdir(dir)))
		if (entry->d_name[0] != '.')
			count++;
	closedir(dir);
	*open_fds = count;
	return 0;
}

void process_read_figures(const char *proc_root, struct process_figures *out)
{
	long ticks = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	char path[512], text[SELF_FILE_BYTES];
	struct mallinfo2 heap;
	uint64_t btime_s;

	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "%s/self/stat", proc_root);
	if (ticks > 0 && page > 0 && read_text(path, text, sizeof(text)) == 0)
		process_parse_stat(text, (uint64_t)ticks, (uint64_t)page, out);
	if (out->have_stat && read_boot_time_s(proc_root, &btime_s) == 0) {
		out->start_time_unix_ns =
			btime_s * NS_PER_SEC +
			out->start_ticks / (uint64_t)ticks * NS_PER_SEC +
			out->start_ticks % (uint64_t)ticks * NS_PER_SEC /
				(uint64_t)ticks;
		out->have_start_time = true;
	}
	out->have_open_fds = count_fds(proc_root, &out->open_fds) == 0;
	snprintf(path, sizeof(path), "%s/self/limits", proc_root);
	out->have_max_fds = read_text(path, text, sizeof(text)) == 0 &&
			    process_parse_max_fds(text, &out->max_fds) == 0;
	heap = mallinfo2();
	out->heap_inuse_bytes = (uint64_t)heap.uordblks + (uint64_t)heap.hblkhd;
	out->have_heap = true;
}
