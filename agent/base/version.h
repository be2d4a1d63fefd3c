/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's version: one place for `kvmwarden version`, the socket's
 * status answer and kvmwarden_build_info. A package build passes its own
 * with -DKVMWARDEN_VERSION (make VERSION=X, debian/rules).
 */
#ifndef KVMWARDEN_BASE_VERSION_H
#define KVMWARDEN_BASE_VERSION_H

#ifndef KVMWARDEN_VERSION
#define KVMWARDEN_VERSION "0.1.0"
#endif

#endif
