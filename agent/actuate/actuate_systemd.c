// SPDX-License-Identifier: GPL-2.0-only
/*
 * systemd's unit properties over sd-bus. Each property is read from the
 * unit's object (org.freedesktop.systemd1.{Service,Scope,Slice}) and set
 * with the manager's SetUnitProperties(unit, runtime=true, [(name, v)]),
 * which writes the cgroup itself and remembers the value under /run, so
 * systemd does not put its own back at the next daemon-reload.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>

#include "actuate/actuate_affinity.h"
#include "actuate/actuate_systemd.h"

#define SYSTEMD_SERVICE "org.freedesktop.systemd1"
#define SYSTEMD_OBJECT "/org/freedesktop/systemd1"
#define SYSTEMD_MANAGER "org.freedesktop.systemd1.Manager"
#define SYSTEMD_UNIT_PREFIX "/org/freedesktop/systemd1/unit"
#define NO_SUCH_UNIT "org.freedesktop.systemd1.NoSuchUnit"
#define SYSTEMD_PRIVATE "unix:path=/run/systemd/private"
#define SYSTEMD_SYSTEM_BUS "unix:path=/run/dbus/system_bus_socket"

static bool ends_with(const char *text, size_t len, const char *suffix)
{
	size_t suffix_len = strlen(suffix);

	return len > suffix_len &&
	       !strncmp(text + len - suffix_len, suffix, suffix_len);
}

static bool unit_suffix(const char *name, size_t len)
{
	return ends_with(name, len, ".service") ||
	       ends_with(name, len, ".scope") || ends_with(name, len, ".slice");
}

int systemd_unit_of(const char *cgroup, char *unit, size_t size)
{
	const char *found = NULL;
	size_t found_len = 0;

	for (const char *at = cgroup; *at;) {
		size_t len;

		at += strspn(at, "/");
		len = strcspn(at, "/");
		/* "/a.slice/../b.service" is not b.service's cgroup. */
		if ((len == 1 && at[0] == '.') ||
		    (len == 2 && at[0] == '.' && at[1] == '.'))
			return -EINVAL;
		if (len && unit_suffix(at, len)) {
			found = at;
			found_len = len;
		}
		at += len;
	}
	if (!found)
		return -ENOENT;
	if (found_len >= size)
		return -ENAMETOOLONG;
	snprintf(unit, size, "%.*s", (int)found_len, found);
	return 0;
}

static bool per_device(const char *property)
{
	return !strcmp(property, "IOReadIOPSMax") ||
	       !strcmp(property, "IOWriteIOPSMax");
}

const char *systemd_unit_interface(const char *unit)
{
	size_t len = strlen(unit);

	if (ends_with(unit, len, ".service"))
		return "org.freedesktop.systemd1.Service";
	if (ends_with(unit, len, ".scope"))
		return "org.freedesktop.systemd1.Scope";
	if (ends_with(unit, len, ".slice"))
		return "org.freedesktop.systemd1.Slice";
	return NULL;
}

size_t systemd_knob_properties(enum policy_knob knob,
			       const char *props[SYSTEMD_MAX_PROPERTIES])
{
	switch (knob) {
	case POLICY_KNOB_CPU_WEIGHT:
		props[0] = "CPUWeight";
		return 1;
	case POLICY_KNOB_CPU_QUOTA:
		props[0] = "CPUQuotaPerSecUSec";
		return 1;
	case POLICY_KNOB_SEPARATE:
		props[0] = "AllowedCPUs";
		return 1;
	case POLICY_KNOB_IO_WEIGHT:
		props[0] = "IOWeight";
		return 1;
	case POLICY_KNOB_IO_IOPS:
		props[0] = "IOReadIOPSMax";
		props[1] = "IOWriteIOPSMax";
		return 2;
	case POLICY_KNOB_RPS_CPUS:
	case POLICY_KNOB_IRQ_AFFINITY:
		break; /* no unit's: written as files (actuate_steer.h) */
	}
	return 0;
}

