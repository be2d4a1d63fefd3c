/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libvirt's status file of a running domain (/run/libvirt/qemu/NAME.xml,
 * written by libvirtd, readable by root): the interface targets libvirt
 * made for it (`<target dev='vnet0'/>`), found without a libvirt
 * connection, which only the enforcement layer holds. The parser takes a
 * buffer and never trusts it. Never prints.
 */
#ifndef KVMWARDEN_LIBVIRT_STATUS_H
#define KVMWARDEN_LIBVIRT_STATUS_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include "irq.h"

/* Where libvirt's QEMU driver keeps them on a system instance. */
#define LIBVIRT_STATUS_DIR "/run/libvirt/qemu"

/* The interface targets of a status document whose domain runs as `pid`
 * (its <domstatus pid=...>): stores at most max names that fit, in
 * document order, and returns how many; -ESRCH when the document is
 * another process's (a stale file), -EINVAL when it is no status
 * document. The names are not checked: net_devices_name_valid() is the
 * caller's to apply. */
int libvirt_status_parse(const char *xml, int pid,
			 char (*names)[IRQ_NAME_LEN + 1], int max);

/* Reads STATUS_DIR/DOMAIN.xml and parses it as above; -ENOENT (or the
 * open's errno) when there is none to read, -EINVAL for a domain name no
 * libvirt file could have. */
int libvirt_status_read(const char *status_dir, const char *domain, int pid,
			char (*names)[IRQ_NAME_LEN + 1], int max);

#endif
