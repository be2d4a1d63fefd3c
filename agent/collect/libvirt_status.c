// SPDX-License-Identifier: GPL-2.0-only
/*
 * A running libvirt domain's interface targets from its status file
 * (libvirt_status.h). Only what is inside an <interface> element counts:
 * disks have <target dev='vda'/> too. The file is libvirtd's, but the
 * names in it are the caller's to check (net_devices_name_valid) before
 * they reach a sysfs path, like any other.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect/libvirt_status.h"

/* A domain's status file is a few tens of KiB. */
#define LIBVIRT_STATUS_MAX_BYTES (1024 * 1024)

/* The value of attribute `name` inside the tag that starts at `tag` (up to
 * its '>'), copied into out; false when the tag has none or it does not
 * fit. Either quote may delimit it. */
static bool tag_attribute(const char *tag, const char *name, char *out,
			  size_t size)
{
	const char *end = strchr(tag, '>');
	size_t name_len = strlen(name);

	for (const char *p = tag; end && p < end; p++) {
		const char *value, *close;
		char quote;

		if (strncmp(p, name, name_len) || p[name_len] != '=' ||
		    (p > tag && p[-1] != ' ' && p[-1] != '\t' && p[-1] != '\n'))
			continue;
		quote = p[name_len + 1];
		if (quote != '\'' && quote != '"')
			return false;
		value = p + name_len + 2;
		close = strchr(value, quote);
		if (!close || close > end || (size_t)(close - value) >= size)
			return false;
		memcpy(out, value, (size_t)(close - value));
		out[close - value] = '\0';
		return true;
	}
	return false;
}

int libvirt_status_parse(const char *xml, int pid,
			 char (*names)[IRQ_NAME_LEN + 1], int max)
{
	const char *status = strstr(xml, "<domstatus");
	const char *p = xml;
	char value[64];
	int count = 0;

	if (!status || !tag_attribute(status, "pid", value, sizeof(value)))
		return -EINVAL;
	if (atoi(value) != pid)
		return -ESRCH;
	while ((p = strstr(p, "<interface"))) {
		const char *close = strstr(p, "</interface>");
		const char *target = strstr(p, "<target");

		if (!close)
			break;
		/* A name with '&' is an XML entity left undecoded: not the
		 * device's name, so not used. */
		if (target && target < close && count < max &&
		    tag_attribute(target, "dev", value, IRQ_NAME_LEN + 1) &&
		    !strchr(value, '&'))
			memcpy(names[count++], value, strlen(value) + 1);
		p = close;
	}
	return count;
}

int libvirt_status_read(const char *status_dir, const char *domain, int pid,
			char (*names)[IRQ_NAME_LEN + 1], int max)
{
	char path[1024], *xml;
	size_t used = 0;
	int fd, err;

	/* libvirt refuses '/' in a domain name; "." and ".." are no file. */
	if (!domain[0] || strchr(domain, '/') || !strcmp(domain, ".") ||
	    !strcmp(domain, ".."))
		return -EINVAL;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s.xml", status_dir,
			     domain) >= sizeof(path))
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	xml = malloc(LIBVIRT_STATUS_MAX_BYTES);
	if (!xml) {
		close(fd);
		return -ENOMEM;
	}
	while (used < LIBVIRT_STATUS_MAX_BYTES - 1) {
		ssize_t got = read(fd, xml + used,
				   LIBVIRT_STATUS_MAX_BYTES - 1 - used);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		used += (size_t)got;
	}
	close(fd);
	xml[used] = '\0';
	err = libvirt_status_parse(xml, pid, names, max);
	free(xml);
	return err;
}
