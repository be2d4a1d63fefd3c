// SPDX-License-Identifier: GPL-2.0-only
/* capset(2) directly: two syscalls do not justify a library. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "load/privilege.h"

#ifndef CAP_BPF
#define CAP_BPF 39
#endif

uint64_t privilege_keep_mask(bool bpf_fd_ops_need_cap)
{
	uint64_t keep = 1ULL << CAP_SYS_NICE | 1ULL << CAP_DAC_OVERRIDE |
			1ULL << CAP_SYS_RESOURCE;

	if (bpf_fd_ops_need_cap)
		keep |= 1ULL << CAP_BPF;
	return keep;
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

bool privilege_bpf_fd_ops_need_cap(int map_fd)
{
	int status;
	pid_t child;

	child = fork();
	if (child < 0)
		return true;
	if (child == 0) {
		struct bpf_map_info info;
		__u32 len = sizeof(info);
		uint64_t keep = privilege_keep_mask(false);

		/* The child's own drop: the parent keeps everything. */
		if (privilege_drop(keep))
			_exit(2);
		memset(&info, 0, sizeof(info));
		_exit(bpf_obj_get_info_by_fd(map_fd, &info, &len) ? 1 : 0);
	}
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			return true;
	return !WIFEXITED(status) || WEXITSTATUS(status) != 0;
}

int privilege_check_bpf_load_denied(void)
{
	/* "r0 = 0; exit": the smallest program there is. */
	const struct bpf_insn insns[] = {
		{ .code = 0xb7, .dst_reg = 0, .imm = 0 }, /* BPF_MOV64_IMM */
		{ .code = 0x95 }, /* BPF_EXIT */
	};
	int fd;

	fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "kvmw_probe", "GPL",
			   insns, 2, NULL);
	if (fd >= 0) {
		close(fd);
		return -EEXIST;
	}
	return errno == EPERM || errno == EACCES ? 0 : -errno;
}

int privilege_read_caps(const char *proc_root, int pid, int tid,
			uint64_t *effective, uint64_t *permitted)
{
	char path[256], line[256];
	int found = 0;
	FILE *in;

	snprintf(path, sizeof(path), "%s/%d/task/%d/status", proc_root, pid,
		 tid);
	in = fopen(path, "re");
	if (!in)
		return -errno;
	while (fgets(line, sizeof(line), in))
		if (sscanf(line, "CapEff: %" SCNx64, effective) == 1)
			found |= 1;
		else if (sscanf(line, "CapPrm: %" SCNx64, permitted) == 1)
			found |= 2;
	fclose(in);
	return found == 3 ? 0 : -EINVAL;
}

int privilege_threads_above_main(const char *proc_root, int pid, int *first_tid)
{
	uint64_t main_eff, main_prm, eff, prm;
	char path[256];
	struct dirent *entry;
	int above = 0, err;
	DIR *dir;

	*first_tid = 0;
	err = privilege_read_caps(proc_root, pid, pid, &main_eff, &main_prm);
	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/%d/task", proc_root, pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((entry = readdir(dir))) {
		int tid = atoi(entry->d_name);

		/* A thread that ended meanwhile holds nothing. */
		if (tid <= 0 ||
		    privilege_read_caps(proc_root, pid, tid, &eff, &prm))
			continue;
		if ((eff & ~main_eff) || (prm & ~main_prm)) {
			if (!above)
				*first_tid = tid;
			above++;
		}
	}
	closedir(dir);
	return above;
}
