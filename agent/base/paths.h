/* SPDX-License-Identifier: GPL-2.0-only */
/* Paths the commands default to, defined once. */
#ifndef KVMWARDEN_BASE_PATHS_H
#define KVMWARDEN_BASE_PATHS_H

/* Where the package installs the configuration (configs/kvmwarden.conf). */
#define KVMWARDEN_DEFAULT_CONFIG "/etc/kvmwarden/kvmwarden.conf"

#endif
