// SPDX-License-Identifier: GPL-2.0-only
/*
 * Which host network devices are a guest's own, and their counters
 * (net_devices.h). The sources, in the order they are read:
 *  1. the VMM's command line, world-readable: QEMU's
 *     `-netdev tap,ifname=N`, cloud-hypervisor's `--net tap=N`, crosvm's
 *     `--net tap-name=N` and `--tap-name N` (net_spec.c has the grammars);
 *  2. for a libvirt domain, libvirt's status file (its interface targets),
 *     which the agent reads as root;
 *  3. its /dev/net/tun descriptors' fdinfo (`iff:`), and its /dev/tapN
 *     descriptors (a macvtap, N its ifindex). Listing another process's
 *     descriptors needs the same uid or CAP_SYS_PTRACE, which the shipped
 *     unit does not keep, so this finds only what the agent's own uid
 *     runs; a directory it may not read is skipped without a word.
 * Counters come from sysfs, read as plain files.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect/libvirt_status.h"
#include "collect/net_devices.h"
#include "collect/net_spec.h"

/* /proc/PID/cmdline is read up to this; QEMU's from libvirt is ~10 KiB. */
#define NET_CMDLINE_MAX_BYTES (256 * 1024)
/* Names gathered from one VMM in one pass, before they are kept. */
#define NET_SCAN_MAX (GUEST_NET_MAX * 4)

typedef char net_name[IRQ_NAME_LEN + 1];

bool net_devices_name_valid(const char *name)
{
	size_t len = strnlen(name, IRQ_NAME_LEN);

	/* IFNAMSIZ (16) holds 15 characters and the NUL. */
	if (len == 0 || len >= IRQ_NAME_LEN)
		return false;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (const char *c = name; *c; c++)
		if (*c == '/' || *c == ':' || isspace((unsigned char)*c) ||
		    (unsigned char)*c < 0x20 || *c == 0x7f)
			return false;
	return true;
}

/* Copies a name net_devices_name_valid() accepted into a name buffer of
 * IRQ_NAME_LEN + 1. */
static void copy_name(char *out, const char *valid_name)
{
	size_t len = strnlen(valid_name, IRQ_NAME_LEN);

	memcpy(out, valid_name, len);
	out[len] = '\0';
}

/* Appends name unless it is invalid, already there or there is no room. */
static int add_name(net_name *names, int count, int max, const char *name)
{
	if (!net_devices_name_valid(name))
		return count;
	for (int i = 0; i < count; i++)
		if (!strcmp(names[i], name))
			return count;
	if (count >= max)
		return count;
	copy_name(names[count], name);
	return count + 1;
}

static bool is_net_option(const char *arg, size_t len)
{
	static const char *const options[] = { "-netdev", "--netdev", "-net",
					       "--net",	  "-nic",     "--nic" };

	for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
		if (len == strlen(options[i]) && !memcmp(arg, options[i], len))
			return true;
	return false;
}

/* QEMU's -netdev, -net and -nic values. */
static int parse_qemu(const char *buf, size_t len, net_name *names, int max)
{
	size_t offset = 0;
	bool value_next = false;
	int count = 0;

	while (buf && offset < len) {
		const char *arg = buf + offset;
		const char *nul = memchr(arg, '\0', len - offset);
		size_t arg_len = nul ? (size_t)(nul - arg) : len - offset;
		char name[64];

		offset += arg_len + 1;
		if (value_next) {
			net_spec_qemu_tap(arg, arg_len, name, sizeof(name));
			if (name[0])
				count = add_name(names, count, max, name);
		}
		value_next = is_net_option(arg, arg_len);
	}
	return count;
}

/* The next argument of a cmdline buffer, only if it ends in its NUL:
 * /proc/PID/cmdline ends every argument with one, so an argument that
 * runs into the buffer's end was cut off there, and its name ("tap=ta"
 * of "tap=tap12") would be another device's. */
static bool next_whole_arg(const char *buf, size_t len, size_t *offset,
			   const char **arg, size_t *arg_len)
{
	const char *nul;

	if (*offset >= len)
		return false;
	*arg = buf + *offset;
	nul = memchr(*arg, '\0', len - *offset);
	if (!nul)
		return false;
	*arg_len = (size_t)(nul - *arg);
	*offset += *arg_len + 1;
	return true;
}

/* Whether arg is `option` alone (*value NULL) or `option=VALUE`. */
static bool is_option(const char *arg, size_t arg_len, const char *option,
		      const char **value, size_t *value_len)
{
	size_t option_len = strlen(option);

	if (arg_len < option_len || memcmp(arg, option, option_len))
		return false;
	*value = NULL;
	if (arg_len == option_len)
		return true;
	if (arg[option_len] != '=')
		return false;
	*value = arg + option_len + 1;
	*value_len = arg_len - option_len - 1;
	return true;
}

