// SPDX-License-Identifier: GPL-2.0-only
/*
 * libvirt's live scheduler parameters as enforcement values. One
 * connection to qemu:///system, opened on first need and reopened after
 * libvirtd went away; libvirt's own error printing is silenced, errors
 * become negative errnos (a missing or restarted domain is -ENOENT, a
 * libvirtd that does not answer -ENOTCONN) and the caller logs them.
 *
 * libvirt's client has no per-call timeout: a libvirtd that hangs (stopped,
 * deadlocked) would hold the control loop inside a call for good. Its
 * keepalive is the way out: with libvirt's default event loop running on a
 * thread of its own, a connection whose daemon misses KEEPALIVE_COUNT
 * pings KEEPALIVE_INTERVAL_S apart is closed, and the call in flight
 * returns an error instead. Opening a connection has no keepalive yet, so
 * it runs on a thread of its own that the control loop waits for at most
 * OPEN_WAIT_MS; an open still hanging is picked up by a later call once
 * libvirtd answers.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "actuate/actuate_libvirt.h"

/* The kernel's floor for a quota is 1 ms; libvirt refuses less. */
#define MIN_QUOTA_US 1000
#define DEFAULT_PERIOD_US 100000

#define KEEPALIVE_INTERVAL_S 1
#define KEEPALIVE_COUNT 2
#define OPEN_WAIT_MS 2000

static virConnectPtr connection;
static uint64_t retry_at_ms;
static bool event_loop_running;

/* The open in flight: started by one call, its result taken by the call
 * that finds it done. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t done_cond;
	bool busy;
	bool done;
	virConnectPtr result;
} opener = { .lock = PTHREAD_MUTEX_INITIALIZER,
	      .done_cond = PTHREAD_COND_INITIALIZER };

/* ---------------------------------------------------------- pure parts */

static int parse_id(const char *digits, size_t len)
{
	int id = 0;

	if (!len || len > 9)
		return -ENOENT;
	for (size_t i = 0; i < len; i++) {
		if (digits[i] < '0' || digits[i] > '9')
			return -ENOENT;
		id = id * 10 + (digits[i] - '0');
	}
	return id;
}

/* The ID in one path component, when it is a libvirt QEMU machine's. */
static int component_id(const char *comp, size_t len)
{
	static const char v1_prefix[] = "qemu-", v1_suffix[] = ".libvirt-qemu";
	static const char v2_prefix[] = "machine-qemu\\x2d", v2_dash[] = "\\x2d";
	static const char v2_suffix[] = ".scope";
	const char *digits, *end;

	if (len > strlen(v1_prefix) + strlen(v1_suffix) &&
	    !strncmp(comp, v1_prefix, strlen(v1_prefix)) &&
	    !strncmp(comp + len - strlen(v1_suffix), v1_suffix,
		     strlen(v1_suffix))) {
		digits = comp + strlen(v1_prefix);
		end = memchr(digits, '-', (size_t)(comp + len - digits));
		return end ? parse_id(digits, (size_t)(end - digits)) : -ENOENT;
	}
	if (len > strlen(v2_prefix) + strlen(v2_suffix) &&
	    !strncmp(comp, v2_prefix, strlen(v2_prefix)) &&
	    !strncmp(comp + len - strlen(v2_suffix), v2_suffix,
		     strlen(v2_suffix))) {
		digits = comp + strlen(v2_prefix);
		end = memmem(digits, (size_t)(comp + len - digits), v2_dash,
			     strlen(v2_dash));
		return end ? parse_id(digits, (size_t)(end - digits)) : -ENOENT;
	}
	return -ENOENT;
}

int libvirt_machine_id(const char *cgroup_path)
{
	const char *part = cgroup_path;

	while (part && *part) {
		const char *end;
		int id;

		while (*part == '/')
			part++;
		end = strchrnul(part, '/');
		id = component_id(part, (size_t)(end - part));
		if (id >= 0)
			return id;
		part = end;
	}
	return -ENOENT;
}

bool libvirt_is_file(const char *file)
{
	return !strncmp(file, LIBVIRT_PREFIX, strlen(LIBVIRT_PREFIX));
}

int libvirt_file_name(const char *uuid, int id, enum policy_knob knob,
		      char *file, size_t size)
{
	if (snprintf(file, size, LIBVIRT_PREFIX "%s:%d:%s", uuid, id,
		     policy_knob_name(knob)) >= (int)size)
		return -ENAMETOOLONG;
	return 0;
}