int systemd_knob_text(enum policy_knob knob, uint32_t value, char *text,
		      size_t size)
{
	uint64_t number = value;

	switch (knob) {
	case POLICY_KNOB_CPU_QUOTA:
		/* percent of one CPU -> µs of CPU per second: 1 % of a
		 * CPU is 10 ms per second; systemd takes no less than
		 * 1 ms per second. */
		number = (uint64_t)value * 10000;
		if (number < 1000)
			number = 1000;
		break;
	case POLICY_KNOB_CPU_WEIGHT:
	case POLICY_KNOB_IO_WEIGHT:
		number = value < 1 ? 1 : value > 10000 ? 10000 : value;
		break;
	case POLICY_KNOB_IO_IOPS:
		number = value ? value : 1;
		break;
	default:
		return -EINVAL; /* AllowedCPUs' text is a CPU list */
	}
	snprintf(text, size, "%" PRIu64, number);
	return 0;
}

int systemd_knob_entries(const char *unit, enum policy_knob knob,
			 const char *device,
			 char names[SYSTEMD_MAX_PROPERTIES][SYSTEMD_ENTRY_LEN],
			 size_t *count)
{
	const char *props[SYSTEMD_MAX_PROPERTIES];
	size_t found = systemd_knob_properties(knob, props);
	int err;

	*count = 0;
	if (!found)
		return -EOPNOTSUPP;
	for (size_t i = 0; i < found; i++) {
		bool by_device = per_device(props[i]);

		if (by_device && (!device || !device[0]))
			return -EINVAL;
		err = systemd_entry_name(unit, props[i],
					 by_device ? device : NULL, names[i],
					 SYSTEMD_ENTRY_LEN);
		if (err)
			return err;
	}
	*count = found;
	return 0;
}

int systemd_knob_file(const char *cgroup, enum policy_knob knob, char *file,
		      size_t size)
{
	const char *props[SYSTEMD_MAX_PROPERTIES];
	char unit[256];
	int err;

	if (systemd_knob_properties(knob, props) != 1 || per_device(props[0]))
		return -EOPNOTSUPP;
	err = systemd_unit_of(cgroup, unit, sizeof(unit));
	if (err)
		return err;
	return systemd_entry_name(unit, props[0], NULL, file, size);
}

static bool mask_empty(const struct cpu_mask *mask)
{
	for (size_t w = 0; w < AFFINITY_MAX_CPUS / 64; w++)
		if (mask->bits[w])
			return false;
	return true;
}

int systemd_separate_text(const char *current, const struct cpu_mask *victim,
			  const struct cpu_mask *online,
			  const struct cpu_mask *rest, char *text, size_t size)
{
	struct cpu_mask allowed, wanted;

	if (!current[0])
		allowed = *online; /* no restriction */
	else if (affinity_parse(current, &allowed))
		return -EINVAL;
	for (size_t w = 0; w < AFFINITY_MAX_CPUS / 64; w++)
		wanted.bits[w] = allowed.bits[w] & ~victim->bits[w];
	if (mask_empty(&wanted))
		wanted = *rest;
	if (mask_empty(&wanted))
		return -EINVAL; /* nowhere else to run */
	return affinity_format(&wanted, text, size);
}

int systemd_entry_name(const char *unit, const char *property,
		       const char *device, char *name, size_t size)
{
	int len = snprintf(name, size, SYSTEMD_PREFIX "%s/%s%s%s", unit,
			   property, device ? "#" : "", device ? device : "");

	return len < 0 || (size_t)len >= size ? -ENAMETOOLONG : 0;
}

bool systemd_is_entry(const char *name)
{
	return !strncmp(name, SYSTEMD_PREFIX, strlen(SYSTEMD_PREFIX));
}

