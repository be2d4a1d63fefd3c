/* minivmm: the smallest VMM that gives the agent a real KVM guest to find.
 *
 * It talks to /dev/kvm with ioctls only: one VM, 64 KiB of guest memory, N
 * vCPUs in real mode, each run by its own thread (named "CPU N/KVM" like
 * QEMU's, unless --no-thread-names), each executing a tiny 16-bit program:
 *
 *   spin  jmp $                      never leaves the guest on its own
 *   pio   out 0x80, al in a loop     one KVM_EXIT_IO per iteration
 *   hlt   hlt in a loop              one KVM_EXIT_HLT per iteration: with no
 *                                    in-kernel irqchip KVM hands HLT to us
 *
 * --mode takes one mode, or a comma-separated list that vCPUs take in turn
 * (--vcpus 3 --mode spin,pio: spin, pio, spin). A spinning vCPU keeps the
 * process inside KVM_RUN at any moment, so a pass of the agent's discovery
 * always finds the guest, however often its other vCPUs exit.
 *
 * It counts the exits it sees itself, so a test can compare the agent's
 * figures with the VMM's own. It prints one "started" line per vCPU with
 * the thread's tid once the thread is about to enter KVM_RUN, one count
 * line per vCPU at each SIGUSR2 (so a test can take the counts at both ends
 * of a measuring window), and a last count line per vCPU when it stops
 * (after --seconds, or at SIGTERM or SIGINT):
 *
 *   minivmm: pid P vcpu I tid T exits_io=N exits_hlt=N exits_other=N runs=N
 *
 * It is test equipment for tests/integration/test_nested_kvm.sh, which runs
 * it inside a TCG guest whose kernel is an SVM host, so it is linked
 * statically to need nothing from that guest's root.
 *
 * Build: gcc -static -O2 -pthread -o minivmm minivmm.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define GUEST_MEM_SIZE (64 * 1024)
/* Where the program is loaded and where every vCPU starts (CS:IP 0:0x1000). */
#define GUEST_ENTRY 0x1000
/* Each mode's program sits at GUEST_ENTRY + its index * PROGRAM_STRIDE. */
#define PROGRAM_STRIDE 0x1000
#define MAX_MODES 8
#define MAX_VCPUS 64
/* The port the pio program writes: the POST diagnostic port, as harmless
 * a choice as any since no device model stands behind it. */
#define PIO_PORT 0x80

/* Real-mode machine code of each mode (position-independent: relative
 * jumps only). */
static const uint8_t prog_spin[] = {
	0xeb, 0xfe, /* 0: jmp 0 */
};
static const uint8_t prog_pio[] = {
	0xb0, 0x00, /* 0: mov al, 0 */
	0xe6, PIO_PORT, /* 2: out 0x80, al  (exit to the VMM) */
	0xfe, 0xc0, /* 4: inc al */
	0xeb, 0xfa, /* 6: jmp 2 */
};
static const uint8_t prog_hlt[] = {
	0xf4, /* 0: hlt  (exit to the VMM: no in-kernel irqchip) */
	0xeb, 0xfd, /* 1: jmp 0 */
};

struct mode {
	const char *name;
	const uint8_t *code;
	size_t code_len;
};

static const struct mode modes[] = {
	{ "spin", prog_spin, sizeof(prog_spin) },
	{ "pio", prog_pio, sizeof(prog_pio) },
	{ "hlt", prog_hlt, sizeof(prog_hlt) },
};

struct vcpu {
	int index;
	uint16_t entry; /* IP of its program */
	int fd;
	struct kvm_run *run; /* the vCPU's shared page(s), mmapped from fd */
	pthread_t thread;
	pid_t tid;
	int name_thread; /* name it "CPU N/KVM" */
	/* Counted by the vCPU's thread, read by main at SIGUSR2 while it
	 * runs: relaxed atomics, as each has one writer and needs no order. */
	_Atomic uint64_t exits_io;
	_Atomic uint64_t exits_hlt;
	_Atomic uint64_t exits_other;
	_Atomic uint64_t runs; /* KVM_RUN calls */
	int error; /* negative errno or a KVM exit reason that stopped it */
};

