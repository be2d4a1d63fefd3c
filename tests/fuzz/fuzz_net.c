// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for what names a guest's network devices: a VMM's
 * command line (the guest's owner writes it), a tun descriptor's fdinfo,
 * interface names, and libvirt's status file. Every name they give must
 * pass net_devices_name_valid() before a sysfs path is built from it, so
 * what they return is checked against it here. The first byte picks the
 * parser (its low two bits) and, for a command line, the VMM whose
 * grammar reads it (the rest); the other bytes are its input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collect/libvirt_status.h"
#include "collect/net_devices.h"
#include "collect/net_spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *terminated(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);

	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	return text;
}

/* A name a spec parser stored fits its buffer, NUL and all. */
static void check_spec_name(int err, const char *name, size_t size)
{
	if (err > 0 || (err == 0 && !memchr(name, '\0', size)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char names[8][IRQ_NAME_LEN + 1], name[IRQ_NAME_LEN + 1];
	char *text, *spec_name;
	int count;

	if (size < 1)
		return 0;
	text = terminated(data + 1, size - 1);
	switch (data[0] % 4) {
	case 0:
		count = net_devices_parse_cmdline(
			(enum vmm_kind)(data[0] / 4 % (VMM_CROSVM + 1)),
			(const char *)data + 1, size - 1, names, 8);
		if (count < 0 || count > 8)
			abort();
		for (int i = 0; i < count; i++)
			if (!net_devices_name_valid(names[i]))
				abort();
		/* The spec grammars on their own, into a buffer of 4 that
		 * the sanitizer watches. */
		spec_name = malloc(4);
		if (!spec_name)
			abort();
		check_spec_name(
			net_spec_cloud_hypervisor_tap((const char *)data + 1,
						      size - 1, spec_name, 4),
			spec_name, 4);
		check_spec_name(net_spec_crosvm_tap((const char *)data + 1,
						    size - 1, spec_name, 4),
				spec_name, 4);
		free(spec_name);
		break;
	case 1:
		if (net_devices_parse_fdinfo(text, name, sizeof(name)) == 0 &&
		    !net_devices_name_valid(name))
			abort();
		break;
	case 2:
		if (net_devices_name_valid(text) &&
		    (strlen(text) >= IRQ_NAME_LEN || strchr(text, '/')))
			abort();
		break;
	case 3:
		count = libvirt_status_parse(text, 1, names, 8);
		for (int i = 0; i < count; i++)
			if (!memchr(names[i], '\0', sizeof(names[i])))
				abort();
		break;
	}
	free(text);
	return 0;
}
