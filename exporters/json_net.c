// SPDX-License-Identifier: GPL-2.0-only
/*
 * A guest's "net" list: per device, its name, ifindex and the six sysfs
 * counters' window figures under sysfs's own names. Directions are the
 * device's: a tap's rx is what the guest sent.
 */
#include "json_net.h"

struct json_object *json_net_list(const struct report_guest *guest)
{
	struct json_object *list = json_object_new_array();

	for (size_t i = 0; list && i < guest->net_count; i++) {
		const struct report_net_device *device = &guest->net[i];
		struct json_object *obj;

		/* Listed by discovery but never read (gone before the first
		 * tick): no ifindex, no figures to give. */
		if (device->ifindex <= 0)
			continue;
		obj = json_object_new_object();
		json_object_object_add(obj, "device",
				       json_object_new_string(device->name));
		json_object_object_add(obj, "ifindex",
				       json_object_new_int(device->ifindex));
		for (int c = 0; c < NET_COUNTERS; c++)
			json_object_object_add(
				obj, net_counter_name(c),
				json_object_new_uint64(device->counters[c]));
		json_object_array_add(list, obj);
	}
	return list;
}