/* The grammar of an option value that may name a tap. */
enum spec_grammar {
	SPEC_NONE,
	SPEC_CLOUD_HYPERVISOR, /* --net tap=N,... */
	SPEC_CROSVM, /* --net tap-name=N,... */
	SPEC_BARE_NAME, /* crosvm's older --tap-name N */
};

/* Adds the name one option value gives, when it gives a valid one. */
static int add_spec(enum spec_grammar grammar, const char *value,
		    size_t value_len, net_name *names, int count, int max)
{
	char name[IRQ_NAME_LEN + 1];
	int err = -ENOENT;

	if (grammar == SPEC_CLOUD_HYPERVISOR)
		err = net_spec_cloud_hypervisor_tap(value, value_len, name,
						    sizeof(name));
	else if (grammar == SPEC_CROSVM)
		err = net_spec_crosvm_tap(value, value_len, name, sizeof(name));
	else if (grammar == SPEC_BARE_NAME && value_len < sizeof(name) &&
		 !memchr(value, '\0', value_len)) {
		memcpy(name, value, value_len);
		name[value_len] = '\0';
		err = 0;
	}
	return err ? count : add_name(names, count, max, name);
}

/* cloud-hypervisor parses with clap: `--net SPEC...` takes every argument
 * up to the next one that starts with '-', `--net=SPEC` that one only,
 * and either may come again. */
static int parse_cloud_hypervisor(const char *buf, size_t len, net_name *names,
				  int max)
{
	size_t offset = 0, arg_len, value_len = 0;
	const char *arg, *value;
	bool in_net = false;
	int count = 0;

	while (next_whole_arg(buf, len, &offset, &arg, &arg_len)) {
		if (arg_len && arg[0] == '-') {
			in_net = is_option(arg, arg_len, "--net", &value,
					   &value_len);
			if (in_net && value) {
				count = add_spec(SPEC_CLOUD_HYPERVISOR, value,
						 value_len, names, count, max);
				in_net = false;
			}
		} else if (in_net) {
			count = add_spec(SPEC_CLOUD_HYPERVISOR, arg, arg_len,
					 names, count, max);
		}
	}
	return count;
}

/* crosvm parses with argh, once it has split every `--option=value` in
 * two: `--net SPEC`, and the older `--tap-name NAME`, each as often as
 * wanted. --tap-fd passes a descriptor and names nothing. */
static int parse_crosvm(const char *buf, size_t len, net_name *names, int max)
{
	enum spec_grammar value_next = SPEC_NONE, grammar;
	size_t offset = 0, arg_len, value_len = 0;
	const char *arg, *value;
	int count = 0;

	while (next_whole_arg(buf, len, &offset, &arg, &arg_len)) {
		if (value_next != SPEC_NONE) {
			count = add_spec(value_next, arg, arg_len, names, count,
					 max);
			value_next = SPEC_NONE;
			continue;
		}
		if (is_option(arg, arg_len, "--net", &value, &value_len))
			grammar = SPEC_CROSVM;
		else if (is_option(arg, arg_len, "--tap-name", &value,
				   &value_len))
			grammar = SPEC_BARE_NAME;
		else
			continue;
		if (value)
			count = add_spec(grammar, value, value_len, names,
					 count, max);
		else
			value_next = grammar;
	}
	return count;
}

int net_devices_parse_cmdline(enum vmm_kind kind, const char *buf, size_t len,
			      char (*names)[IRQ_NAME_LEN + 1], int max)
{
	if (kind == VMM_CLOUD_HYPERVISOR)
		return buf ? parse_cloud_hypervisor(buf, len, names, max) : 0;
	if (kind == VMM_CROSVM)
		return buf ? parse_crosvm(buf, len, names, max) : 0;
	/* QEMU's, and what every other command line was read as before
	 * the kind was known. */
	return parse_qemu(buf, len, names, max);
}