/* Set by main when it is time to stop; each vCPU thread checks it whenever
 * KVM_RUN returns, and main kicks them out of the guest with SIGUSR1. */
static atomic_int stopping;

/* Only there to make KVM_RUN return -EINTR: a handler must exist (the
 * default action of SIGUSR1 ends the process) and SA_RESTART must not. */
static void on_kick(int sig)
{
	(void)sig;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: minivmm [--vcpus N] [--mode MODE[,MODE...]] [--seconds S]"
		     " [--no-thread-names]\n"
		     "  MODE: spin, pio or hlt; vCPUs take the listed modes in turn\n"
		     "  S = 0 (the default) runs until SIGTERM or SIGINT\n");
}

static void print_counts(const struct vcpu *vcpu)
{
	printf("minivmm: pid %d vcpu %d tid %d exits_io=%llu exits_hlt=%llu"
	       " exits_other=%llu runs=%llu\n",
	       getpid(), vcpu->index, vcpu->tid,
	       (unsigned long long)atomic_load_explicit(&vcpu->exits_io, memory_order_relaxed),
	       (unsigned long long)atomic_load_explicit(&vcpu->exits_hlt, memory_order_relaxed),
	       (unsigned long long)atomic_load_explicit(&vcpu->exits_other,
							memory_order_relaxed),
	       (unsigned long long)atomic_load_explicit(&vcpu->runs, memory_order_relaxed));
}

static void *vcpu_main(void *arg)
{
	struct vcpu *vcpu = arg;

	vcpu->tid = (pid_t)syscall(SYS_gettid);
	if (vcpu->name_thread) {
		char name[16];

		snprintf(name, sizeof(name), "CPU %d/KVM", vcpu->index);
		pthread_setname_np(pthread_self(), name);
	}
	printf("minivmm: pid %d vcpu %d tid %d started\n", getpid(), vcpu->index,
	       vcpu->tid);
	fflush(stdout);

	while (!atomic_load(&stopping)) {
		atomic_fetch_add_explicit(&vcpu->runs, 1, memory_order_relaxed);
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue; /* kicked: check stopping */
			vcpu->error = -errno;
			fprintf(stderr, "minivmm: vcpu %d: KVM_RUN: %s\n", vcpu->index,
				strerror(errno));
			break;
		}
		switch (vcpu->run->exit_reason) {
		case KVM_EXIT_IO:
			/* Nothing to emulate: the port has no device. An IN
			 * would read whatever is in the data page. */
			atomic_fetch_add_explicit(&vcpu->exits_io, 1, memory_order_relaxed);
			break;
		case KVM_EXIT_HLT:
			/* RIP is already past the HLT: entering again resumes. */
			atomic_fetch_add_explicit(&vcpu->exits_hlt, 1, memory_order_relaxed);
			break;
		case KVM_EXIT_INTR:
			break;
		default:
			/* Anything else means the program or the vCPU's
			 * state is not what this file set up: stop loudly. */
			atomic_fetch_add_explicit(&vcpu->exits_other, 1, memory_order_relaxed);
			vcpu->error = (int)vcpu->run->exit_reason;
			fprintf(stderr, "minivmm: vcpu %d: unexpected exit reason %u\n",
				vcpu->index, vcpu->run->exit_reason);
			return NULL;
		}
	}
	return NULL;
}

