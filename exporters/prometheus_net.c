// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvmwarden_guest_net_{receive,transmit}_{packets,bytes,drops}_total: a
 * guest's taps' own sysfs counters, cumulative since the agent first saw
 * each device (a device recreated under its name starts over, which
 * Prometheus takes as a counter reset). Directions are the device's: a
 * tap receives what the guest transmits. Names are a public contract
 * (README.md): add, never rename.
 */
#include <inttypes.h>
#include <string.h>

#include "prom_write.h"
#include "prometheus_net.h"

/* The same guest listed twice (a VMM rediscovered under its pid and
 * name): only the newest entry's series are written, as for every other
 * guest family, so no two samples share their labels. */
static bool newer_entry_exists(const struct guest_table *table, size_t index)
{
	const struct guest *guest = &table->guests[index];

	for (size_t i = index + 1; i < table->guest_count; i++)
		if (table->guests[i].pid == guest->pid &&
		    !strcmp(table->guests[i].name, guest->name))
			return true;
	return false;
}

static void write_family(FILE *out, const struct guest_table *table,
			 enum net_counter counter, const char *name,
			 const char *help)
{
	prom_write_family(out, name, "counter", help);
	for (size_t g = 0; g < table->guest_count; g++) {
		const struct guest *guest = &table->guests[g];

		if (newer_entry_exists(table, g))
			continue;
		for (size_t d = 0; d < guest->net_count; d++) {
			const struct guest_net_device *device = &guest->net[d];

			if (device->ifindex <= 0)
				continue; /* never read */
			fprintf(out, "%s{guest=\"", name);
			prom_write_label_value(out, guest->name);
			fprintf(out, "\",vmm=\"%s\",pid=\"%d\",device=\"",
				vmm_kind_name(guest->vmm), guest->pid);
			prom_write_label_value(out, device->name);
			fprintf(out, "\"} %" PRIu64 "\n",
				device->counters[counter]);
		}
	}
}

void prometheus_net_write(FILE *out, const struct guest_table *table)
{
	static const struct {
		enum net_counter counter;
		const char *name;
		const char *help;
	} families[] = {
		{ NET_RX_PACKETS, "kvmwarden_guest_net_receive_packets_total",
		  "Packets the guest's host-side network device received "
		  "(for a tap: what the guest sent)." },
		{ NET_RX_BYTES, "kvmwarden_guest_net_receive_bytes_total",
		  "Bytes the guest's host-side network device received "
		  "(for a tap: what the guest sent)." },
		{ NET_RX_DROPPED, "kvmwarden_guest_net_receive_drops_total",
		  "Packets the guest's host-side network device dropped on "
		  "receive." },
		{ NET_TX_PACKETS, "kvmwarden_guest_net_transmit_packets_total",
		  "Packets the guest's host-side network device transmitted "
		  "(for a tap: what the guest was sent)." },
		{ NET_TX_BYTES, "kvmwarden_guest_net_transmit_bytes_total",
		  "Bytes the guest's host-side network device transmitted "
		  "(for a tap: what the guest was sent)." },
		{ NET_TX_DROPPED, "kvmwarden_guest_net_transmit_drops_total",
		  "Packets the guest's host-side network device dropped on "
		  "transmit (for a tap: the guest did not take them in "
		  "time)." },
	};

	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		write_family(out, table, families[i].counter, families[i].name,
			     families[i].help);
}
