// SPDX-License-Identifier: GPL-2.0-only
/*
 * The snapshot hand-over: scrapes see what was last published, never the
 * live table, and publishing while scrapes run frees nothing in use (the
 * sanitizer build checks the last part).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>
#include <cmocka.h>

#include "serve/metrics.h"

#define ROUNDS 200

static char *render(struct metrics *metrics)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);

	assert_non_null(mem);
	assert_int_equal(metrics_render(mem, metrics), 0);
	fclose(mem);
	return text;
}

static void make_table(struct guest_table *table, uint64_t steal_ns)
{
	struct guest *guest;
	struct thread *thread;

	guest_table_init(table);
	guest = guest_table_add(table, 100, 1);
	assert_non_null(guest);
	strcpy(guest->name, "web");
	guest->vmm = VMM_QEMU;
	thread = guest_add_thread(guest, 101);
	assert_non_null(thread);
	thread->kind = THREAD_VCPU;
	thread->vcpu_index = 0;
	thread->counters.steal_ns = steal_ns;
}

static void scrape_before_first_publish(void **state)
{
	struct metrics metrics;
	char *text;

	assert_int_equal(metrics_init(&metrics, "9.9.9", false), 0);
	text = render(&metrics);
	assert_non_null(
		strstr(text, "kvmwarden_build_info{version=\"9.9.9\"} 1\n"));
	assert_non_null(
		strstr(text, "# TYPE kvmwarden_guest_steal_seconds_total"));
	assert_null(strstr(text, "guest=\""));
	free(text);
	metrics_free(&metrics);
}

static void scrapes_see_the_published_copy(void **state)
{
	struct loader_program_stats programs[1] = {
		{ .name = "handle_sched_switch", .run_count = 5 },
	};
	struct prom_health health = { .programs = programs,
				      .program_count = 1,
				      .loop_lag_ns = 2000000 };
	struct guest_table table;
	struct metrics metrics;
	char *text;

	assert_int_equal(metrics_init(&metrics, "1", false), 0);
	make_table(&table, 1000000000);
	assert_int_equal(metrics_publish(&metrics, &table, &health), 0);
	/* The live table and the caller's health move on; scrapes don't. */
	table.guests[0].threads[0].counters.steal_ns = 5000000000;
	programs[0].run_count = 6;
	text = render(&metrics);
	assert_non_null(strstr(text,
			       "kvmwarden_guest_steal_seconds_total{"
			       "guest=\"web\",vmm=\"qemu\",pid=\"100\"} 1\n"));
	assert_non_null(strstr(text, "kvmwarden_bpf_program_runs_total{"
				     "program=\"handle_sched_switch\"} 5\n"));
	assert_non_null(strstr(text, "kvmwarden_loop_lag_seconds 0.002\n"));
	assert_non_null(strstr(text, "kvmwarden_scrape_duration_seconds 0\n"));
	assert_null(strstr(text, "kvmwarden_vcpu_"));
	free(text);

	assert_int_equal(metrics_publish(&metrics, &table, &health), 0);
	metrics_set_per_vcpu(&metrics, true);
	text = render(&metrics);
	assert_non_null(strstr(text, "pid=\"100\"} 5\n"));
	assert_non_null(strstr(text, "kvmwarden_vcpu_steal_seconds_total{"));
	/* The previous scrape took some time. */
	assert_null(strstr(text, "kvmwarden_scrape_duration_seconds 0\n"));
	free(text);
	guest_table_free(&table);
	metrics_free(&metrics);
}

struct race {
	struct metrics *metrics;
	struct guest_table *table;
};

static int publish_many(void *arg)
{
	struct race *race = arg;
	struct prom_health health = { 0 };

	for (int i = 0; i < ROUNDS; i++) {
		race->table->guests[0].threads[0].counters.waits = (uint64_t)i;
		if (metrics_publish(race->metrics, race->table, &health))
			return 1;
	}
	return 0;
}

static void publishing_during_scrapes_is_safe(void **state)
{
	struct guest_table table;
	struct metrics metrics;
	struct race race = { &metrics, &table };
	thrd_t publisher;
	int failed;

	assert_int_equal(metrics_init(&metrics, "1", true), 0);
	make_table(&table, 1);
	assert_int_equal(thrd_create(&publisher, publish_many, &race),
			 thrd_success);
	for (int i = 0; i < ROUNDS; i++)
		free(render(&metrics));
	assert_int_equal(thrd_join(publisher, &failed), thrd_success);
	assert_int_equal(failed, 0);
	guest_table_free(&table);
	metrics_free(&metrics);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(scrape_before_first_publish),
		cmocka_unit_test(scrapes_see_the_published_copy),
		cmocka_unit_test(publishing_during_scrapes_is_safe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