int libvirt_file_parse(const char *file, char *uuid, size_t uuid_size,
		       int *id, enum policy_knob *knob)
{
	static const enum policy_knob knobs[] = { POLICY_KNOB_CPU_WEIGHT,
						  POLICY_KNOB_CPU_QUOTA,
						  POLICY_KNOB_SEPARATE };
	const char *at, *colon;
	char *end;
	long parsed;

	if (!libvirt_is_file(file))
		return -EINVAL;
	at = file + strlen(LIBVIRT_PREFIX);
	colon = strchr(at, ':');
	if (!colon || colon == at || (size_t)(colon - at) >= uuid_size)
		return -EINVAL;
	snprintf(uuid, uuid_size, "%.*s", (int)(colon - at), at);
	errno = 0;
	parsed = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end != ':' || parsed < 0 ||
	    parsed > 999999999)
		return -EINVAL;
	*id = (int)parsed;
	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++)
		if (!strcmp(end + 1, policy_knob_name(knobs[i]))) {
			*knob = knobs[i];
			return 0;
		}
	return -EINVAL;
}

const char *const *libvirt_knob_params(enum policy_knob knob)
{
	static const char *const weight[] = { "cpu_shares", NULL };
	/* The emulator threads too: a cap the emulator could escape would
	 * leave a guest's I/O and device emulation as loud as before. */
	static const char *const quota[] = { "vcpu_quota", "emulator_quota",
					     NULL };

	if (knob == POLICY_KNOB_CPU_WEIGHT)
		return weight;
	if (knob == POLICY_KNOB_CPU_QUOTA)
		return quota;
	return NULL;
}

uint64_t libvirt_shares_for_weight(int cgroup_version, uint32_t weight)
{
	uint64_t shares = (uint64_t)weight * 1024 / 100;

	if (cgroup_version == 2)
		return weight < 1 ? 1 : weight > 10000 ? 10000 : weight;
	return shares < 2 ? 2 : shares > 262144 ? 262144 : shares;
}

int64_t libvirt_quota_us(uint64_t period_us, uint32_t percent,
			 unsigned int vcpus)
{
	uint64_t quota;

	if (!period_us)
		period_us = DEFAULT_PERIOD_US;
	quota = period_us * percent / 100 / (vcpus ? vcpus : 1);
	return quota < MIN_QUOTA_US ? MIN_QUOTA_US : (int64_t)quota;
}

int libvirt_params_parse(const char *text, char names[][32], int64_t *values,
			 int max)
{
	const char *at = text;
	int count = 0;

	while (*at) {
		const char *eq, *end;
		char *num_end;
		long long value;

		while (*at == ' ')
			at++;
		if (!*at)
			break;
		end = strchrnul(at, ' ');
		eq = memchr(at, '=', (size_t)(end - at));
		if (!eq || eq == at || eq - at >= 32 || count == max)
			return -EINVAL;
		errno = 0;
		value = strtoll(eq + 1, &num_end, 10);
		if (errno || num_end == eq + 1 || num_end != end)
			return -EINVAL;
		snprintf(names[count], 32, "%.*s", (int)(eq - at), at);
		values[count++] = value;
		at = end;
	}
	return count ? count : -EINVAL;
}

int libvirt_params_format(const char *const *names, const int64_t *values,
			  int count, char *text, size_t size)
{
	size_t used = 0;

	if (size)
		text[0] = '\0';
	for (int i = 0; i < count; i++) {
		int wrote = snprintf(text + used, size - used, "%s%s=%" PRId64,
				     i ? " " : "", names[i], values[i]);

		if (wrote < 0 || (size_t)wrote >= size - used)
			return -ENAMETOOLONG;
		used += (size_t)wrote;
	}
	return 0;
}

/* Calls `each` for every "NAME=CPULIST" in `text`; stops at an error. */
static int for_each_pin(const char *text,
			int (*each)(const char *name, const struct cpu_mask *,
				    void *),
			void *data)
{
	const char *at = text;
	int count = 0, err;

	while (*at) {
		char name[32], list[512];
		const char *eq, *end;
		struct cpu_mask mask;

		while (*at == ' ')
			at++;
		if (!*at)
			break;
		end = strchrnul(at, ' ');
		eq = memchr(at, '=', (size_t)(end - at));
		if (!eq || eq == at || eq - at >= (long)sizeof(name) ||
		    end - eq - 1 >= (long)sizeof(list))
			return -EINVAL;
		snprintf(name, sizeof(name), "%.*s", (int)(eq - at), at);
		snprintf(list, sizeof(list), "%.*s", (int)(end - eq - 1),
			 eq + 1);
		if (affinity_parse(list, &mask))
			return -EINVAL;
		err = each(name, &mask, data);
		if (err)
			return err;
		count++;
		at = end;
	}
	return count ? 0 : -EINVAL;
}

