// SPDX-License-Identifier: GPL-2.0-only
/*
 * The I/O model: which owner is which guest, deltas, merging tgids and
 * cgroups into one entry per device, blocked-behind culprits, and the two
 * small parsers (uevent DEVNAME, the blkio line of /proc/PID/cgroup).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "model/io_model.h"

#define VDA 0x0fe00000u /* 254:0 */
#define SDB 0x00800010u /* 8:16 */

static int fake_cgroup_path(void *ctx, uint64_t id, char *path, size_t size)
{
	if (id == 7000)
		return snprintf(path, size, "/system.slice/backup.service"), 0;
	if (id == 1)
		return snprintf(path, size, "/"), 0;
	return -2; /* -ENOENT */
}

static int fake_device_name(void *ctx, uint32_t dev, char *name, size_t size)
{
	if (dev == VDA)
		return snprintf(name, size, "vda"), 0;
	return -2;
}

static const struct io_namer namer = { .cgroup_path = fake_cgroup_path,
				       .device_name = fake_device_name };

static void block_helpers(void **state)
{
	assert_int_equal(block_dev_make(254, 0), VDA);
	assert_int_equal(block_dev_major(SDB), 8);
	assert_int_equal(block_dev_minor(SDB), 16);
	assert_int_equal(block_op_of(0), BLOCK_OP_READ);
	assert_int_equal(block_op_of(1), BLOCK_OP_WRITE);
	/* A write with flags above the op bits (REQ_SYNC, REQ_FUA...). */
	assert_int_equal(block_op_of(1 | (1u << 11) | (1u << 17)),
			 BLOCK_OP_WRITE);
	assert_int_equal(block_op_of(2), BLOCK_OP_OTHER); /* flush */
	assert_int_equal(block_op_of(3), BLOCK_OP_OTHER); /* discard */
	assert_string_equal(io_op_name(BLOCK_OP_WRITE), "write");
	assert_string_equal(io_error_name(BLOCK_ERR_LOST), "lost");
	assert_string_equal(io_error_name(BLOCK_ERR_COUNT), "unknown");
}

static void settle_drops_shared_and_root_cgroups(void **state)
{
	struct io_guest_ref refs[] = {
		{ .pid = 10, .cgroup_id = 500 }, /* own */
		{ .pid = 11, .cgroup_id = 600 }, /* shared with 12 and 13 */
		{ .pid = 12, .cgroup_id = 600 },
		{ .pid = 13, .cgroup_id = 600 },
		{ .pid = 14, .cgroup_id = 1 }, /* the root */
	};

	io_guest_refs_settle(refs, 5, 1);
	assert_int_equal(refs[0].cgroup_id, 500);
	assert_int_equal(refs[1].cgroup_id, 0);
	assert_int_equal(refs[2].cgroup_id, 0);
	assert_int_equal(refs[3].cgroup_id, 0);
	assert_int_equal(refs[4].cgroup_id, 0);
}

static void owner_by_cgroup_then_tgid(void **state)
{
	struct io_guest_ref refs[] = { { .pid = 10, .cgroup_id = 500 },
				       { .pid = 11, .cgroup_id = 0 } };

	/* The guest's own cgroup wins, whoever submitted (a kworker). */
	assert_int_equal(io_owner_guest(refs, 2, 500, 0), 0);
	assert_int_equal(io_owner_guest(refs, 2, 500, 11), 0);
	/* No own cgroup: the VMM's tgid. */
	assert_int_equal(io_owner_guest(refs, 2, 1, 11), 1);
	assert_int_equal(io_owner_guest(refs, 2, 0, 10), 0);
	/* Neither: host. tgid 0 never matches. */
	assert_int_equal(io_owner_guest(refs, 2, 1, 0), -1);
	assert_int_equal(io_owner_guest(refs, 2, 777, 99), -1);
	assert_int_equal(io_owner_guest(NULL, 0, 500, 10), -1);
}

static struct io_owner_sample sample(uint64_t cgroup_id, uint32_t tgid,
				     uint32_t dev, uint64_t writes,
				     uint64_t queue_ns)
{
	struct io_owner_sample s;

	memset(&s, 0, sizeof(s));
	s.key.cgroup_id = cgroup_id;
	s.key.tgid = tgid;
	s.key.dev = dev;
	s.stats.ops[BLOCK_OP_WRITE] = writes;
	s.stats.bytes[BLOCK_OP_WRITE] = writes * 4096;
	s.stats.issued = writes;
	s.stats.retired = writes;
	s.stats.queue_ns = queue_ns;
	s.stats.queue_hist[10] = writes;
	s.stats.queue_max_ns = 2000;
	return s;
}

