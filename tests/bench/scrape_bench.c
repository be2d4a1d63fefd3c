// SPDX-License-Identifier: GPL-2.0-only
/*
 * What one /metrics scrape costs at fleet scale, without HTTP: the time of
 * prometheus_write() over a synthetic guest table (GUESTS guests of VCPUS
 * vCPUs each, with the other threads a QEMU has and wait histograms shaped
 * like real ones), rendered into an open_memstream() buffer as the HTTP
 * thread does, per-vCPU series off and on, alternating. Also times
 * metrics_publish(), the measurement loop's side of the hand-over (a deep
 * copy after every discovery pass). Prints `key=value` lines that
 * bench_scrape.sh turns into tests/bench/results-scrape.txt.
 * Usage: scrape_bench [ITERATIONS [GUESTS [VCPUS]]]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve/metrics.h"
#include "prometheus.h"

#define WARMUP 10
/* Besides its vCPUs, a QEMU guest has its main loop, an iothread, a vhost
 * worker per queue (two here) and a few workers (call_rcu, thread pool). */
#define EMULATORS 1
#define IOTHREADS 1
#define VHOSTS 2
#define OTHERS 4

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

/* xorshift64*: the same table on every run. */
static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/* This thread's CPU time: what a render costs in itself, whatever else
 * the machine runs meanwhile (wall time is what a scraper waits). */
