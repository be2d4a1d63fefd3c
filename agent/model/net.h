/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A guest's network devices (its taps and macvtaps, in the host's network
 * namespace) and their own counters, as sysfs gives them: cumulative since
 * the agent first saw the device, so a window is the difference of two
 * samples like every other figure. Directions are the device's: a tap's
 * rx is what the host received from the guest (the guest's transmit).
 * Pure data: collection fills it (collect/net_devices.c).
 */
#ifndef KVMWARDEN_MODEL_NET_H
#define KVMWARDEN_MODEL_NET_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stddef.h>
#include <stdint.h>

#include "irq.h"

/* Devices kept per guest; more are counted in net_dropped_devices. */
#define GUEST_NET_MAX 16

enum net_counter {
	NET_RX_PACKETS = 0,
	NET_RX_BYTES = 1,
	NET_RX_DROPPED = 2,
	NET_TX_PACKETS = 3,
	NET_TX_BYTES = 4,
	NET_TX_DROPPED = 5,
	NET_COUNTERS = 6,
};

/* "rx_packets", ... : sysfs's file names, the JSON's and the metrics'. */
const char *net_counter_name(enum net_counter which);

struct guest_net_device {
	char name[IRQ_NAME_LEN + 1];
	int ifindex; /* a device recreated under the same name starts over */
	/* since first seen: sysfs's value minus `base` */
	uint64_t counters[NET_COUNTERS];
	uint64_t base[NET_COUNTERS]; /* sysfs's values when first seen */
	int gone; /* not found by the last collection */
};

/* One device's figures in a window. */
struct report_net_device {
	char name[IRQ_NAME_LEN + 1];
	int ifindex;
	uint64_t counters[NET_COUNTERS];
};

/* The window's figures of each device in `after` (count `after_count`)
 * over the same device (name and ifindex) in `before`, which counts from
 * zero when missing. `out` holds after_count entries; returns how many
 * were filled. */
size_t net_report_build(struct report_net_device *out,
			const struct guest_net_device *before,
			size_t before_count,
			const struct guest_net_device *after,
			size_t after_count);

#endif