static void report_merges_and_takes_deltas(void **state)
{
	struct io_guest_ref refs[] = {
		{ .pid = 10, .cgroup_id = 500, .name = "web" },
		{ .pid = 11, .cgroup_id = 0, .name = "db" },
		{ .pid = 12, .cgroup_id = 0, .name = "idle" },
	};
	struct io_owner_sample then[] = {
		sample(500, 0, VDA, 100, 1000),
		sample(500, 10, VDA, 50, 500),
		sample(1, 11, VDA, 7, 70),
	};
	struct io_owner_sample now[] = {
		sample(500, 0, VDA, 130, 1300), /* +30, a kworker's */
		sample(500, 10, VDA, 60, 600), /* +10, QEMU's */
		sample(1, 11, VDA, 7, 70), /* no change: left out */
		sample(1, 11, SDB, 5, 50), /* new since `then` */
		sample(7000, 0, VDA, 9, 90), /* host, named */
		sample(8000, 0, VDA, 4, 40), /* host, unnamed */
		sample(0, 0, VDA, 3, 0), /* flushes: no cgroup */
	};
	struct io_snapshot before = { .owners = then, .owner_count = 3 };
	struct io_snapshot after = { .owners = now, .owner_count = 7 };
	const struct io_owner *web, *db;
	struct io_report report;

	before.errors[BLOCK_ERR_MERGED] = 4;
	after.errors[BLOCK_ERR_MERGED] = 10;
	now[1].stats.issued = 62; /* two in flight at the end */
	assert_int_equal(
		io_report_build(&report, &before, &after, refs, 3, &namer), 0);
	assert_true(report.available);
	assert_int_equal(report.errors[BLOCK_ERR_MERGED], 6);
	/* Guests that did I/O, in ref order; "idle" did none. */
	assert_int_equal(report.guest_count, 2);
	web = io_report_guest(&report, 10);
	assert_non_null(web);
	assert_string_equal(web->name, "web");
	assert_int_equal(web->device_count, 1);
	assert_string_equal(web->devices[0].device, "254:0");
	assert_string_equal(web->devices[0].name, "vda");
	assert_int_equal(web->devices[0].delta.ops[BLOCK_OP_WRITE], 40);
	assert_int_equal(web->devices[0].delta.bytes[BLOCK_OP_WRITE],
			 40 * 4096);
	assert_int_equal(web->devices[0].delta.queue_ns, 400);
	assert_int_equal(web->devices[0].delta.queue_hist[10], 40);
	assert_int_equal(web->devices[0].delta.issued, 42);
	assert_int_equal(web->devices[0].in_flight, 2);
	/* db's unchanged vda entry is left out; sdb is new and unnamed. */
	db = io_report_guest(&report, 11);
	assert_non_null(db);
	assert_int_equal(db->device_count, 1);
	assert_string_equal(db->devices[0].device, "8:16");
	assert_string_equal(db->devices[0].name, "");
	assert_int_equal(db->devices[0].delta.ops[BLOCK_OP_WRITE], 5);
	assert_null(io_report_guest(&report, 12));
	/* Hosts sorted by path: "(none)", the named one, the fallback. */
	assert_int_equal(report.host_count, 3);
	assert_string_equal(report.hosts[0].cgroup, "(none)");
	assert_string_equal(report.hosts[1].cgroup,
			    "/system.slice/backup.service");
	assert_string_equal(report.hosts[2].cgroup, "cgroup-8000");
	assert_int_equal(report.hosts[1].devices[0].delta.ops[BLOCK_OP_WRITE],
			 9);
	io_report_free(&report);
	assert_int_equal(report.guest_count, 0);
}

static struct io_blocked_sample blocked(uint64_t victim_cgroup,
					uint32_t victim_tgid,
					uint64_t culprit_cgroup,
					uint32_t culprit_tgid, uint64_t ns)
{
	struct io_blocked_sample s;

	memset(&s, 0, sizeof(s));
	s.key.victim_cgroup_id = victim_cgroup;
	s.key.victim_tgid = victim_tgid;
	s.key.culprit_cgroup_id = culprit_cgroup;
	s.key.culprit_tgid = culprit_tgid;
	s.key.dev = VDA;
	s.blocked_ns = ns;
	return s;
}

