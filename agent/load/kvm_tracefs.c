// SPDX-License-Identifier: GPL-2.0-only
/*
 * Where tracefs is, and whether each kvm trace record there still has the
 * layout bpf/kvm.h reads (model/kvm_telemetry.c checks the format text),
 * with its id: what decides between a classic and a raw tracepoint. No
 * libbpf here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "load/kvm_tracefs.h"

/* At most this much of a format file is read: kvm_exit's, with its table
 * of VMX and SVM reason names, is about 5 KiB. */
#define FORMAT_MAX (64 * 1024)

static char *read_text(const char *path)
{
	char *text = malloc(FORMAT_MAX + 1);
	size_t used = 0;
	ssize_t got;
	int fd;

	if (!text)
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(text);
		return NULL;
	}
	while (used < FORMAT_MAX &&
	       (got = read(fd, text + used, FORMAT_MAX - used)) > 0)
		used += (size_t)got;
	close(fd);
	text[used] = '\0';
	return text;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A tracefs mount point from mountinfo (field 5 is the mount point, the
 * type follows the " - " separator), else debugfs's tracing directory. */
static bool find_tracefs(char *path, size_t size)
{
	char line[4096], mount_point[128], fs_type[64], debugfs[96] = "";
	bool found = false;
	FILE *mounts;

	mounts = fopen("/proc/self/mountinfo", "re");
	if (!mounts)
		return false;
	while (!found && fgets(line, sizeof(line), mounts)) {
		const char *sep = strstr(line, " - ");

		if (!sep ||
		    sscanf(line, "%*s %*s %*s %*s %127s", mount_point) != 1 ||
		    sscanf(sep + 3, "%63s", fs_type) != 1)
			continue;
		if (!strcmp(fs_type, "tracefs")) {
			snprintf(path, size, "%s", mount_point);
			found = true;
		} else if (!strcmp(fs_type, "debugfs") && !debugfs[0] &&
			   strlen(mount_point) < sizeof(debugfs)) {
			memcpy(debugfs, mount_point, strlen(mount_point) + 1);
		}
	}
	fclose(mounts);
	if (!found && debugfs[0]) {
		snprintf(path, size, "%s/tracing", debugfs);
		found = is_dir(path);
	}
	return found;
}

/* Checks one event's format and reads its id; 0 or -errno with `why`. */
static int probe_classic(const char *tracefs, enum kvm_event event,
			 uint64_t *id, char *why, size_t why_size)
{
	char path[200], *text;
	int err;

	snprintf(path, sizeof(path), "%s/events/kvm/%s/format", tracefs,
		 kvm_event_name(event));
	text = read_text(path);
	if (!text) {
		err = -errno;
		if (err == -ENOENT)
			snprintf(why, why_size,
				 "no %s tracepoint in %s (KVM is not loaded)",
				 kvm_event_name(event), tracefs);
		else
			snprintf(why, why_size, "cannot read %s: %s", path,
				 strerror(-err));
		return err ? err : -ENOMEM;
	}
	err = kvm_format_check(event, text, why, why_size);
	free(text);
	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/events/kvm/%s/id", tracefs,
		 kvm_event_name(event));
	text = read_text(path);
	if (!text || sscanf(text, "%lu", (unsigned long *)id) != 1) {
		err = text ? -EINVAL : -errno;
		snprintf(why, why_size, "cannot read %s", path);
		free(text);
		return err;
	}
	free(text);
	return 0;
}

/* Which events attach as classic tracepoints (they need tracefs), with
 * their ids, and why each one that cannot is missing. */
void kvm_tracefs_probe_events(const char *tracefs,
			      bool classic[KVM_EVENT_COUNT],
			      uint64_t ids[KVM_EVENT_COUNT],
			      char why[KVM_EVENT_COUNT][256])
{
	char tracefs_path[128];
	bool have_tracefs;

	if (!tracefs)
		tracefs = getenv("KVMWARDEN_TRACEFS");
	if (tracefs) {
		snprintf(tracefs_path, sizeof(tracefs_path), "%s", tracefs);
		have_tracefs = is_dir(tracefs_path);
	} else {
		have_tracefs = find_tracefs(tracefs_path, sizeof(tracefs_path));
	}
	for (int event = 0; event < KVM_EVENT_COUNT; event++) {
		if (!have_tracefs)
			snprintf(why[event], sizeof(why[event]),
				 "tracefs is not mounted, and %s can only be "
				 "attached through it (as root: mount -t "
				 "tracefs nodev /sys/kernel/tracing, or "
				 "systemctl start sys-kernel-tracing.mount)",
				 kvm_event_name(event));
		else
			classic[event] = probe_classic(tracefs_path, event,
						       &ids[event], why[event],
						       sizeof(why[event])) == 0;
	}

	/* kvm_entry only times guest mode for kvm_exit: useless alone. */
	if (classic[KVM_EVENT_ENTRY] && !classic[KVM_EVENT_EXIT]) {
		classic[KVM_EVENT_ENTRY] = false;
		memcpy(why[KVM_EVENT_ENTRY], why[KVM_EVENT_EXIT],
		       sizeof(why[KVM_EVENT_ENTRY]));
	}
}