int systemd_entry_parse(const char *name, char *unit, size_t unit_size,
			char *property, size_t property_size, char *device,
			size_t device_size)
{
	const char *rest, *slash, *hash;

	if (!systemd_is_entry(name))
		return -EINVAL;
	rest = name + strlen(SYSTEMD_PREFIX);
	slash = strchr(rest, '/');
	if (!slash || slash == rest || !slash[1])
		return -EINVAL;
	hash = strchr(slash, '#');
	if ((size_t)(slash - rest) >= unit_size)
		return -ENAMETOOLONG;
	snprintf(unit, unit_size, "%.*s", (int)(slash - rest), rest);
	if (!systemd_unit_interface(unit))
		return -EINVAL;
	snprintf(property, property_size, "%.*s",
		 (int)(hash ? hash - slash - 1 : (long)strlen(slash + 1)),
		 slash + 1);
	snprintf(device, device_size, "%s", hash ? hash + 1 : "");
	return 0;
}

static void u64_text(uint64_t number, char *text, size_t size)
{
	if (number == UINT64_MAX)
		snprintf(text, size, "infinity");
	else
		snprintf(text, size, "%" PRIu64, number);
}

static int text_u64(const char *text, uint64_t *number)
{
	char *end;

	if (!strcmp(text, "infinity")) {
		*number = UINT64_MAX;
		return 0;
	}
	errno = 0;
	*number = strtoull(text, &end, 10);
	return errno || end == text || *end ? -EINVAL : 0;
}

static int bus_errno(const sd_bus_error *error, int err)
{
	if (sd_bus_error_has_name(error, NO_SUCH_UNIT))
		return -ENOENT;
	return err < 0 ? err : -EIO;
}

static uint64_t monotonic_usec(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000ULL +
	       (uint64_t)now.tv_nsec / 1000ULL;
}

/* sd_bus_start only begins the handshake, and sd-bus then waits for it up
 * to its own authentication timeout (90 s) on the first call: a manager
 * that accepted the connection but does not answer would hold the control
 * loop far past WatchdogSec. Driven here against our own deadline. */
static int wait_ready(sd_bus *bus, uint64_t usec)
{
	uint64_t deadline = monotonic_usec() + usec;

	for (;;) {
		uint64_t now;
		int err = sd_bus_is_ready(bus);

		if (err)
			return err < 0 ? err : 0;
		err = sd_bus_process(bus, NULL);
		if (err < 0)
			return err;
		if (err > 0)
			continue;
		now = monotonic_usec();
		if (now >= deadline)
			return -ETIMEDOUT;
		err = sd_bus_wait(bus, deadline - now);
		if (err < 0)
			return err;
	}
}

/* One connection with every call bounded: the handshake by wait_ready,
 * each method call by the bus's call timeout (sd-bus's default, 25 s,
 * is most of WatchdogSec). */
static int connect_bounded(sd_bus **bus, const char *address, bool bus_client)
{
	int err = sd_bus_new(bus);

	if (err >= 0)
		err = sd_bus_set_address(*bus, address);
	if (err >= 0)
		err = sd_bus_set_bus_client(*bus, bus_client);
	if (err >= 0)
		err = sd_bus_set_method_call_timeout(*bus, SYSTEMD_CALL_USEC);
	if (err >= 0)
		err = sd_bus_start(*bus);
	if (err >= 0)
		err = wait_ready(*bus, SYSTEMD_CALL_USEC);
	if (err < 0)
		*bus = sd_bus_unref(*bus);
	return err;
}

/* systemd's own socket first: only root may open it, and systemd lets a
 * root peer there set unit properties without CAP_SYS_ADMIN (measured in
 * the TCG systemd boot with an empty bounding set: `systemctl
 * set-property --runtime` worked), which the agent no longer has after
 * attach; on the system bus the same call needs CAP_SYS_ADMIN or polkit.
 * A direct connection has no bus names: *destination is then NULL. A
 * manager that does not answer in time is not asked again through the
 * system bus, whose daemon would only forward to it. */
