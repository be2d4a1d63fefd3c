/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A guest's own network devices in the host's namespace (its taps and
 * macvtaps) and their counters. Discovery names them once a pass, from
 * what /proc shows of the VMM (net_devices_discover); collection reads
 * their counters from sysfs every tick (net_devices_collect) into
 * guest->net[] (model/net.h). No netlink: the unit allows no sockets
 * beyond its own, and sysfs has every figure. Never prints.
 */
#ifndef KVMWARDEN_NET_DEVICES_H
#define KVMWARDEN_NET_DEVICES_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collect/tracker.h"
#include "model/net.h"
#include "model/vmm_identity.h"

/* An interface name as the kernel would accept it (dev_valid_name): 1 to
 * 15 characters, none of them '/', ':' or white space, and not "." or
 * "..". Every name read from a guest's command line, /proc or sysfs is
 * checked before a sysfs path is built from it. */
bool net_devices_name_valid(const char *name);

/* The interface names a VMM's command line (NUL-separated, as
 * /proc/PID/cmdline) gives its taps, in the grammar of `kind`:
 *  - cloud-hypervisor: `--net tap=N,...` (several values after one
 *    --net, or --net=...), none for fd= alone or vhost_user=on;
 *  - crosvm: `--net tap-name=N,...`, `--tap-name N`, `--tap-name=N`;
 *  - QEMU, and any other: `-netdev tap,...,ifname=N`, the same for -net
 *    and -nic.
 * For the first two, an argument without its NUL at the buffer's end was
 * cut off and names nothing. Stores at most max valid names, without
 * repeats; returns how many it stored. Invalid names are skipped. */
int net_devices_parse_cmdline(enum vmm_kind kind, const char *buf, size_t len,
			      char (*names)[IRQ_NAME_LEN + 1], int max);

/* The device a /dev/net/tun descriptor is attached to, from its
 * /proc/PID/fdinfo/N text ("iff:\tNAME"): 0, -ENOENT when it is attached
 * to none, -EINVAL when the name is not a valid one. */
int net_devices_parse_fdinfo(const char *text, char *name, size_t size);

/* Takes one reading of a device into its entry: a new ifindex (first
 * sight, or the name recreated as another device) starts it over from
 * `values` as its base; else its counters become values - base, never
 * going back. Marks it present. */
void net_devices_take(struct guest_net_device *device, int ifindex,
		      const uint64_t values[NET_COUNTERS]);

/* Which devices are the guest's now: those found are listed in guest->net
 * (new ones appended until GUEST_NET_MAX, the rest counted in
 * net_dropped_devices), those no longer found are marked gone. A VMM that
 * vanished mid-read changes nothing. */
void net_devices_discover(struct tracker *tracker, struct guest *guest);

/* Every live guest's listed devices' counters, from
 * SYS_ROOT/class/net/NAME/{ifindex,statistics/...}. A device that cannot
 * be read (deleted, renamed) is marked gone and keeps its counters; so are
 * all of an exited guest's. */
void net_devices_collect(struct tracker *tracker);

#endif