int net_devices_parse_fdinfo(const char *text, char *name, size_t size)
{
	const char *line = text;

	while (line && *line) {
		if (!strncmp(line, "iff:", 4)) {
			const char *start = line + 4;
			size_t len;

			start += strspn(start, " \t");
			len = strcspn(start, "\n");
			if (len >= size)
				return -EINVAL;
			memcpy(name, start, len);
			name[len] = '\0';
			return net_devices_name_valid(name) ? 0 : -EINVAL;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return -ENOENT;
}

void net_devices_take(struct guest_net_device *device, int ifindex,
		      const uint64_t values[NET_COUNTERS])
{
	if (device->ifindex != ifindex) {
		device->ifindex = ifindex;
		memcpy(device->base, values, sizeof(device->base));
		memset(device->counters, 0, sizeof(device->counters));
	}
	/* A counter never goes back: a value below the last one (no driver
	 * here does that, but a reading may race a reset) is not taken. */
	for (int c = 0; c < NET_COUNTERS; c++)
		if (values[c] >= device->base[c] &&
		    values[c] - device->base[c] > device->counters[c])
			device->counters[c] = values[c] - device->base[c];
	device->gone = 0;
}

/* A small file's text: its length, or a negative errno. */
static int read_text(const char *path, char *buf, size_t size)
{
	size_t used = 0;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (used < size - 1) {
		ssize_t got = read(fd, buf + used, size - 1 - used);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			err = got < 0 ? -errno : 0;
			break;
		}
		used += (size_t)got;
	}
	close(fd);
	if (err)
		return err;
	buf[used] = '\0';
	return (int)used;
}

static int read_u64(const char *path, uint64_t *value)
{
	char text[32], *end;
	int got = read_text(path, text, sizeof(text));

	if (got < 0)
		return got;
	errno = 0;
	*value = strtoull(text, &end, 10);
	if (errno || end == text || (*end && *end != '\n'))
		return -EINVAL;
	return 0;
}

static int read_ifindex(const char *sys_root, const char *name, int *ifindex)
{
	char path[PROCFS_PATH_LEN];
	uint64_t value;
	int err;

	if (!net_devices_name_valid(name))
		return -EINVAL;
	snprintf(path, sizeof(path), "%s/class/net/%s/ifindex", sys_root, name);
	err = read_u64(path, &value);
	if (err)
		return err;
	if (value == 0 || value > INT32_MAX)
		return -EINVAL;
	*ifindex = (int)value;
	return 0;
}

/* The device with that ifindex in the agent's namespace, the one a
 * macvtap's /dev/tapN descriptor names. */
static int name_by_ifindex(const char *sys_root, int ifindex, char *name)
{
	char path[PROCFS_PATH_LEN];
	struct dirent *entry;
	int found = -ENOENT, index;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/class/net", sys_root);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while (found && (entry = readdir(dir))) {
		if (!net_devices_name_valid(entry->d_name) ||
		    read_ifindex(sys_root, entry->d_name, &index) ||
		    index != ifindex)
			continue;
		copy_name(name, entry->d_name);
		found = 0;
	}
	closedir(dir);
	return found;
}

/* What one descriptor of the VMM's is attached to, when it is a tap:
 * its name into `name` (IRQ_NAME_LEN + 1). */
static int descriptor_device(const struct tracker *tracker, int pid, int dir_fd,
			     const char *fd_name, char *name)
{
	char target[64], path[PROCFS_PATH_LEN], info[1024];
	ssize_t len;
	int ifindex;

	len = readlinkat(dir_fd, fd_name, target, sizeof(target) - 1);
	if (len < 0)
		return -errno;
	target[len] = '\0';
	if (!strcmp(target, "/dev/net/tun")) {
		snprintf(path, sizeof(path), "%s/%d/fdinfo/%s",
			 tracker->proc_root, pid, fd_name);
		if (read_text(path, info, sizeof(info)) < 0)
			return -ENOENT;
		return net_devices_parse_fdinfo(info, name, IRQ_NAME_LEN + 1);
	}
	if (!strncmp(target, "/dev/tap", 8) && target[8] &&
	    strspn(target + 8, "0123456789") == strlen(target + 8) &&
	    strlen(target + 8) < 10) {
		ifindex = atoi(target + 8);
		return name_by_ifindex(tracker->sys_root, ifindex, name);
	}
	return -ENOENT;
}

static int scan_descriptors(const struct tracker *tracker, int pid,
			    net_name *names, int count, int max)
{
	char path[PROCFS_PATH_LEN];
	struct dirent *entry;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/%d/fd", tracker->proc_root, pid);
	/* EACCES: another user's VMM, and no CAP_SYS_PTRACE (by design). */
	dir = opendir(path);
	if (!dir)
		return count;
	while ((entry = readdir(dir))) {
		char name[IRQ_NAME_LEN + 1];

		if (entry->d_name[0] < '0' || entry->d_name[0] > '9')
			continue;
		if (descriptor_device(tracker, pid, dirfd(dir), entry->d_name,
				      name) == 0)
			count = add_name(names, count, max, name);
	}
	closedir(dir);
	return count;
}