static int open_bus(sd_bus **bus, const char **destination)
{
	int err;

	*destination = NULL;
	err = connect_bounded(bus, SYSTEMD_PRIVATE, false);
	if (err >= 0 || err == -ETIMEDOUT)
		return err;
	*destination = SYSTEMD_SERVICE;
	return connect_bounded(bus, SYSTEMD_SYSTEM_BUS, true);
}

/* A unit that is gone (a transient one stopped and collected) is loaded
 * again on demand as "not-found", with every property at its default:
 * read as such, it would look like someone else's change. -ENOENT. */
static int unit_found(sd_bus *bus, const char *dest, const char *path,
		      sd_bus_error *error)
{
	char *state = NULL;
	int err;

	err = sd_bus_get_property_string(bus, dest, path,
					 "org.freedesktop.systemd1.Unit",
					 "LoadState", error, &state);
	if (err >= 0 && !strcmp(state, "not-found"))
		err = -ENOENT;
	free(state);
	return err;
}

int systemd_entry_read(const char *name, char *value, size_t size)
{
	char unit[256], property[64], device[24], dev_path[48];
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	sd_bus *bus = NULL;
	char *path = NULL;
	const char *iface, *dest;
	int err;

	err = systemd_entry_parse(name, unit, sizeof(unit), property,
				  sizeof(property), device, sizeof(device));
	if (err)
		return err;
	iface = systemd_unit_interface(unit);
	err = open_bus(&bus, &dest);
	if (err < 0)
		return err;
	err = sd_bus_path_encode(SYSTEMD_UNIT_PREFIX, unit, &path);
	if (err >= 0)
		err = unit_found(bus, dest, path, &error);
	if (err < 0)
		goto out;
	if (per_device(property)) {
		const char *entry_path;
		uint64_t limit;

		err = sd_bus_get_property(bus, dest, path, iface,
					  property, &error, &reply, "a(st)");
		if (err < 0)
			goto out;
		snprintf(dev_path, sizeof(dev_path), "/dev/block/%s", device);
		u64_text(UINT64_MAX, value, size); /* no entry: no limit */
		err = sd_bus_message_enter_container(reply, 'a', "(st)");
		while (err >= 0 &&
		       (err = sd_bus_message_read(reply, "(st)", &entry_path,
						  &limit)) > 0)
			if (!strcmp(entry_path, dev_path))
				u64_text(limit, value, size);
	} else if (!strcmp(property, "AllowedCPUs")) {
		struct cpu_mask mask = { { 0 } };
		const uint8_t *bytes;
		size_t count;

		err = sd_bus_get_property(bus, dest, path, iface,
					  property, &error, &reply, "ay");
		if (err >= 0)
			err = sd_bus_message_read_array(reply, 'y',
							(const void **)&bytes,
							&count);
		for (size_t i = 0; err >= 0 && i < count &&
				   i < AFFINITY_MAX_CPUS / 8;
		     i++)
			for (int bit = 0; bit < 8; bit++)
				if (bytes[i] & (1u << bit))
					cpu_mask_add(&mask, (int)i * 8 + bit);
		/* Empty: no restriction, as systemd shows it. */
		if (err >= 0 && !mask_empty(&mask) &&
		    affinity_format(&mask, value, size))
			err = -ENAMETOOLONG;
		else if (err >= 0 && mask_empty(&mask) && size)
			value[0] = '\0';
	} else {
		uint64_t number;

		err = sd_bus_get_property_trivial(bus, dest, path,
						  iface, property, &error, 't',
						  &number);
		if (err >= 0)
			u64_text(number, value, size);
	}
out:
	if (err < 0)
		err = bus_errno(&error, err);
	else
		err = 0;
	sd_bus_error_free(&error);
	sd_bus_message_unref(reply);
	sd_bus_unref(bus);
	free(path);
	return err;
}