static void blocked_behind_names_and_merges_culprits(void **state)
{
	struct io_guest_ref refs[] = {
		{ .pid = 10, .cgroup_id = 500, .name = "web" },
		{ .pid = 11, .cgroup_id = 0, .name = "db" },
	};
	struct io_owner_sample owners[] = { sample(500, 0, VDA, 10, 100),
					    sample(1, 11, VDA, 10, 100) };
	struct io_blocked_sample then[] = {
		blocked(500, 0, 7000, 0, 1000),
	};
	struct io_blocked_sample now[] = {
		blocked(500, 0, 7000, 0, 1500), /* +500 behind backup */
		blocked(500, 10, 7000, 0, 300), /* same culprit, merged */
		blocked(500, 0, 1, 11, 900), /* behind guest db */
		blocked(500, 0, 500, 10, 50), /* behind itself: dropped */
		blocked(1, 11, 500, 0, 70), /* db behind web */
	};
	struct io_snapshot before = { .blocked = then, .blocked_count = 1 };
	struct io_snapshot after = { .owners = owners,
				     .owner_count = 2,
				     .blocked = now,
				     .blocked_count = 5 };
	const struct io_device *web, *db;
	struct io_report report;

	assert_int_equal(
		io_report_build(&report, &before, &after, refs, 2, &namer), 0);
	web = &io_report_guest(&report, 10)->devices[0];
	assert_int_equal(web->blocked_count, 2);
	/* Largest first: db's 900, then backup's 500 + 300. */
	assert_int_equal(web->blocked_behind[0].kind, IO_CULPRIT_GUEST);
	assert_string_equal(web->blocked_behind[0].name, "db");
	assert_int_equal(web->blocked_behind[0].blocked_ns, 900);
	assert_int_equal(web->blocked_behind[1].kind, IO_CULPRIT_CGROUP);
	assert_string_equal(web->blocked_behind[1].name,
			    "/system.slice/backup.service");
	assert_int_equal(web->blocked_behind[1].blocked_ns, 800);
	db = &io_report_guest(&report, 11)->devices[0];
	assert_int_equal(db->blocked_count, 1);
	assert_string_equal(db->blocked_behind[0].name, "web");
	io_report_free(&report);
}

static void report_since_load_and_empty(void **state)
{
	struct io_owner_sample owners[] = { sample(7000, 0, VDA, 3, 30) };
	struct io_snapshot after = { .owners = owners, .owner_count = 1 };
	struct io_snapshot none = { 0 };
	struct io_report report;

	assert_int_equal(io_report_build(&report, NULL, &after, NULL, 0, NULL),
			 0);
	assert_int_equal(report.host_count, 1);
	/* Without a namer: the id stands in, devices stay unnamed. */
	assert_string_equal(report.hosts[0].cgroup, "cgroup-7000");
	assert_string_equal(report.hosts[0].devices[0].name, "");
	assert_int_equal(report.hosts[0].devices[0].delta.ops[BLOCK_OP_WRITE],
			 3);
	io_report_free(&report);
	assert_int_equal(io_report_build(&report, NULL, &none, NULL, 0, NULL),
			 0);
	assert_int_equal(report.guest_count + report.host_count, 0);
	io_report_free(&report);
}

static void deltas_clamp_at_zero(void **state)
{
	struct io_owner_sample a = sample(1, 0, VDA, 10, 100);
	struct io_owner_sample b = sample(1, 0, VDA, 4, 400);
	struct io_figures delta, sum;

	/* A counter that went backwards (an entry forgotten and re-made)
	 * gives 0, never a huge unsigned number. */
	io_figures_delta(&delta, &b.stats, &a.stats);
	assert_int_equal(delta.ops[BLOCK_OP_WRITE], 0);
	assert_int_equal(delta.queue_ns, 300);
	memset(&sum, 0, sizeof(sum));
	io_figures_add(&sum, &delta);
	io_figures_add(&sum, &delta);
	assert_int_equal(sum.queue_ns, 600);
	assert_int_equal(sum.queue_max_ns, 2000);
}