struct separate_out {
	const struct cpu_mask *victim, *rest;
	char *text;
	size_t size, used;
};

static int separate_one(const char *name, const struct cpu_mask *mask,
			void *data)
{
	struct separate_out *out = data;
	struct cpu_mask wanted;
	bool any = false;
	char list[512];
	int wrote;

	for (size_t w = 0; w < AFFINITY_MAX_CPUS / 64; w++) {
		wanted.bits[w] = mask->bits[w] & ~out->victim->bits[w];
		any |= wanted.bits[w] != 0;
	}
	if (!any)
		wanted = *out->rest;
	if (affinity_format(&wanted, list, sizeof(list)))
		return -EINVAL;
	wrote = snprintf(out->text + out->used, out->size - out->used,
			 "%s%s=%s", out->used ? " " : "", name, list);
	if (wrote < 0 || (size_t)wrote >= out->size - out->used)
		return -ENAMETOOLONG;
	out->used += (size_t)wrote;
	return 0;
}

int libvirt_separate_text(const char *current, const struct cpu_mask *victim,
			  const struct cpu_mask *rest, char *text, size_t size)
{
	struct separate_out out = { victim, rest, text, size, 0 };

	if (size)
		text[0] = '\0';
	return for_each_pin(current, separate_one, &out);
}

/* ---------------------------------------------------------- live API */

/* libvirt prints every error to stderr by default; ours are logged where
 * there is context. */
static void quiet(void *data, virErrorPtr error)
{
}

/* The last libvirt error as an errno. A connection that broke is closed
 * here so the next call reconnects. */
static int last_error(void)
{
	virErrorPtr error = virGetLastError();
	int code = error ? error->code : VIR_ERR_INTERNAL_ERROR;

	switch (code) {
	case VIR_ERR_NO_DOMAIN:
	case VIR_ERR_OPERATION_INVALID: /* not running (any more) */
		return -ENOENT;
	case VIR_ERR_NO_CONNECT:
	case VIR_ERR_INVALID_CONN:
	case VIR_ERR_RPC:
	case VIR_ERR_SYSTEM_ERROR:
		libvirt_disconnect();
		return -ENOTCONN;
	case VIR_ERR_INVALID_ARG:
	case VIR_ERR_OVERFLOW:
		return -EINVAL;
	case VIR_ERR_OPERATION_DENIED:
	case VIR_ERR_ACCESS_DENIED:
		return -EPERM;
	case VIR_ERR_NO_SUPPORT:
	case VIR_ERR_ARGUMENT_UNSUPPORTED:
		return -EOPNOTSUPP;
	default:
		return -EIO;
	}
}

static void *run_event_loop(void *unused)
{
	(void)unused;
	for (;;)
		virEventRunDefaultImpl();
	return NULL;
}

/* libvirt's default event loop on a thread of its own, once per process;
 * every signal stays with the agent's own threads. Without it keepalive
 * cannot run, and a hung libvirtd blocks as before. */
static void start_event_loop(void)
{
	sigset_t all, saved;
	pthread_t thread;

	if (event_loop_running || virEventRegisterDefaultImpl() < 0)
		return;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &saved);
	if (pthread_create(&thread, NULL, run_event_loop, NULL) == 0) {
		pthread_detach(thread);
		event_loop_running = true;
	}
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
}

static void *open_connection(void *unused)
{
	virConnectPtr opened;

	(void)unused;
	opened = virConnectOpen(LIBVIRT_URI);
	pthread_mutex_lock(&opener.lock);
	opener.result = opened;
	opener.done = true;
	pthread_cond_signal(&opener.done_cond);
	pthread_mutex_unlock(&opener.lock);
	return NULL;
}

/* A connection, opened on the opener thread and waited for at most
 * OPEN_WAIT_MS; NULL when libvirtd refused or has not answered yet. Only
 * the call that starts an open waits: while one hangs, the others (every
 * value read of every interval) return at once. */