/* Appends one (sv) pair holding `value` in the property's type. */
static int append_property(sd_bus_message *m, const char *property,
			   const char *device, const char *value)
{
	char dev_path[48];
	uint64_t number;
	int err;

	if (!strcmp(property, "AllowedCPUs")) {
		struct cpu_mask mask;
		uint8_t bytes[AFFINITY_MAX_CPUS / 8] = { 0 };
		size_t count = 0;

		if (value[0] && affinity_parse(value, &mask))
			return -EINVAL;
		for (int cpu = 0; value[0] && cpu < AFFINITY_MAX_CPUS; cpu++)
			if (cpu_mask_has(&mask, cpu)) {
				bytes[cpu / 8] |= (uint8_t)(1u << (cpu % 8));
				count = (size_t)cpu / 8 + 1;
			}
		err = sd_bus_message_open_container(m, 'r', "sv");
		if (err >= 0)
			err = sd_bus_message_append(m, "s", property);
		if (err >= 0)
			err = sd_bus_message_open_container(m, 'v', "ay");
		if (err >= 0)
			err = sd_bus_message_append_array(m, 'y', bytes, count);
		if (err >= 0)
			err = sd_bus_message_close_container(m);
		if (err >= 0)
			err = sd_bus_message_close_container(m);
		return err;
	}
	if (text_u64(value, &number))
		return -EINVAL;
	if (per_device(property)) {
		snprintf(dev_path, sizeof(dev_path), "/dev/block/%s", device);
		return sd_bus_message_append(m, "(sv)", property, "a(st)", 1,
					     dev_path, number);
	}
	return sd_bus_message_append(m, "(sv)", property, "t", number);
}

int systemd_entry_write(const char *name, const char *value)
{
	char unit[256], property[64], device[24], back[256];
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus_message *m = NULL;
	sd_bus *bus = NULL;
	const char *dest;
	int err;

	err = systemd_entry_parse(name, unit, sizeof(unit), property,
				  sizeof(property), device, sizeof(device));
	if (err)
		return err;
	err = open_bus(&bus, &dest);
	if (err < 0)
		return err;
	err = sd_bus_message_new_method_call(bus, &m, dest,
					     SYSTEMD_OBJECT, SYSTEMD_MANAGER,
					     "SetUnitProperties");
	if (err >= 0)
		err = sd_bus_message_append(m, "sb", unit, 1);
	if (err >= 0)
		err = sd_bus_message_open_container(m, 'a', "(sv)");
	if (err >= 0)
		err = append_property(m, property, device, value);
	if (err >= 0)
		err = sd_bus_message_close_container(m);
	if (err >= 0)
		err = sd_bus_call(bus, m, 0, &error, NULL);
	if (err < 0)
		err = bus_errno(&error, err);
	sd_bus_error_free(&error);
	sd_bus_message_unref(m);
	sd_bus_unref(bus);
	if (err < 0)
		return err;
	err = systemd_entry_read(name, back, sizeof(back));
	if (err)
		return err;
	return strcmp(back, value) ? -EIO : 0;
}

/* Asked on its bus, not assumed: a container may have /run/systemd/system
 * with no manager behind it. sd_booted() first, so a host without systemd
 * never opens a socket. */
static bool systemd_answers(void)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	const char *dest;
	char *version = NULL;
	sd_bus *bus = NULL;
	int err;

	if (sd_booted() <= 0)
		return false;
	err = open_bus(&bus, &dest);
	if (err >= 0)
		err = sd_bus_get_property_string(bus, dest, SYSTEMD_OBJECT,
						 SYSTEMD_MANAGER, "Version",
						 &error, &version);
	sd_bus_error_free(&error);
	sd_bus_unref(bus);
	free(version);
	return err >= 0;
}

bool systemd_available(uint64_t now_ms)
{
	static bool answered, asked;
	static uint64_t ask_again_ms;

	if (asked && now_ms < ask_again_ms)
		return answered;
	asked = true;
	answered = systemd_answers();
	ask_again_ms = now_ms + SYSTEMD_PROBE_MS;
	return answered;
}
