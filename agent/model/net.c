// SPDX-License-Identifier: GPL-2.0-only
/*
 * A guest's network devices in a window (model/net.h).
 */
#include <string.h>

#include "model/net.h"

const char *net_counter_name(enum net_counter which)
{
	static const char *const names[NET_COUNTERS] = {
		"rx_packets", "rx_bytes", "rx_dropped",
		"tx_packets", "tx_bytes", "tx_dropped",
	};

	return which >= 0 && which < NET_COUNTERS ? names[which] : NULL;
}

static const struct guest_net_device *
find_device(const struct guest_net_device *devices, size_t count,
	    const struct guest_net_device *like)
{
	for (size_t i = 0; i < count; i++)
		if (devices[i].ifindex == like->ifindex &&
		    strcmp(devices[i].name, like->name) == 0)
			return &devices[i];
	return NULL;
}

size_t net_report_build(struct report_net_device *out,
			const struct guest_net_device *before,
			size_t before_count,
			const struct guest_net_device *after,
			size_t after_count)
{
	for (size_t i = 0; i < after_count; i++) {
		const struct guest_net_device *now = &after[i];
		const struct guest_net_device *then =
			find_device(before, before_count, now);

		memcpy(out[i].name, now->name, sizeof(out[i].name));
		out[i].ifindex = now->ifindex;
		for (int c = 0; c < NET_COUNTERS; c++) {
			uint64_t start = then ? then->counters[c] : 0;

			out[i].counters[c] = now->counters[c] > start ?
						     now->counters[c] - start :
						     0;
		}
	}
	return after_count;
}