static virConnectPtr open_bounded(void)
{
	struct timespec deadline;
	virConnectPtr opened = NULL;
	sigset_t all, saved;
	pthread_t thread;
	bool started = false;

	pthread_mutex_lock(&opener.lock);
	if (!opener.busy) {
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &saved);
		if (pthread_create(&thread, NULL, open_connection, NULL) == 0) {
			pthread_detach(thread);
			opener.busy = true;
			opener.done = false;
			started = true;
		}
		pthread_sigmask(SIG_SETMASK, &saved, NULL);
	}
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += OPEN_WAIT_MS / 1000;
	deadline.tv_nsec += (OPEN_WAIT_MS % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	while (started && !opener.done &&
	       pthread_cond_timedwait(&opener.done_cond, &opener.lock,
				      &deadline) == 0)
		;
	if (opener.busy && opener.done) {
		opened = opener.result;
		opener.result = NULL;
		opener.busy = false;
	}
	pthread_mutex_unlock(&opener.lock);
	return opened;
}

bool libvirt_available(uint64_t now_ms)
{
	if (connection && virConnectIsAlive(connection) == 1)
		return true;
	if (connection) {
		/* Dead (keepalive or a restart): reopen a retry later, so the
		 * loss is seen and logged before a new open is tried. */
		libvirt_disconnect();
		retry_at_ms = now_ms + LIBVIRT_RETRY_MS;
		return false;
	}
	if (now_ms < retry_at_ms)
		return false;
	virSetErrorFunc(NULL, quiet);
	start_event_loop();
	connection = open_bounded();
	if (!connection) {
		retry_at_ms = now_ms + LIBVIRT_RETRY_MS;
		return false;
	}
	if (event_loop_running &&
	    virConnectSetKeepAlive(connection, KEEPALIVE_INTERVAL_S,
				   KEEPALIVE_COUNT) < 0)
		fputs("<4>kvmwarden: libvirt keepalive not set: a hung "
		      "libvirtd would block enforcement\n",
		      stderr);
	return true;
}

void libvirt_disconnect(void)
{
	if (connection)
		virConnectClose(connection);
	connection = NULL;
}

/* For calls outside the control loop (restore, the value functions): a
 * connection now, whatever the retry clock says. */
static int connected(void)
{
	if (connection && virConnectIsAlive(connection) == 1)
		return 0;
	libvirt_disconnect();
	retry_at_ms = 0;
	return libvirt_available(0) ? 0 : -ENOTCONN;
}

int libvirt_knob_file(const char *cgroup_path, enum policy_knob knob,
		      char *file, size_t size)
{
	char uuid[VIR_UUID_STRING_BUFLEN];
	virDomainPtr domain;
	int id, err;

	if (!libvirt_knob_params(knob) && knob != POLICY_KNOB_SEPARATE)
		return -EOPNOTSUPP;
	id = libvirt_machine_id(cgroup_path);
	if (id < 0)
		return id;
	err = connected();
	if (err)
		return err;
	domain = virDomainLookupByID(connection, id);
	if (!domain)
		return last_error();
	err = virDomainGetUUIDString(domain, uuid) ? last_error() : 0;
	virDomainFree(domain);
	if (err)
		return err;
	return libvirt_file_name(uuid, id, knob, file, size);
}

/* The running domain `file` names: -ENOENT when it is gone or a new run
 * of it (another ID) is what runs now. */
static int domain_of(const char *file, virDomainPtr *domain,
		     enum policy_knob *knob)
{
	char uuid[LIBVIRT_UUID_LEN];
	int id, err;

	*domain = NULL;
	err = libvirt_file_parse(file, uuid, sizeof(uuid), &id, knob);
	if (err)
		return err;
	err = connected();
	if (err)
		return err;
	*domain = virDomainLookupByUUIDString(connection, uuid);
	if (!*domain)
		return last_error();
	if (virDomainGetID(*domain) != (unsigned int)id) {
		virDomainFree(*domain);
		*domain = NULL;
		return -ENOENT;
	}
	return 0;
}

/* The live scheduler parameters; *params freed with virTypedParamsFree. */
static int sched_params(virDomainPtr domain, virTypedParameterPtr *params,
			int *count)
{
	char *type;

	*params = NULL;
	type = virDomainGetSchedulerType(domain, count);
	if (!type)
		return last_error();
	free(type);
	*params = calloc((size_t)*count, sizeof(**params));
	if (!*params)
		return -ENOMEM;
	if (virDomainGetSchedulerParametersFlags(domain, *params, count,
						 VIR_DOMAIN_AFFECT_LIVE)) {
		free(*params);
		*params = NULL;
		return last_error();
	}
	return 0;
}

