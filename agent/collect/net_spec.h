/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One network option value of a VMM's command line, in that VMM's own
 * grammar, and the tap device it names. Owns the grammars only: which
 * argument is such a value, and whether a name is one the kernel would
 * take, are net_devices.c's (net_devices_name_valid). Pure: never
 * trusts its input, never prints.
 */
#ifndef KVMWARDEN_NET_SPEC_H
#define KVMWARDEN_NET_SPEC_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stddef.h>

/* QEMU: the ifname of a tap back end's options ("tap,id=n0,ifname=N",
 * "type=tap,..." or the JSON form '{"type":"tap","ifname":"N",...}'), or
 * "" when they are another back end or name none (libvirt's JSON passes
 * an fd). A JSON name that does not fit `size` is "".
 * `opts` is len bytes, not NUL-terminated; a name cut to fit `size` is
 * still too long to be valid when size is well over IFNAMSIZ. */
void net_spec_qemu_tap(const char *opts, size_t len, char *name, size_t size);

/* cloud-hypervisor: the tap of one `--net` value
 * ("tap=N,mac=...,ip=...,mask=...", its option_parser's grammar: commas
 * inside "..." or [...] do not split, the key is what precedes the first
 * '=', the value is trimmed and loses its quotes, the last of a key
 * wins). 0 with the name in `name`; -ENOENT when it names none (no tap=
 * or an empty one: cloud-hypervisor makes and names its own; fd=...
 * alone; vhost_user=on, whose tap is the back end's); -EINVAL when
 * cloud-hypervisor would refuse it or its versions read the name
 * differently (a doubled quote); -ENAMETOOLONG when the name does not
 * fit `size`. */
int net_spec_cloud_hypervisor_tap(const char *spec, size_t len, char *name,
				  size_t size);

/* crosvm: the tap of one `--net` value ("tap-name=N,mac=...", in
 * serde_keyvalue's grammar: a value is "..." with \" and \\ escapes,
 * '...' as is, [...], or a run of characters up to the next comma,
 * without quotes or brackets). 0 with the name in `name`; -ENOENT when
 * it names none (tap-fd=N, host-ip=...); -EINVAL when crosvm would
 * refuse it (a malformed value, tap-name twice, tap-name beside tap-fd);
 * -ENAMETOOLONG when the name does not fit `size`. */
int net_spec_crosvm_tap(const char *spec, size_t len, char *name, size_t size);

#endif
