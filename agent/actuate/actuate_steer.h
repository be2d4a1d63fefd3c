/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The files steering writes: a network device's receive steering
 * (/sys/class/net/DEV/queues/rx-N/rps_cpus, a hex mask in 32-bit groups
 * separated by commas) and an IRQ's affinity
 * (/proc/irq/N/smp_affinity_list, a CPU list). Their paths are their
 * journal names; a name of any other shape is refused, so a journal
 * cannot be made to write elsewhere. The masks' arithmetic is here too,
 * on text, so cmocka checks it without a device.
 */
#ifndef KVMWARDEN_ACTUATE_STEER_H
#define KVMWARDEN_ACTUATE_STEER_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actuate/actuate_affinity.h"
#include "config/enforce_config.h"

#define STEER_NET_ROOT "/sys/class/net"
#define STEER_IRQ_ROOT "/proc/irq"
/* Files one target resolves to: a device's rx queues, an action's IRQs. */
#define STEER_MAX_FILES 64
/* A journal name's size (struct managed_file's file). */
#define STEER_FILE_LEN (ENFORCE_PATH_LEN + 32)

/* A device or action name usable as one path component. */
bool steer_name_valid(const char *name);
/* Whether `file` is a steering entry of a valid shape. */
bool steer_is_entry(const char *file);
/* Whether `file` still belongs to the target its journal entry was made
 * for, `owner` being that entry's label ("irq:NAME" or "net:DEV"). An
 * IRQ's number is handed to another device when its own goes away, so an
 * IRQ file must still have an action named NAME (a cut name matching as
 * a prefix, as steer_irq_files); a device's queue is its name's. */
bool steer_entry_owned(const char *file, const char *owner);
/* The value now (the newline cut); -ENOENT when the device or IRQ went. */
int steer_entry_read(const char *file, char *value, size_t size);
/* Writes and reads back; -EIO when it reads back different. An IRQ the
 * kernel manages refuses the write itself: -EOPNOTSUPP. */
int steer_entry_write(const char *file, const char *value);

/* The rps_cpus files of device `name`'s rx queues. Returns how many, or a
 * negative errno (-ENOENT: no such device in this namespace). */
int steer_device_files(const char *name, char files[][STEER_FILE_LEN], int max);
/* The smp_affinity_list files of the IRQs with an action named `name`
 * (a name cut to the BPF side's length matches as a prefix). */
int steer_irq_files(const char *name, char files[][STEER_FILE_LEN], int max);

/* rps_cpus' text <-> a mask; formatting keeps `like`'s layout (its
 * digits and commas) so what the kernel reads back is the same text. */
int steer_hex_parse(const char *text, struct cpu_mask *mask);
int steer_hex_format(const struct cpu_mask *mask, const char *like, char *text,
		     size_t size);

/* The mask a target should have: `from` without the protected CPUs, or
 * when that leaves none (rps_cpus 0 is no steering at all: packets stay
 * where they arrive), every online CPU but the protected. -ENOSPC when
 * even that is empty: nothing may be left without a CPU. */
int steer_mask_next(const struct cpu_mask *from,
		    const struct cpu_mask *protected_cpus,
		    const struct cpu_mask *online, struct cpu_mask *next);

#endif