static int param_value(virTypedParameterPtr params, int count,
		       const char *name, int64_t *value)
{
	unsigned long long unsigned_value;
	long long signed_value;

	if (virTypedParamsGetLLong(params, count, name, &signed_value) == 1) {
		*value = signed_value;
		return 0;
	}
	if (virTypedParamsGetULLong(params, count, name, &unsigned_value) ==
	    1) {
		*value = (int64_t)unsigned_value;
		return 0;
	}
	return -ENODATA;
}

/* The knob's parameters as text, from an open domain. */
static int read_text(virDomainPtr domain, enum policy_knob knob, char *text,
		     size_t size)
{
	const char *const *names = libvirt_knob_params(knob);
	int64_t values[LIBVIRT_MAX_PARAMS];
	virTypedParameterPtr params;
	int count, n = 0, err;

	err = sched_params(domain, &params, &count);
	if (err)
		return err;
	for (; names[n] && !err; n++)
		err = param_value(params, count, names[n], &values[n]);
	virTypedParamsFree(params, count);
	if (err)
		return -EOPNOTSUPP; /* this driver or cgroup lacks the knob */
	return libvirt_params_format(names, values, n, text, size);
}

/* libvirt's CPU maps: a bit per host CPU in maplen bytes. */
static void map_to_mask(const unsigned char *map, int maplen,
			struct cpu_mask *mask)
{
	memset(mask, 0, sizeof(*mask));
	for (int cpu = 0; cpu < maplen * 8 && cpu < AFFINITY_MAX_CPUS; cpu++)
		if (VIR_CPU_USED(map, cpu))
			cpu_mask_add(mask, cpu);
}

static int host_maplen(void)
{
	int cpus = virNodeGetCPUMap(connection, NULL, NULL, 0);

	if (cpus < 0)
		return last_error();
	if (cpus > AFFINITY_MAX_CPUS)
		return -EOVERFLOW;
	return VIR_CPU_MAPLEN(cpus);
}

/* The live pinning of every vCPU and of the emulator threads as text. */
static int read_pins(virDomainPtr domain, char *text, size_t size)
{
	unsigned char *maps;
	virDomainInfo info;
	int maplen, vcpus, got, err = 0;
	size_t used = 0;

	maplen = host_maplen();
	if (maplen < 0)
		return maplen;
	if (virDomainGetInfo(domain, &info))
		return last_error();
	maps = calloc(info.nrVirtCpu + 1, (size_t)maplen);
	if (!maps)
		return -ENOMEM;
	vcpus = virDomainGetVcpuPinInfo(domain, (int)info.nrVirtCpu, maps,
					maplen, VIR_DOMAIN_AFFECT_LIVE);
	got = vcpus < 0 ? -1 :
			  virDomainGetEmulatorPinInfo(
				  domain, maps + (size_t)vcpus * maplen, maplen,
				  VIR_DOMAIN_AFFECT_LIVE);
	if (got < 0) {
		err = last_error();
		goto out;
	}
	/* 0: the emulator is pinned nowhere, so it may run everywhere. */
	if (got == 0)
		memset(maps + (size_t)vcpus * maplen, 0xff, (size_t)maplen);
	for (int i = 0; i <= vcpus && !err; i++) {
		struct cpu_mask mask;
		char list[512], name[32];
		int wrote;

		map_to_mask(maps + (size_t)i * maplen, maplen, &mask);
		if (i == vcpus)
			snprintf(name, sizeof(name), "emulator");
		else
			snprintf(name, sizeof(name), "vcpu%d", i);
		err = affinity_format(&mask, list, sizeof(list));
		if (err)
			break;
		wrote = snprintf(text + used, size - used, "%s%s=%s",
				 used ? " " : "", name, list);
		if (wrote < 0 || (size_t)wrote >= size - used)
			err = -ENAMETOOLONG;
		else
			used += (size_t)wrote;
	}
out:
	free(maps);
	return err;
}

struct pin_target {
	virDomainPtr domain;
	int maplen;
};

static int pin_one(const char *name, const struct cpu_mask *mask, void *data)
{
	struct pin_target *target = data;
	unsigned char map[AFFINITY_MAX_CPUS / 8] = { 0 };
	unsigned int vcpu;
	char extra;
	int failed;

	for (int cpu = 0; cpu < target->maplen * 8; cpu++)
		if (cpu_mask_has(mask, cpu))
			VIR_USE_CPU(map, cpu);
	if (!strcmp(name, "emulator"))
		failed = virDomainPinEmulator(target->domain, map,
					      target->maplen,
					      VIR_DOMAIN_AFFECT_LIVE);
	else if (sscanf(name, "vcpu%u%c", &vcpu, &extra) == 1)
		failed = virDomainPinVcpuFlags(target->domain, vcpu, map,
					       target->maplen,
					       VIR_DOMAIN_AFFECT_LIVE);
	else
		return -EINVAL;
	return failed ? last_error() : 0;
}

