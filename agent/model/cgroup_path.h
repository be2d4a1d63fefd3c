/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What a cgroup path (as /proc/PID/cgroup shows it) says by its names: the
 * libvirt QEMU machine it lies in, with systemd's escaping undone. Pure;
 * collect/procfs.h reads the paths, config/ and policy/ judge them.
 */
#ifndef KVMWARDEN_CGROUP_PATH_H
#define KVMWARDEN_CGROUP_PATH_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stddef.h>

/* The longest path component handled (a machine's scope name). */
#define CGROUP_PATH_LEN 512

/* Undoes systemd unit-name escaping: any "\xNN" becomes that byte. Returns 0,
 * -EINVAL on a malformed escape (or "\x00"), -ENAMETOOLONG if out is small. */
int systemd_unescape(const char *in, char *out, size_t size);

/*
 * The libvirt domain name from a cgroup path, if the path lies in a libvirt
 * QEMU machine cgroup: v1 ".../qemu-N-NAME.libvirt-qemu[/sub]" or the older
 * ".../NAME.libvirt-qemu[/sub]", v2 ".../machine-qemu\x2dN\x2dNAME.scope[/..]"
 * under any slices. Returns 0, -ENOENT when it is not such a cgroup, -EINVAL
 * when malformed. libvirt sanitises and may shorten NAME, so the command line
 * is the better source when it has one.
 */
int cgroup_libvirt_name(const char *cgroup_path, char *name, size_t size);

/* The next '/'-separated component at *cursor (advanced past it), or NULL
 * at the end; *len is its length. */
const char *cgroup_path_next_component(const char **cursor, size_t *len);
/* cgroup_libvirt_name(), and *rest points just past the machine's
 * component (procfs_libvirt_thread_kind reads the sub-cgroup there). */
int cgroup_path_libvirt_split(const char *path, char *name, size_t size,
			      const char **rest);

#endif
