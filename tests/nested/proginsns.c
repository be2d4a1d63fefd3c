/* proginsns: prints "NAME VERIFIED_INSNS" for every BPF program loaded in
 * the system, one a line, from the bpf() syscall alone. bpftool prints
 * verified_insns only from v7.2 on and Debian 12 ships v7.1, so
 * tests/integration/test_nested_kvm.sh runs this (statically linked) inside
 * its TCG guest while the agent is loaded, to record each program's
 * verifier instruction count on that kernel (issue 8).
 *
 * Build: gcc -static -O2 -o proginsns proginsns.c
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static long bpf(int cmd, union bpf_attr *attr)
{
	return syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

int main(void)
{
	__u32 id = 0;
	int printed = 0;

	for (;;) {
		union bpf_attr attr;
		struct bpf_prog_info info;
		int fd;

		memset(&attr, 0, sizeof(attr));
		attr.start_id = id;
		if (bpf(BPF_PROG_GET_NEXT_ID, &attr) < 0) {
			if (errno == ENOENT)
				break; /* no program after id */
			perror("proginsns: BPF_PROG_GET_NEXT_ID");
			return 1;
		}
		id = attr.next_id;

		memset(&attr, 0, sizeof(attr));
		attr.prog_id = id;
		fd = (int)bpf(BPF_PROG_GET_FD_BY_ID, &attr);
		if (fd < 0)
			continue; /* unloaded meanwhile */

		memset(&info, 0, sizeof(info));
		memset(&attr, 0, sizeof(attr));
		attr.info.bpf_fd = (__u32)fd;
		attr.info.info_len = sizeof(info);
		attr.info.info = (__u64)(unsigned long)&info;
		if (bpf(BPF_OBJ_GET_INFO_BY_FD, &attr) == 0) {
			/* A kernel older than 5.16 leaves the field zero. */
			printf("%s %u\n", info.name[0] ? info.name : "?", info.verified_insns);
			printed++;
		}
		close(fd);
	}
	return printed ? 0 : 1;
}
