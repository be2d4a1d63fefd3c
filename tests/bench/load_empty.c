// SPDX-License-Identifier: GPL-2.0-only
/*
 * Bench helper: loads one BPF object, attaches every program in it and
 * holds them until SIGINT or SIGTERM. bpftool 7.1 has no `autoattach`, and
 * a floor measurement needs the program to stay attached for a window.
 * Prints "attached N programs" on stdout once they run.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

#define MAX_LINKS 16

int main(int argc, char **argv)
{
	struct bpf_link *links[MAX_LINKS] = { 0 };
	struct bpf_object *obj = NULL;
	struct bpf_program *prog;
	size_t attached = 0;
	sigset_t stop_signals;
	int err = 0, sig;

	if (argc != 2) {
		fprintf(stderr, "usage: %s OBJECT.bpf.o\n", argv[0]);
		return 2;
	}
	/* Blocked before attaching: a stop request that arrives early waits
	 * in sigwait() instead of killing us with the links half made. */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop_signals, NULL);

	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		err = -errno;
		fprintf(stderr, "load_empty: opening %s: %s\n", argv[1],
			strerror(-err));
		goto out;
	}
	err = bpf_object__load(obj);
	if (err) {
		fprintf(stderr, "load_empty: loading %s: %s\n", argv[1],
			strerror(-err));
		goto out;
	}
	bpf_object__for_each_program(prog, obj) {
		if (attached == MAX_LINKS) {
			err = -E2BIG;
			fprintf(stderr, "load_empty: more than %d programs\n",
				MAX_LINKS);
			goto out;
		}
		links[attached] = bpf_program__attach(prog);
		if (!links[attached]) {
			err = -errno;
			fprintf(stderr, "load_empty: attaching %s: %s\n",
				bpf_program__name(prog), strerror(-err));
			goto out;
		}
		attached++;
	}
	printf("attached %zu programs\n", attached);
	fflush(stdout);
	sigwait(&stop_signals, &sig);
out:
	while (attached > 0)
		bpf_link__destroy(links[--attached]);
	bpf_object__close(obj);
	return err ? 1 : 0;
}