/* The VMM's command line, NUL-separated: its length or a negative errno. */
static int read_cmdline(const char *proc_root, int pid, char **buf)
{
	char path[PROCFS_PATH_LEN];
	int got;

	snprintf(path, sizeof(path), "%s/%d/cmdline", proc_root, pid);
	*buf = malloc(NET_CMDLINE_MAX_BYTES);
	if (!*buf)
		return -ENOMEM;
	got = read_text(path, *buf, NET_CMDLINE_MAX_BYTES);
	if (got < 0) {
		free(*buf);
		*buf = NULL;
		return got;
	}
	/* Cut off: the last argument, "ifname=ta" of "ifname=tap12", would
	 * name another device. */
	if (got == NET_CMDLINE_MAX_BYTES - 1) {
		const char *last_nul = memrchr(*buf, '\0', (size_t)got);

		got = last_nul ? (int)(last_nul - *buf) + 1 : 0;
	}
	return got;
}

/* A libvirt domain's taps: libvirt opens them itself and hands QEMU the
 * descriptors (fd=N), so its command line names none, and QEMU runs as
 * another user whose descriptors the agent may not list. */
static int add_libvirt_targets(const struct tracker *tracker,
			       const struct guest *guest, net_name *names,
			       int count, int max)
{
	net_name targets[GUEST_NET_MAX];
	int found;

	found = libvirt_status_read(tracker->libvirt_status_dir, guest->name,
				    guest->pid, targets, GUEST_NET_MAX);
	for (int i = 0; i < found; i++)
		count = add_name(names, count, max, targets[i]);
	return count;
}

void net_devices_discover(struct tracker *tracker, struct guest *guest)
{
	net_name found[NET_SCAN_MAX];
	bool seen[GUEST_NET_MAX] = { false };
	uint64_t not_kept = 0;
	char *cmdline = NULL;
	int count, len;

	len = read_cmdline(tracker->proc_root, guest->pid, &cmdline);
	if (len < 0)
		return; /* gone mid-pass: its devices stay as they were */
	count = net_devices_parse_cmdline(guest->vmm, cmdline, (size_t)len,
					  found, NET_SCAN_MAX);
	free(cmdline);
	if (guest->claim.source == GUEST_IDENTITY_LIBVIRT)
		count = add_libvirt_targets(tracker, guest, found, count,
					    NET_SCAN_MAX);
	count = scan_descriptors(tracker, guest->pid, found, count,
				 NET_SCAN_MAX);
	for (int f = 0; f < count; f++) {
		size_t i;

		for (i = 0; i < guest->net_count; i++)
			if (!strcmp(guest->net[i].name, found[f]))
				break;
		if (i == guest->net_count) {
			if (guest->net_count == GUEST_NET_MAX) {
				not_kept++;
				continue;
			}
			memset(&guest->net[i], 0, sizeof(guest->net[i]));
			copy_name(guest->net[i].name, found[f]);
			guest->net_count++;
		}
		seen[i] = true;
	}
	/* Found again: collection decides whether it can still be read. */
	for (size_t i = 0; i < guest->net_count; i++)
		guest->net[i].gone = !seen[i];
	guest->net_dropped_devices = not_kept;
}

/* One device's ifindex and counters. Its ifindex is read before and
 * after them: a device deleted and recreated under the same name between
 * the reads would mix two devices' counters, so that reading is dropped
 * (-EAGAIN) and the next tick reads it again. */
static int read_device(const char *sys_root, const char *name, int *ifindex,
		       uint64_t values[NET_COUNTERS])
{
	char path[PROCFS_PATH_LEN];
	int err, ifindex_after;

	err = read_ifindex(sys_root, name, ifindex);
	if (err)
		return err;
	for (int c = 0; c < NET_COUNTERS; c++) {
		snprintf(path, sizeof(path), "%s/class/net/%s/statistics/%s",
			 sys_root, name, net_counter_name(c));
		err = read_u64(path, &values[c]);
		if (err)
			return err;
	}
	err = read_ifindex(sys_root, name, &ifindex_after);
	if (err)
		return err;
	return ifindex_after == *ifindex ? 0 : -EAGAIN;
}

void net_devices_collect(struct tracker *tracker)
{
	for (size_t g = 0; g < tracker->table.guest_count; g++) {
		struct guest *guest = &tracker->table.guests[g];

		for (size_t i = 0; i < guest->net_count; i++) {
			struct guest_net_device *device = &guest->net[i];
			uint64_t values[NET_COUNTERS];
			int ifindex, err;

			if (guest->exited)
				device->gone = 1;
			if (device->gone)
				continue;
			err = read_device(tracker->sys_root, device->name,
					  &ifindex, values);
			if (!err)
				net_devices_take(device, ifindex, values);
			else if (err != -EAGAIN)
				device->gone = 1; /* deleted: not an error */
		}
	}
}
