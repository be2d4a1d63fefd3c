// SPDX-License-Identifier: GPL-2.0-only
/*
 * What a window costs: the agent builds one every interval_ms for its
 * socket (snapshot_build: a report of two tables, the dump JSON, reparsed
 * and extended), and top turns each into rows and lines (parse,
 * top_model_ingest, formatting at 80 columns). Synthetic tables of
 * GUESTS x VCPUS vCPUs with a few VMM threads each.
 * Usage: top_bench ITERATIONS GUESTS VCPUS
 * Prints one line per step: p50/p99/max wall ms and the document's size.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "serve/snapshot.h"
#include "top/top_format.h"
#include "top/top_model.h"

static uint64_t wall_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec;
}

/* Cumulative counters after `seconds` of a busy, contended thread. */
static void age(struct thread_counters *c, unsigned int seed, int seconds)
{
	for (unsigned int slot = 12; slot <= 24; slot++) {
		uint64_t waits = (uint64_t)seconds * (seed % 7 + 1) *
				 (slot < 18 ? 400 : 20);

		c->wait_hist[slot] += waits;
		c->waits += waits;
		c->steal_ns += waits << slot;
		c->wait_max_ns = 1ULL << (slot + 1);
	}
	c->run_ns += (uint64_t)seconds * 600000000ULL;
}

static int build(struct guest_table *table, int guests, int vcpus, int seconds)
{
	guest_table_init(table);
	for (int g = 0; g < guests; g++) {
		int pid = 20000 + g * 64;
		struct guest *guest = guest_table_add(table, pid, 9000 + g);

		if (!guest)
			return -ENOMEM;
		guest->vmm = VMM_QEMU;
		snprintf(guest->name, sizeof(guest->name), "tenant-%03d-db", g);
		for (int t = 0; t < vcpus + 4; t++) {
			struct thread *thread =
				guest_add_thread(guest, pid + t);

			if (!thread)
				return -ENOMEM;
			thread->kind = t < vcpus ? THREAD_VCPU :
						   THREAD_IOTHREAD;
			thread->vcpu_index = t < vcpus ? t : -1;
			age(&thread->counters, (unsigned int)(g * 31 + t),
			    seconds);
		}
		for (int c = 0; c < 3; c++) {
			struct culprit_total *culprit =
				guest_culprit(guest, ATTR_CULPRIT_GUEST,
					      (uint64_t)((g + c + 1) % guests));

			if (!culprit)
				return -ENOMEM;
			culprit->steal_ns =
				(uint64_t)seconds * 1000000ULL * (c + 1);
			snprintf(culprit->name, sizeof(culprit->name),
				 "tenant-%03d-db", (g + c + 1) % guests);
		}
	}
	return 0;
}

static int compare(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void print(const char *step, uint64_t *ns, int count, size_t bytes,
		  int guests, int vcpus)
{
	qsort(ns, (size_t)count, sizeof(*ns), compare);
	printf("%-28s %4d guests x %2d vCPUs: p50 %7.3f ms  p99 %7.3f ms  "
	       "max %7.3f ms  document %zu bytes\n",
	       step, guests, vcpus, ns[count / 2] / 1e6,
	       ns[count * 99 / 100] / 1e6, ns[count - 1] / 1e6, bytes);
}

int main(int argc, char **argv)
{
	uint64_t errors[SCHED_ERR_COUNT] = { 0 };
	struct guest_table before, after;
	uint64_t *agent_ns, *top_ns;
	int iterations, guests, vcpus;
	size_t bytes = 0;

	if (argc != 4) {
		fputs("usage: top_bench ITERATIONS GUESTS VCPUS\n", stderr);
		return 2;
	}
	iterations = atoi(argv[1]);
	guests = atoi(argv[2]);
	vcpus = atoi(argv[3]);
	if (iterations < 1 || guests < 1 || vcpus < 1)
		return 2;
	agent_ns = calloc((size_t)iterations, sizeof(*agent_ns));
	top_ns = calloc((size_t)iterations, sizeof(*top_ns));
	if (!agent_ns || !top_ns || build(&before, guests, vcpus, 3600) ||
	    build(&after, guests, vcpus, 3601))
		return 1;

	for (int i = 0; i < iterations; i++) {
		struct snapshot_host host = { .seq = (uint64_t)i + 1,
					      .online_cpus = 64 };
		struct top_model model;
		struct json_object *doc;
		char line[512], *json;
		uint64_t start = wall_ns();

		if (snapshot_build(&before, &after, 1000000000ULL, errors,
				   NULL, &host, &json))
			return 1;
		agent_ns[i] = wall_ns() - start;
		bytes = strlen(json);

		start = wall_ns();
		top_model_init(&model);
		doc = json_tokener_parse(json);
		if (!doc || top_model_ingest(&model, doc, start))
			return 1;
		top_format_host(line, sizeof(line), &model, "agent", 1.0, 80);
		top_format_header(line, sizeof(line), &model, 80);
		for (size_t g = 0; g < model.guest_count; g++)
			top_format_guest(line, sizeof(line), &model.guests[g],
					 80);
		json_object_put(doc);
		top_model_free(&model);
		top_ns[i] = wall_ns() - start;
		free(json);
	}
	print("agent: build window", agent_ns, iterations, bytes, guests,
	      vcpus);
	print("top: parse, rows, lines", top_ns, iterations, bytes, guests,
	      vcpus);
	guest_table_free(&before);
	guest_table_free(&after);
	free(agent_ns);
	free(top_ns);
	return 0;
}
