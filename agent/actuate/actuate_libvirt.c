// SPDX-License-Identifier: GPL-2.0-only
/*
 * libvirt's live scheduler parameters and pinning as enforcement values:
 * the domain a value names, its text read, written and read back. The
 * connection is libvirt_conn.c's, the names and texts libvirt_text.c's.
 * Errors are negative errnos (a missing or restarted domain is -ENOENT, a
 * libvirtd that does not answer -ENOTCONN); the caller logs them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "actuate/actuate_libvirt.h"

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
	err = libvirt_conn_ensure();
	if (err)
		return err;
	domain = virDomainLookupByID(libvirt_conn_handle(), id);
	if (!domain)
		return libvirt_conn_error();
	err = virDomainGetUUIDString(domain, uuid) ? libvirt_conn_error() : 0;
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
	err = libvirt_conn_ensure();
	if (err)
		return err;
	*domain = virDomainLookupByUUIDString(libvirt_conn_handle(), uuid);
	if (!*domain)
		return libvirt_conn_error();
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
		return libvirt_conn_error();
	free(type);
	*params = calloc((size_t)*count, sizeof(**params));
	if (!*params)
		return -ENOMEM;
	if (virDomainGetSchedulerParametersFlags(domain, *params, count,
						 VIR_DOMAIN_AFFECT_LIVE)) {
		free(*params);
		*params = NULL;
		return libvirt_conn_error();
	}
	return 0;
}

static int param_value(virTypedParameterPtr params, int count, const char *name,
		       int64_t *value)
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
	int cpus = virNodeGetCPUMap(libvirt_conn_handle(), NULL, NULL, 0);

	if (cpus < 0)
		return libvirt_conn_error();
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
		return libvirt_conn_error();
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
		err = libvirt_conn_error();
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
	return failed ? libvirt_conn_error() : 0;
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
	err = libvirt_text_for_each_pin(text, pin_one, &target);
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
			err = virTypedParamsAddULLong(
				&params, &nparams, &maxparams, names[i],
				(unsigned long long)values[i]);
		if (err == -1)
			err = -ENOMEM;
	}
	if (!err && virDomainSetSchedulerParametersFlags(
			    domain, params, nparams, VIR_DOMAIN_AFFECT_LIVE))
		err = libvirt_conn_error();
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
	err = virDomainGetInfo(domain, &info) ? libvirt_conn_error() : 0;
	if (!err)
		err = sched_params(domain, &params, &count);
	virDomainFree(domain);
	if (err)
		return err;
	/* Missing periods mean the kernel's default. */
	param_value(params, count, "vcpu_period", &vcpu_period);
	param_value(params, count, "emulator_period", &emulator_period);
	virTypedParamsFree(params, count);
	values[0] =
		libvirt_quota_us((uint64_t)vcpu_period, value, info.nrVirtCpu);
	values[1] = libvirt_quota_us((uint64_t)emulator_period, value,
				     info.nrVirtCpu);
	return libvirt_params_format(names, values, 2, text, size);
}
