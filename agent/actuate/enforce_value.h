/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A journaled "file" is a cgroup file, a task's affinity by name, a
 * libvirt domain's scheduler parameters, a systemd unit's property or an
 * I/O device entry: this module sends each read and write to the backend
 * its name belongs to, so the write step (enforce_write.h) and the undo
 * path (enforce_restore.h) never need to know which one it is.
 */
#ifndef KVMWARDEN_ENFORCE_VALUE_H
#define KVMWARDEN_ENFORCE_VALUE_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stddef.h>

/* The value `file` holds now, through its backend. Negative errno;
 * -ENOENT when its cgroup, task or domain went away. */
int enforce_value_read(const char *file, char *value, size_t size);
/* The same for a journal entry made for `owner` (its cgroup field):
 * -ENOENT, as if gone, when the file now belongs to something else (an
 * IRQ number handed to another device, actuate_steer.h). Undo reads
 * through this, so a value is never put back into another's file. */
int enforce_value_read_owned(const char *file, const char *owner, char *value,
			     size_t size);
/* Writes `value` through `file`'s backend; -EIO when what reads back
 * differs. */
int enforce_value_write(const char *file, const char *value);
/* The entry the audit trail names: a backend's entry (systemd, libvirt)
 * names itself; a cgroup file's path would only repeat the target: "". */
const char *enforce_value_entry(const char *file);

#endif
