/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Who vouches for a guest's name and UUID: the plain type discovery fills
 * in (model.h's guests carry it) and the configuration judges
 * (enforce_config.h). Kept apart so the configuration's parser, which the
 * fuzzers build alone, need not pull in the model.
 */
#ifndef KVMWARDEN_GUEST_CLAIM_H
#define KVMWARDEN_GUEST_CLAIM_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stdint.h>

/* Who said what a guest is called (README "Who a guest is"). A name or
 * UUID that the VMM process gave itself, on its own command line, could
 * be any guest's: budgets match it only where the configuration trusts
 * it (enforce_config_claim_trusted). */
enum guest_identity {
	/* Not from discovery: a caller that builds guests itself (tests)
	 * vouches for them. Discovery always sets one of the others. */
	GUEST_IDENTITY_GIVEN = 0,
	GUEST_IDENTITY_SELF, /* -name, --id or COMM-PID: self-declared */
	GUEST_IDENTITY_LIBVIRT, /* a libvirt machine's cgroup */
	GUEST_IDENTITY_SYSTEMD, /* a system unit's own cgroup */
	GUEST_IDENTITY_CONFIG, /* cgroup_guests in the configuration */
};

const char *guest_identity_name(enum guest_identity identity);

struct guest_claim {
	enum guest_identity source;
	bool uid_known; /* real, effective, saved and fs uids were one */
	uint32_t uid; /* the VMM process's, when known */
	/* Another live guest claims the same name or UUID: reported, and
	 * neither gets a class by it. */
	bool clash;
};

#endif