/* Real mode at CS:IP 0:entry, flags with only the always-one bit. */
static int setup_vcpu_state(struct vcpu *vcpu)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	sregs.ds.base = 0;
	sregs.ds.selector = 0;
	sregs.ss.base = 0;
	sregs.ss.selector = 0;
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;
	memset(&regs, 0, sizeof(regs));
	regs.rip = vcpu->entry;
	regs.rsp = GUEST_ENTRY; /* the stack grows down below the programs */
	regs.rflags = 0x2;
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "vcpus", required_argument, NULL, 'n' },
		{ "mode", required_argument, NULL, 'm' },
		{ "seconds", required_argument, NULL, 's' },
		{ "no-thread-names", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct vcpu vcpus[MAX_VCPUS];
	/* Index in modes[] of each listed mode, in the order given. */
	int mode_list[MAX_MODES] = { 0 };
	int mode_count = 1;
	int nr_vcpus = 1, seconds = 0, name_threads = 1;
	int kvm_fd = -1, vm_fd = -1, started = 0, rc = 1, opt;
	void *guest_mem = MAP_FAILED;
	long run_size;
	sigset_t waited_signals;
	struct sigaction kick = { .sa_handler = on_kick };

	while ((opt = getopt_long(argc, argv, "n:m:s:Nh", options, NULL)) != -1) {
		char *end;
		size_t i;

		switch (opt) {
		case 'n':
			nr_vcpus = (int)strtol(optarg, &end, 10);
			if (*end || nr_vcpus < 1 || nr_vcpus > MAX_VCPUS) {
				fprintf(stderr, "minivmm: --vcpus must be 1..%d\n", MAX_VCPUS);
				return 2;
			}
			break;
		case 'm':
			mode_count = 0;
			for (char *save = NULL, *name = strtok_r(optarg, ",", &save); name;
			     name = strtok_r(NULL, ",", &save)) {
				int found = -1;

				for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
					if (strcmp(name, modes[i].name) == 0)
						found = (int)i;
				if (found < 0 || mode_count == MAX_MODES) {
					fprintf(stderr, "minivmm: unknown mode '%s' or more than"
							" %d modes\n", name, MAX_MODES);
					return 2;
				}
				mode_list[mode_count++] = found;
			}
			if (!mode_count) {
				fprintf(stderr, "minivmm: --mode wants a mode\n");
				return 2;
			}
			break;
		case 's':
			seconds = (int)strtol(optarg, &end, 10);
			if (*end || seconds < 0) {
				fprintf(stderr, "minivmm: --seconds must be >= 0\n");
				return 2;
			}
			break;
		case 'N':
			name_threads = 0;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}

	/* SIGTERM, SIGINT and SIGUSR2 are taken by main with sigtimedwait:
	 * blocked before any thread exists, so every thread inherits the
	 * mask and none of them is picked to handle them. */
	sigemptyset(&waited_signals);
	sigaddset(&waited_signals, SIGTERM);
	sigaddset(&waited_signals, SIGINT);
	sigaddset(&waited_signals, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &waited_signals, NULL);
	sigaction(SIGUSR1, &kick, NULL);

	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0) {
		fprintf(stderr, "minivmm: /dev/kvm: %s\n", strerror(errno));
		goto cleanup;
	}
	if (ioctl(kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		fprintf(stderr, "minivmm: unexpected KVM API version\n");
		goto cleanup;
	}
	vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm_fd < 0) {
		fprintf(stderr, "minivmm: KVM_CREATE_VM: %s\n", strerror(errno));
		goto cleanup;
	}
	/* Intel's real mode without unrestricted guest needs a TSS page;
	 * harmless on AMD, so set it whichever vendor runs this. */
	ioctl(vm_fd, KVM_SET_TSS_ADDR, 0xfffbd000UL);

	guest_mem = mmap(NULL, GUEST_MEM_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (guest_mem == MAP_FAILED) {
		fprintf(stderr, "minivmm: mmap: %s\n", strerror(errno));
		goto cleanup;
	}
	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++)
		memcpy((uint8_t *)guest_mem + GUEST_ENTRY + m * PROGRAM_STRIDE, modes[m].code,
		       modes[m].code_len);
	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = GUEST_MEM_SIZE,
		.userspace_addr = (uint64_t)(uintptr_t)guest_mem,
	};
	if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		fprintf(stderr, "minivmm: KVM_SET_USER_MEMORY_REGION: %s\n", strerror(errno));
		goto cleanup;
	}

	run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < (long)sizeof(struct kvm_run)) {
		fprintf(stderr, "minivmm: KVM_GET_VCPU_MMAP_SIZE: %s\n", strerror(errno));
		goto cleanup;
	}
	memset(vcpus, 0, sizeof(vcpus));
	for (int i = 0; i < nr_vcpus; i++) {
		struct vcpu *vcpu = &vcpus[i];
		int err;

		vcpu->index = i;
		vcpu->entry = (uint16_t)(GUEST_ENTRY + mode_list[i % mode_count] * PROGRAM_STRIDE);
		vcpu->name_thread = name_threads;
		vcpu->fd = ioctl(vm_fd, KVM_CREATE_VCPU, (unsigned long)i);
		if (vcpu->fd < 0) {
			fprintf(stderr, "minivmm: KVM_CREATE_VCPU %d: %s\n", i, strerror(errno));
			goto stop;
		}
		vcpu->run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
				 vcpu->fd, 0);
		if (vcpu->run == MAP_FAILED) {
			vcpu->run = NULL;
			fprintf(stderr, "minivmm: mmap vcpu %d: %s\n", i, strerror(errno));
			goto stop;
		}
		err = setup_vcpu_state(vcpu);
		if (err < 0) {
			fprintf(stderr, "minivmm: vcpu %d registers: %s\n", i, strerror(-err));
			goto stop;
		}
	}
	for (int i = 0; i < nr_vcpus; i++) {
		if (pthread_create(&vcpus[i].thread, NULL, vcpu_main, &vcpus[i]) != 0) {
			fprintf(stderr, "minivmm: cannot start vcpu %d's thread\n", i);
			goto stop;
		}
		started++;
	}

	{
		/* Run until the time is up or a stop signal comes; print the
		 * counts so far at each SIGUSR2. */
		struct timespec now, end;
		int sig;

		clock_gettime(CLOCK_MONOTONIC, &end);
		end.tv_sec += seconds;
		for (;;) {
			struct timespec left;

			clock_gettime(CLOCK_MONOTONIC, &now);
			left.tv_sec = end.tv_sec - now.tv_sec;
			left.tv_nsec = end.tv_nsec - now.tv_nsec;
			if (left.tv_nsec < 0) {
				left.tv_sec--;
				left.tv_nsec += 1000000000L;
			}
			if (seconds && left.tv_sec < 0)
				break;
			sig = sigtimedwait(&waited_signals, NULL, seconds ? &left : NULL);
			if (sig == SIGUSR2) {
				for (int i = 0; i < started; i++)
					print_counts(&vcpus[i]);
				fflush(stdout);
				continue;
			}
			if (sig < 0 && errno == EINTR)
				continue;
			break; /* SIGTERM, SIGINT or the time is up */
		}
	}
	rc = 0;

stop:
	atomic_store(&stopping, 1);
	for (int i = 0; i < started; i++) {
		/* A kick that lands just before the thread enters KVM_RUN is
		 * lost, so kick again until it has ended. */
		while (pthread_tryjoin_np(vcpus[i].thread, NULL) == EBUSY) {
			struct timespec pause = { .tv_nsec = 10 * 1000 * 1000 };

			pthread_kill(vcpus[i].thread, SIGUSR1);
			nanosleep(&pause, NULL);
		}
		if (vcpus[i].error)
			rc = 1;
		print_counts(&vcpus[i]);
	}
	fflush(stdout);
	for (int i = 0; i < nr_vcpus; i++) {
		if (vcpus[i].run)
			munmap(vcpus[i].run, (size_t)run_size);
		if (vcpus[i].fd > 0)
			close(vcpus[i].fd);
	}
cleanup:
	if (guest_mem != MAP_FAILED)
		munmap(guest_mem, GUEST_MEM_SIZE);
	if (vm_fd >= 0)
		close(vm_fd);
	if (kvm_fd >= 0)
		close(kvm_fd);
	return rc;
}
