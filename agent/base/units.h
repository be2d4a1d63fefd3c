/* SPDX-License-Identifier: GPL-2.0-only */
/* Units and clocks every layer shares, defined once. */
#ifndef KVMWARDEN_BASE_UNITS_H
#define KVMWARDEN_BASE_UNITS_H

#include <stdint.h>

#define NS_PER_SEC 1000000000ULL
#define NS_PER_MS 1000000ULL
#define NS_PER_US 1000ULL

/* CLOCK_MONOTONIC in nanoseconds: windows, timeouts and cool-downs. */
uint64_t monotonic_ns(void);

#endif
