// SPDX-License-Identifier: GPL-2.0-only
/* capset(2) directly: two syscalls do not justify a library. */
#include <errno.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "privilege.h"

#ifndef CAP_BPF
#define CAP_BPF 39
#endif

uint64_t privilege_keep_mask(void)
{
	return 1ULL << CAP_BPF | 1ULL << CAP_SYS_NICE |
	       1ULL << CAP_DAC_OVERRIDE | 1ULL << CAP_SYS_RESOURCE;
}

uint64_t privilege_after_drop(uint64_t current, uint64_t keep)
{
	return current & keep;
}

int privilege_drop(uint64_t keep)
{
	struct __user_cap_header_struct header = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];
	uint64_t sets[3];

	if (syscall(SYS_capget, &header, data))
		return -errno;
	sets[0] = (uint64_t)data[1].effective << 32 | data[0].effective;
	sets[1] = (uint64_t)data[1].permitted << 32 | data[0].permitted;
	sets[2] = (uint64_t)data[1].inheritable << 32 | data[0].inheritable;
	for (int i = 0; i < 3; i++)
		sets[i] = privilege_after_drop(sets[i], keep);
	data[0].effective = (uint32_t)sets[0];
	data[1].effective = (uint32_t)(sets[0] >> 32);
	data[0].permitted = (uint32_t)sets[1];
	data[1].permitted = (uint32_t)(sets[1] >> 32);
	data[0].inheritable = (uint32_t)sets[2];
	data[1].inheritable = (uint32_t)(sets[2] >> 32);
	/* The bounding set first, while CAP_SETPCAP may still be held; a
	 * process without it (a systemd unit's bounding set) just skips. */
	for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (!(keep & 1ULL << cap))
			prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
	if (syscall(SYS_capset, &header, data))
		return -errno;
	return 0;
}
