// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for everything the agent parses out of /proc and
 * cgroup paths: stat lines (comm may hold anything, even ')'), command
 * lines, /proc/PID/cgroup contents, systemd-escaped unit names and libvirt
 * cgroup layouts. A guest controls its VMM's thread names and command line,
 * and a process may rename itself at any moment, so none of it is trusted.
 * The first byte picks the parser, the rest is its input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collect/procfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated copy, for the parsers that take C strings. */
static char *terminated(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);

	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	return text;
}

static void check_terminated(const char *out, size_t size)
{
	if (!memchr(out, '\0', size))
		abort(); /* every output buffer stays a C string */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[PROCFS_PATH_LEN], name[PROCFS_NAME_LEN];
	struct vmm_identity identity;
	enum thread_kind kind;
	struct proc_stat stat;
	char *text;
	int index;

	if (size < 1)
		return 0;
	text = terminated(data + 1, size - 1);
	switch (data[0] % 6) {
	case 0:
		if (procfs_parse_stat(text, &stat) == 0)
			check_terminated(stat.comm, sizeof(stat.comm));
		break;
	case 1:
		if (procfs_cmdline_parse((const char *)data + 1, size - 1,
					 &identity) == 0) {
			check_terminated(identity.name, sizeof(identity.name));
			check_terminated(identity.uuid, sizeof(identity.uuid));
		}
		break;
	case 2:
		if (procfs_parse_cgroup(text, path, sizeof(path)) == 0)
			check_terminated(path, sizeof(path));
		break;
	case 3:
		if (systemd_names_unescape(text, name, sizeof(name)) >= 0)
			check_terminated(name, sizeof(name));
		break;
	case 4:
		if (libvirt_cgroup_name(text, name, sizeof(name)) == 0)
			check_terminated(name, sizeof(name));
		if (libvirt_cgroup_thread_kind(text, &kind, &index) == 0 &&
		    (kind < THREAD_VCPU || kind > THREAD_OTHER))
			abort();
		break;
	default:
		index = thread_class_vcpu_index(VMM_UNKNOWN, text, text);
		if (index < -1)
			abort();
		(void)thread_class_of(VMM_QEMU, 1, 2, text, text);
		break;
	}
	free(text);
	return 0;
}