static void per_cpu_copies_fold(void **state)
{
	struct block_owner_stats per_cpu[3], total;

	memset(per_cpu, 0, sizeof(per_cpu));
	/* Issued on CPU 0, completed on CPU 1: each CPU's copy alone is
	 * lopsided (retired > issued on one), only the sums are right. */
	per_cpu[0].issued = 5;
	per_cpu[0].queue_ns = 500;
	per_cpu[0].queue_max_ns = 300;
	per_cpu[0].queue_hist[3] = 5;
	per_cpu[1].retired = 4;
	per_cpu[1].ops[BLOCK_OP_WRITE] = 4;
	per_cpu[1].bytes[BLOCK_OP_WRITE] = 4 * 4096;
	per_cpu[1].device_ns = 4000;
	per_cpu[1].device_max_ns = 1500;
	per_cpu[1].device_hist[10] = 4;
	per_cpu[2].issued = 1;
	per_cpu[2].retired = 1;
	per_cpu[2].queue_max_ns = 900;
	per_cpu[2].device_max_ns = 100;
	per_cpu[2].device_hist[10] = 1;
	memset(&total, 0xff, sizeof(total)); /* overwritten, not added to */
	io_owner_stats_fold(&total, per_cpu, 3);
	assert_int_equal(total.issued, 6);
	assert_int_equal(total.retired, 5);
	assert_int_equal(total.issued - total.retired, 1); /* in flight */
	assert_int_equal(total.ops[BLOCK_OP_WRITE], 4);
	assert_int_equal(total.ops[BLOCK_OP_READ], 0);
	assert_int_equal(total.bytes[BLOCK_OP_WRITE], 4 * 4096);
	assert_int_equal(total.queue_ns, 500);
	assert_int_equal(total.device_ns, 4000);
	assert_int_equal(total.queue_max_ns, 900);
	assert_int_equal(total.device_max_ns, 1500);
	assert_int_equal(total.queue_hist[3], 5);
	assert_int_equal(total.device_hist[10], 5);
	assert_int_equal(total.device_hist[11], 0);
	/* One CPU: the copy itself. */
	io_owner_stats_fold(&total, &per_cpu[1], 1);
	assert_memory_equal(&total, &per_cpu[1], sizeof(total));
}

static void uevent_devname(void **state)
{
	char name[8];

	assert_int_equal(io_parse_uevent_devname("MAJOR=254\nMINOR=0\n"
						 "DEVNAME=vda\nDEVTYPE=disk\n",
						 name, sizeof(name)),
			 0);
	assert_string_equal(name, "vda");
	assert_int_equal(io_parse_uevent_devname("DEVNAME=nvme0n1", name,
						 sizeof(name)),
			 0);
	assert_string_equal(name, "nvme0n1");
	assert_int_equal(
		io_parse_uevent_devname("MAJOR=8\n", name, sizeof(name)), -2);
	assert_int_equal(
		io_parse_uevent_devname("DEVNAME=\n", name, sizeof(name)), -2);
	/* Too long for the buffer: an error, not a truncated name. */
	assert_int_equal(io_parse_uevent_devname("DEVNAME=mapper/long-one\n",
						 name, sizeof(name)),
			 -22);
	assert_string_equal(name, "");
	assert_int_equal(io_parse_uevent_devname(NULL, name, sizeof(name)),
			 -22);
}

static void blkio_cgroup_line(void **state)
{
	static const char hybrid[] = "12:cpu,cpuacct:/machine/vm1\n"
				     "7:blkio:/machine/vm1/io\n"
				     "1:name=systemd:/user.slice\n"
				     "0::/user.slice\n";
	char path[64];

	assert_int_equal(
		io_parse_blkio_cgroup(hybrid, true, path, sizeof(path)), 0);
	assert_string_equal(path, "/machine/vm1/io");
	assert_int_equal(
		io_parse_blkio_cgroup(hybrid, false, path, sizeof(path)), 0);
	assert_string_equal(path, "/user.slice");
	/* blkio sharing a hierarchy with other controllers. */
	assert_int_equal(io_parse_blkio_cgroup("4:blkio,net_cls:/a\n", true,
					       path, sizeof(path)),
			 0);
	assert_string_equal(path, "/a");
	/* "blkio" must be a whole controller name. */
	assert_int_equal(io_parse_blkio_cgroup("4:blkiox:/a\n", true, path,
					       sizeof(path)),
			 -2);
	assert_int_equal(io_parse_blkio_cgroup("0::/only\n", true, path,
					       sizeof(path)),
			 -2);
	assert_int_equal(io_parse_blkio_cgroup("garbage\n", true, path,
					       sizeof(path)),
			 -22);
	assert_int_equal(io_parse_blkio_cgroup("4:blkio:nopath\n", true, path,
					       sizeof(path)),
			 -22);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(block_helpers),
		cmocka_unit_test(settle_drops_shared_and_root_cgroups),
		cmocka_unit_test(owner_by_cgroup_then_tgid),
		cmocka_unit_test(report_merges_and_takes_deltas),
		cmocka_unit_test(blocked_behind_names_and_merges_culprits),
		cmocka_unit_test(report_since_load_and_empty),
		cmocka_unit_test(deltas_clamp_at_zero),
		cmocka_unit_test(per_cpu_copies_fold),
		cmocka_unit_test(uevent_devname),
		cmocka_unit_test(blkio_cgroup_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
