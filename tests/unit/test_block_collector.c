// SPDX-License-Identifier: GPL-2.0-only
/*
 * The block collector with a fake block side (load/collect_source.h's
 * struct block_source): which VMM processes it tells BPF to watch, which
 * it forgets, and the counters it hands over.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "collect/block_collector.h"
#include "load/collect_source.h"

static struct {
	uint32_t watched[16];
	size_t watched_count;
	uint32_t forgotten[16];
	size_t forgotten_count;
	bool closed;
	int reads;
} fake;

/* Never dereferenced: the collector hands it back to the fake. */
#define FAKE_LOADER ((struct block_loader *)&fake)

static void fake_close(struct block_loader *loader)
{
	fake.closed = true;
}

static int fake_watched(struct block_loader *loader, uint32_t **tgids,
			size_t *count)
{
	*tgids = calloc(16, sizeof(**tgids));
	if (!*tgids)
		return -ENOMEM;
	memcpy(*tgids, fake.watched, fake.watched_count * sizeof(**tgids));
	*count = fake.watched_count;
	return 0;
}

static int fake_watch(struct block_loader *loader, uint32_t tgid)
{
	for (size_t i = 0; i < fake.watched_count; i++)
		if (fake.watched[i] == tgid)
			return 0;
	if (fake.watched_count == 16)
		return -ENOSPC;
	fake.watched[fake.watched_count++] = tgid;
	return 0;
}

static int fake_unwatch(struct block_loader *loader, uint32_t tgid)
{
	for (size_t i = 0; i < fake.watched_count; i++)
		if (fake.watched[i] == tgid) {
			fake.watched[i] = fake.watched[--fake.watched_count];
			return 0;
		}
	return -ENOENT;
}

static int fake_forget_tgid(struct block_loader *loader, uint32_t tgid)
{
	fake.forgotten[fake.forgotten_count++] = tgid;
	return 0;
}

static int fake_read(struct block_loader *loader, struct io_snapshot *out)
{
	fake.reads++;
	out->errors[0] = 7;
	return 0;
}

static const struct block_source fake_source = {
	.close = fake_close,
	.watched = fake_watched,
	.watch = fake_watch,
	.unwatch = fake_unwatch,
	.forget_tgid = fake_forget_tgid,
	.read = fake_read,
};

static bool watching(uint32_t tgid)
{
	for (size_t i = 0; i < fake.watched_count; i++)
		if (fake.watched[i] == tgid)
			return true;
	return false;
}

static void watches_live_guests_and_forgets_pruned_ones(void **state)
{
	struct block_collector *collector;
	struct guest_table table;
	struct io_snapshot snapshot;
	struct guest *gone;

	memset(&fake, 0, sizeof(fake));
	fake.watched[fake.watched_count++] = 4242; /* pruned from the table */
	collector = block_collector_open_source(NULL, &fake_source, FAKE_LOADER,
						NULL);
	assert_non_null(collector);
	assert_true(block_collector_available(collector));
	guest_table_init(&table);
	assert_non_null(guest_table_add(&table, 1000, 1));
	gone = guest_table_add(&table, 2000, 2);
	assert_non_null(gone);
	gone->exited = true; /* still listed: kept, not watched anew */

	assert_int_equal(block_collector_sync(collector, &table), 0);
	assert_true(watching(1000));
	assert_false(watching(2000));
	assert_false(watching(4242));
	assert_int_equal(fake.forgotten_count, 1);
	assert_int_equal(fake.forgotten[0], 4242);

	assert_int_equal(block_collector_snapshot(collector, &snapshot), 0);
	assert_int_equal(fake.reads, 1);
	assert_int_equal(snapshot.errors[0], 7);
	io_snapshot_free(&snapshot);

	block_collector_close(collector);
	assert_true(fake.closed);
	guest_table_free(&table);
}

static void without_the_block_programs_nothing_is_asked(void **state)
{
	struct block_collector *collector;
	struct guest_table table;
	struct io_snapshot snapshot;

	memset(&fake, 0, sizeof(fake));
	collector = block_collector_open_source(NULL, &fake_source, NULL,
						"no block_rq_insert");
	assert_non_null(collector);
	assert_false(block_collector_available(collector));
	assert_string_equal(block_collector_why(collector),
			    "no block_rq_insert");
	guest_table_init(&table);
	assert_non_null(guest_table_add(&table, 1000, 1));
	assert_int_equal(block_collector_sync(collector, &table), 0);
	assert_int_equal(block_collector_snapshot(collector, &snapshot), 0);
	assert_int_equal(snapshot.owner_count, 0);
	assert_int_equal(fake.watched_count, 0);
	assert_int_equal(fake.reads, 0);
	block_collector_close(collector);
	assert_false(fake.closed);
	guest_table_free(&table);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(watches_live_guests_and_forgets_pruned_ones),
		cmocka_unit_test(without_the_block_programs_nothing_is_asked),
	};

	return cmocka_run_group_tests_name("block_collector", tests, NULL,
					   NULL);
}