int libvirt_value_read(const char *file, char *text, size_t size)
{
	enum policy_knob knob;
	virDomainPtr domain;
	int err;

	err = domain_of(file, &domain, &knob);
	if (err)
		return err;
	if (knob == POLICY_KNOB_SEPARATE)
		err = read_pins(domain, text, size);
	else
		err = read_text(domain, knob, text, size);
	virDomainFree(domain);
	return err;
}

/* Pins as `text` says, then reads the pinning back. */
static int write_pins(virDomainPtr domain, const char *text)
{
	struct pin_target target = { domain, 0 };
	char back[1024];
	int err;

	target.maplen = host_maplen();
	if (target.maplen < 0)
		return target.maplen;
	err = for_each_pin(text, pin_one, &target);
	if (!err)
		err = read_pins(domain, back, sizeof(back));
	if (!err && strcmp(back, text))
		err = -EIO;
	return err;
}

int libvirt_value_write(const char *file, const char *text)
{
	char names[LIBVIRT_MAX_PARAMS][32], back[256];
	int64_t values[LIBVIRT_MAX_PARAMS];
	virTypedParameterPtr params = NULL;
	int count, nparams = 0, maxparams = 0, err;
	enum policy_knob knob;
	virDomainPtr domain;

	err = domain_of(file, &domain, &knob);
	if (err)
		return err;
	if (knob == POLICY_KNOB_SEPARATE) {
		err = write_pins(domain, text);
		virDomainFree(domain);
		return err;
	}
	count = libvirt_params_parse(text, names, values, LIBVIRT_MAX_PARAMS);
	if (count < 0) {
		virDomainFree(domain);
		return count;
	}
	for (int i = 0; i < count && !err; i++) {
		/* libvirt's types: shares and periods unsigned, quotas
		 * signed (negative: no limit). */
		if (strstr(names[i], "quota"))
			err = virTypedParamsAddLLong(&params, &nparams,
						     &maxparams, names[i],
						     values[i]);
		else if (values[i] < 0)
			err = -EINVAL;
		else
			err = virTypedParamsAddULLong(&params, &nparams,
						      &maxparams, names[i],
						      (unsigned long long)
							      values[i]);
		if (err == -1)
			err = -ENOMEM;
	}
	if (!err && virDomainSetSchedulerParametersFlags(
			    domain, params, nparams, VIR_DOMAIN_AFFECT_LIVE))
		err = last_error();
	if (!err)
		err = read_text(domain, knob, back, sizeof(back));
	if (!err && strcmp(back, text))
		err = -EIO;
	virTypedParamsFree(params, nparams);
	virDomainFree(domain);
	return err;
}

int libvirt_knob_text(int cgroup_version, const char *file, uint32_t value,
		      char *text, size_t size)
{
	const char *const *names;
	int64_t values[LIBVIRT_MAX_PARAMS];
	virTypedParameterPtr params;
	enum policy_knob knob;
	virDomainPtr domain;
	virDomainInfo info;
	int64_t vcpu_period = 0, emulator_period = 0;
	int count, err;

	err = domain_of(file, &domain, &knob);
	if (err)
		return err;
	names = libvirt_knob_params(knob);
	if (knob == POLICY_KNOB_CPU_WEIGHT) {
		virDomainFree(domain);
		values[0] = (int64_t)libvirt_shares_for_weight(cgroup_version,
							       value);
		return libvirt_params_format(names, values, 1, text, size);
	}
	err = virDomainGetInfo(domain, &info) ? last_error() : 0;
	if (!err)
		err = sched_params(domain, &params, &count);
	virDomainFree(domain);
	if (err)
		return err;
	/* Missing periods mean the kernel's default. */
	param_value(params, count, "vcpu_period", &vcpu_period);
	param_value(params, count, "emulator_period", &emulator_period);
	virTypedParamsFree(params, count);
	values[0] = libvirt_quota_us((uint64_t)vcpu_period, value,
				     info.nrVirtCpu);
	values[1] = libvirt_quota_us((uint64_t)emulator_period, value,
				     info.nrVirtCpu);
	return libvirt_params_format(names, values, 2, text, size);
}