static uint64_t cpu_ns(void)
{
	return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

/* Wall and CPU time of one step. */
struct took {
	uint64_t wall_ns;
	uint64_t cpu_ns;
};

/* A thread tracked for a few days: waits mostly of 16 us to 4 ms (slots 14
 * to 21), a tail to 134 ms, steal the sum of them. Counts have 5 to 9
 * digits, as after days of tracking. */
static void fill_counters(struct thread_counters *c, unsigned int busy)
{
	memset(c, 0, sizeof(*c));
	for (unsigned int slot = 10; slot <= 26; slot++) {
		unsigned int distance = slot > 17 ? slot - 17 : 17 - slot;
		uint64_t waits =
			(busy * 1000000ULL >> (2 * distance)) + rng() % 1000;

		c->wait_hist[slot] = waits;
		c->waits += waits;
		c->steal_ns +=
			waits * ((1ULL << slot) + rng() % (1ULL << slot));
		c->wait_max_ns = (1ULL << (slot + 1)) - 1;
	}
	c->run_ns = c->steal_ns * (3 + rng() % 20) + rng() % 1000000000ULL;
}

static int add_thread(struct guest *guest, int tid, enum thread_kind kind,
		      int vcpu_index)
{
	struct thread *thread = guest_add_thread(guest, tid);

	if (!thread)
		return -errno;
	thread->kind = kind;
	thread->vcpu_index = vcpu_index;
	thread->attached = true;
	thread->slot = tid % 4096;
	fill_counters(&thread->counters, 1 + (unsigned int)(rng() % 8));
	return 0;
}

static int build_table(struct guest_table *table, int guests, int vcpus)
{
	static const enum thread_kind kinds[] = { THREAD_EMULATOR,
						  THREAD_IOTHREAD, THREAD_VHOST,
						  THREAD_OTHER };
	static const int counts[] = { EMULATORS, IOTHREADS, VHOSTS, OTHERS };
	int err;

	guest_table_init(table);
	for (int g = 0; g < guests; g++) {
		int pid = 10000 + g * 100, tid = pid;
		struct guest *guest = guest_table_add(table, pid, 5000 + g);

		if (!guest)
			return -errno;
		guest->vmm = VMM_QEMU;
		snprintf(guest->name, sizeof(guest->name),
			 "tenant-%03d-web-frontend", g);
		snprintf(guest->uuid, sizeof(guest->uuid),
			 "6a1f0c2e-0000-4000-8000-%012d", g);
		snprintf(guest->cgroup, sizeof(guest->cgroup),
			 "/machine.slice/machine-qemu\\x2d%d\\x2dtenant.scope",
			 g + 1);
		for (int v = 0; v < vcpus; v++) {
			err = add_thread(guest, ++tid, THREAD_VCPU, v);
			if (err)
				return err;
		}
		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			for (int n = 0; n < counts[k]; n++) {
				err = add_thread(guest,
						 kinds[k] == THREAD_EMULATOR ?
							 pid :
							 ++tid,
						 kinds[k], -1);
				if (err)
					return err;
			}
		}
	}
	return 0;
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest value with at least pct % at or below it. */
static uint64_t percentile(const uint64_t *sorted, size_t count, double pct)
{
	size_t rank = (size_t)(pct / 100.0 * (double)count + 0.999999);

	return sorted[rank ? rank - 1 : 0];
}

/* One scrape's render into *took; returns 0 or a negative errno. */
static int render_once(const struct guest_table *table,
		       const struct prom_health *health, bool per_vcpu,
		       struct took *took, size_t *bytes, size_t *lines)
{
	struct prom_options opts = { .per_vcpu = per_vcpu };
	char *text = NULL;
	size_t len = 0;
	uint64_t wall = now_ns(), cpu = cpu_ns();
	FILE *out = open_memstream(&text, &len);
	int err;

	if (!out)
		return -errno;
	err = prometheus_write(out, table, health, &opts);
	if (fclose(out) && !err)
		err = -EIO;
	took->cpu_ns = cpu_ns() - cpu;
	took->wall_ns = now_ns() - wall;
	if (!err && bytes && lines) {
		*bytes = len;
		*lines = 0;
		/* Sample lines: every line but # HELP and # TYPE. */
		for (size_t i = 0; i < len; i++)
			*lines += (i == 0 || text[i - 1] == '\n') &&
				  text[i] != '#';
	}
	free(text);
	return err;
}

/* One line of percentiles of `took`, wall and CPU time apart. */
static void report(const char *what, struct took *took, size_t count,
		   size_t bytes, size_t lines)
{
	uint64_t *wall = calloc(count, sizeof(*wall));
	uint64_t *cpu = calloc(count, sizeof(*cpu));

	if (!wall || !cpu) {
		free(wall);
		free(cpu);
		return;
	}
	for (size_t i = 0; i < count; i++) {
		wall[i] = took[i].wall_ns;
		cpu[i] = took[i].cpu_ns;
	}
	qsort(wall, count, sizeof(*wall), compare_u64);
	qsort(cpu, count, sizeof(*cpu), compare_u64);
	printf("%s iterations=%zu median_us=%.1f p99_us=%.1f max_us=%.1f "
	       "cpu_median_us=%.1f cpu_p99_us=%.1f bytes=%zu lines=%zu\n",
	       what, count, percentile(wall, count, 50) / 1e3,
	       percentile(wall, count, 99) / 1e3, wall[count - 1] / 1e3,
	       percentile(cpu, count, 50) / 1e3,
	       percentile(cpu, count, 99) / 1e3, bytes, lines);
	free(wall);
	free(cpu);
}

int main(int argc, char **argv)
{
	size_t iterations = argc > 1 ? strtoul(argv[1], NULL, 10) : 300;
	int guests = argc > 2 ? atoi(argv[2]) : 125;
	int vcpus = argc > 3 ? atoi(argv[3]) : 8;
	struct loader_program_stats programs[] = {
		{ "handle_sched_switch", 123456789012ULL, 987654321ULL },
		{ "handle_sched_wakeup", 23456789012ULL, 198765432ULL },
	};
	struct prom_health health = {
		.version = "bench",
		.programs = programs,
		.program_count = 2,
		.tracker = { .passes = 864000,
			     .guests_found = (uint64_t)guests },
		.slots_in_use = 2000,
		.slots_max = 4096,
		.last_discovery_ns = 1234567,
		.previous_scrape_ns = 2345678,
	};
	struct took *off = NULL, *on = NULL, *publish = NULL, warm;
	size_t off_bytes = 0, off_lines = 0, on_bytes = 0, on_lines = 0;
	struct guest_table table;
	struct metrics metrics;
	int err, code = 1;

	if (!iterations || guests <= 0 || vcpus <= 0) {
		fputs("usage: scrape_bench [ITERATIONS [GUESTS [VCPUS]]]\n",
		      stderr);
		return 2;
	}
	err = build_table(&table, guests, vcpus);
	if (err) {
		fprintf(stderr, "scrape_bench: table: %s\n", strerror(-err));
		goto cleanup;
	}
	off = calloc(iterations, sizeof(*off));
	on = calloc(iterations, sizeof(*on));
	publish = calloc(iterations, sizeof(*publish));
	if (!off || !on || !publish || metrics_init(&metrics, "bench", false)) {
		fputs("scrape_bench: out of memory\n", stderr);
		goto cleanup;
	}
	for (int i = 0; i < WARMUP; i++) {
		render_once(&table, &health, false, &warm, NULL, NULL);
		render_once(&table, &health, true, &warm, NULL, NULL);
	}
	/* A and B alternate, so drift on a shared machine hits both. */
	for (size_t i = 0; i < iterations; i++) {
		uint64_t wall, cpu;

		err = render_once(&table, &health, false, &off[i], &off_bytes,
				  &off_lines);
		if (!err)
			err = render_once(&table, &health, true, &on[i],
					  &on_bytes, &on_lines);
		wall = now_ns();
		cpu = cpu_ns();
		if (!err)
			err = metrics_publish(&metrics, &table, &health);
		publish[i].cpu_ns = cpu_ns() - cpu;
		publish[i].wall_ns = now_ns() - wall;
		if (err) {
			fprintf(stderr, "scrape_bench: iteration %zu: %s\n", i,
				strerror(-err));
			goto cleanup_metrics;
		}
	}
	printf("table guests=%d vcpus_per_guest=%d vcpus=%d threads=%d\n",
	       guests, vcpus, guests * vcpus,
	       guests * (vcpus + EMULATORS + IOTHREADS + VHOSTS + OTHERS));
	report("render per_vcpu=off", off, iterations, off_bytes, off_lines);
	report("render per_vcpu=on", on, iterations, on_bytes, on_lines);
	report("publish", publish, iterations, 0, 0);
	code = 0;
cleanup_metrics:
	metrics_free(&metrics);
cleanup:
	free(off);
	free(on);
	free(publish);
	guest_table_free(&table);
	return code;
}
