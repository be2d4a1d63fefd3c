// SPDX-License-Identifier: GPL-2.0-only
/*
 * The undo journal and the cgroup backend's pure parts: replaying records
 * (originals kept, torn lines skipped, one writer at a time), finding the
 * cpu hierarchy in mountinfo fixtures, refusing paths outside the roots or
 * off a cgroup file system, and the text each knob takes.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "actuate/actuate_affinity.h"
#include "actuate/actuate_cgroup.h"
#include "actuate/journal.h"

static char dir[64];
static char state[128];

static int setup(void **unused)
{
	snprintf(dir, sizeof(dir), "/tmp/kvmwarden-journal-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(state, sizeof(state), "%s/sub/state", dir);
	return 0;
}

static int teardown(void **unused)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void replay_keeps_first_original_and_last_value(void **unused)
{
	struct journal_entry *entries;
	struct journal journal;
	size_t count, bad;

	assert_int_equal(journal_open(&journal, state), 0);
	assert_int_equal(journal_record_before(&journal, "/cg/a/cpu.shares",
					       "/a", "cpu_weight", "1024", ""),
			 0);
	assert_int_equal(
		journal_record_set(&journal, "/cg/a/cpu.shares", "10240"), 0);
	assert_int_equal(journal_record_before(&journal, "/cg/b/cpu.max", "/b",
					       "cpu_quota", "max 100000", ""),
			 0);
	assert_int_equal(journal_record_set(&journal, "/cg/b/cpu.max",
					    "50000 100000"),
			 0);
	assert_int_equal(journal_record_set(&journal, "/cg/b/cpu.max",
					    "25000 100000"),
			 0);
	assert_int_equal(journal_record_done(&journal, "/cg/a/cpu.shares",
					     "restored"),
			 0);
	/* A torn last line, as power loss mid-write leaves it. */
	assert_int_equal(write(journal.fd, "{\"op\":\"se", 9), 9);
	journal_close(&journal);

	assert_int_equal(journal_load(state, &entries, &count, &bad), 0);
	assert_int_equal(count, 2);
	assert_int_equal(bad, 1);
	assert_false(entries[0].in_force);
	assert_true(entries[1].in_force);
	assert_string_equal(entries[1].original, "max 100000");
	assert_string_equal(entries[1].value, "25000 100000");
	assert_string_equal(entries[1].cgroup, "/b");
	free(entries);
}

/* A crash between a write and its "set" record: the value being written
 * is still known as ours; a "set" settles it. */
static void pending_write_is_remembered(void **unused)
{
	struct journal_entry *entries;
	struct journal journal;
	size_t count, bad;

	assert_int_equal(journal_open(&journal, state), 0);
	assert_int_equal(journal_record_before(&journal, "libvirt:u:1:cpu_quota",
					       "/m", "cpu_quota",
					       "vcpu_quota=-1", ""),
			 0);
	assert_int_equal(journal_record_want(&journal, "libvirt:u:1:cpu_quota",
					     "vcpu_quota=4000"),
			 0);
	assert_int_equal(journal_record_set(&journal, "libvirt:u:1:cpu_quota",
					    "vcpu_quota=4000"),
			 0);
	assert_int_equal(journal_record_want(&journal, "libvirt:u:1:cpu_quota",
					     "vcpu_quota=2000"),
			 0);
	journal_close(&journal);
	assert_int_equal(journal_load(state, &entries, &count, &bad), 0);
	assert_int_equal(count, 1);
	assert_int_equal(bad, 0);
	assert_string_equal(entries[0].value, "vcpu_quota=4000");
	assert_string_equal(entries[0].pending, "vcpu_quota=2000");
	free(entries);

	assert_int_equal(journal_open(&journal, state), 0);
	assert_int_equal(journal_record_set(&journal, "libvirt:u:1:cpu_quota",
					    "vcpu_quota=2000"),
			 0);
	journal_close(&journal);
	assert_int_equal(journal_load(state, &entries, &count, &bad), 0);
	assert_string_equal(entries[0].value, "vcpu_quota=2000");
	assert_string_equal(entries[0].pending, "");
	free(entries);
}

static void one_holder_at_a_time(void **unused)
{
	struct journal first, second;

	assert_int_equal(journal_open(&first, state), 0);
	assert_int_equal(journal_open(&second, state), -EBUSY);
	journal_close(&first);
	assert_int_equal(journal_open(&second, state), 0);
	assert_int_equal(journal_clear(&second), 0);
	journal_close(&second);
}

static void missing_journal_is_empty(void **unused)
{
	struct journal_entry *entries;
	size_t count, bad;

	assert_int_equal(journal_load("/nonexistent/kvmwarden/state", &entries,
				      &count, &bad),
			 0);
	assert_int_equal(count, 0);
}

static void cpu_hierarchy_is_found(void **unused)
{
	struct cgroup_fs fs;

	assert_int_equal(cgroup_fs_detect(&fs, "tests/fixtures/mountinfo/"
					       "hybrid"),
			 0);
	assert_int_equal(fs.version, 1);
	assert_string_equal(fs.mount, "/sys/fs/cgroup/cpu,cpuacct");
	/* "cpuacct" must not pass for "cpu". */
	assert_int_equal(cgroup_fs_detect(&fs, "tests/fixtures/mountinfo/"
					       "cpuacct-only"),
			 -ENOENT);
}

static void paths_outside_roots_or_cgroupfs_are_refused(void **unused)
{
	struct enforce_config enforce;
	struct cgroup_fs fs = { .version = 1 };
	char file[512], sub[160];

	enforce_config_defaults(&enforce);
	snprintf(enforce.roots[0], ENFORCE_PATH_LEN, "/kw");
	enforce.root_count = 1;
	/* A plain directory posing as a hierarchy: the right shape, but
	 * not a cgroup file system. */
	snprintf(fs.mount, sizeof(fs.mount), "%s", dir);
	snprintf(sub, sizeof(sub), "%s/kw", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(sub, sizeof(sub), "%s/kw/hog", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(cgroup_knob_file(&fs, &enforce, "/kw/hog",
					  POLICY_KNOB_CPU_QUOTA, file,
					  sizeof(file)),
			 -EPERM);
	assert_int_equal(cgroup_knob_file(&fs, &enforce, "/etc",
					  POLICY_KNOB_CPU_QUOTA, file,
					  sizeof(file)),
			 -EPERM);
	assert_int_equal(cgroup_knob_file(&fs, &enforce, "/kw/../etc",
					  POLICY_KNOB_CPU_QUOTA, file,
					  sizeof(file)),
			 -EINVAL);
	/* A symlink under the root that leads out of it. */
	snprintf(sub, sizeof(sub), "%s/kw/out", dir);
	assert_int_equal(symlink("/etc", sub), 0);
	assert_int_equal(cgroup_knob_file(&fs, &enforce, "/kw/out",
					  POLICY_KNOB_CPU_QUOTA, file,
					  sizeof(file)),
			 -EPERM);
	assert_int_equal(cgroup_knob_file(&fs, &enforce, "/kw/gone",
					  POLICY_KNOB_CPU_QUOTA, file,
					  sizeof(file)),
			 -ENOENT);
	/* And a write to a file off cgroupfs is refused outright. */
	snprintf(sub, sizeof(sub), "%s/kw/hog/cpu.shares", dir);
	close(open(sub, O_CREAT | O_WRONLY, 0600));
	assert_int_equal(cgroup_file_write(sub, "2048"), -EPERM);
}

static void knob_texts(void **unused)
{
	struct cgroup_fs v1 = { .version = 1 }, v2 = { .version = 2 };
	char text[64];

	assert_int_equal(cgroup_knob_text(&v1, "/nonexistent/cpu.shares",
					  POLICY_KNOB_CPU_WEIGHT, 100, "1024",
					  text, sizeof(text)),
			 0);
	assert_string_equal(text, "1024");
	assert_int_equal(cgroup_knob_text(&v2, "/x/cpu.weight",
					  POLICY_KNOB_CPU_WEIGHT, 1000, "100",
					  text, sizeof(text)),
			 0);
	assert_string_equal(text, "1000");
	/* v1: of the default period when cpu.cfs_period_us is unreadable. */
	assert_int_equal(cgroup_knob_text(&v1, "/nonexistent/cpu.cfs_quota_us",
					  POLICY_KNOB_CPU_QUOTA, 25, "-1", text,
					  sizeof(text)),
			 0);
	assert_string_equal(text, "25000");
	/* v2 keeps the period cpu.max holds; 1 ms is the kernel's floor. */
	assert_int_equal(cgroup_knob_text(&v2, "/x/cpu.max",
					  POLICY_KNOB_CPU_QUOTA, 1, "max 50000",
					  text, sizeof(text)),
			 0);
	assert_string_equal(text, "1000 50000");
	assert_int_equal(cgroup_knob_text(&v2, "/x/cpu.max",
					  POLICY_KNOB_CPU_QUOTA, 1, "garbage",
					  text, sizeof(text)),
			 -EINVAL);
}

static void cpu_lists_round_trip(void **unused)
{
	static const char *const good[] = { "0", "0-1", "0,2-3,7", "63-65",
					    "1023" };
	static const char *const bad[] = { "",	"-1",	"3-1", "1,,2",
					   "x", "1024", "0-" };
	struct cpu_mask mask;
	char text[64];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(affinity_parse(good[i], &mask), 0);
		assert_int_equal(affinity_format(&mask, text, sizeof(text)), 0);
		assert_string_equal(text, good[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(affinity_parse(bad[i], &mask), -EINVAL);
	assert_int_equal(affinity_parse("1,0", &mask), 0);
	assert_int_equal(affinity_format(&mask, text, sizeof(text)), 0);
	assert_string_equal(text, "0-1");
}

static void task_names_refuse_another_task(void **unused)
{
	char name[64], text[64], fake[64];

	/* Our own task: readable through its name... */
	assert_int_equal(affinity_task_name(getpid(), name, sizeof(name)), 0);
	assert_int_equal(affinity_read(name, text, sizeof(text)), 0);
	/* ...and the same tid with another start time is someone else. */
	snprintf(fake, sizeof(fake), AFFINITY_PREFIX "%d:1", getpid());
	assert_int_equal(affinity_read(fake, text, sizeof(text)), -ENOENT);
	assert_int_equal(affinity_write(fake, "0"), -ENOENT);
	assert_int_equal(affinity_read("affinity:x", text, sizeof(text)),
			 -EINVAL);
}

static void write_file(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
}

static size_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (size_t)st.st_size;
}

/* A NUL in the first line (the "before" holding the original): refused,
 * and not one byte of the file changes. */
static void damaged_journal_is_refused_and_kept(void **unused)
{
	static const char text[] =
		"{\"op\":\"bef\0re\",\"file\":\"/cg/j/cpu.max\",\"value\":\"max\"}\n"
		"{\"op\":\"want\",\"file\":\"/cg/j/cpu.max\",\"value\":\"5 10\"}\n"
		"{\"op\":\"set\",\"file\":\"/cg/j/cpu.max\",\"value\":\"5 10\"}\n";
	struct journal journal;
	char path[160], why[768];

	snprintf(path, sizeof(path), "%s/state", dir);
	write_file(path, text, sizeof(text) - 1);
	assert_int_equal(journal_open(&journal, path), -EBADMSG);
	assert_int_equal(journal.fd, -1);
	assert_int_equal(journal.damage.first_unreadable_line, 1);
	assert_int_equal(journal.damage.unreadable, 3);
	assert_int_equal(journal.damage.shaped, 2);
	assert_int_equal(file_size(path), sizeof(text) - 1);
	journal_describe(path, -EBADMSG, &journal.damage, why, sizeof(why));
	assert_non_null(strstr(why, "line 1"));
	assert_non_null(strstr(why, path));
	assert_int_equal(journal_check_file(path, NULL), -EBADMSG);
}

static void text_file_and_directory_are_not_journals(void **unused)
{
	static const char text[] = "an operator's notes, not a journal\n";
	struct journal journal;
	char path[160];

	snprintf(path, sizeof(path), "%s/notes", dir);
	write_file(path, text, sizeof(text) - 1);
	assert_int_equal(journal_open(&journal, path), -EBADMSG);
	assert_int_equal(file_size(path), sizeof(text) - 1);
	/* Not one record: even the operator's override does not apply. */
	assert_int_equal(journal_open_flags(&journal, path,
					    JOURNAL_SKIP_UNREADABLE),
			 -EBADMSG);
	assert_int_equal(file_size(path), sizeof(text) - 1);
	/* Without a final newline it is no torn record either. */
	write_file(path, text, sizeof(text) - 2);
	assert_int_equal(journal_open(&journal, path), -EBADMSG);
	assert_int_equal(file_size(path), sizeof(text) - 2);
	assert_int_equal(journal_check_file(dir, NULL), -EINVAL);
	assert_int_equal(journal_open(&journal, dir), -EISDIR);
	assert_int_equal(journal_check_file("/nonexistent/state", NULL), 0);
}

/* A crash mid-append: tolerated, said, and cut off so the next record
 * gets a line of its own. */
static void torn_tail_is_cut_off(void **unused)
{
	struct journal_entry *entries;
	struct journal_damage damage;
	struct journal journal;
	size_t count, whole;

	assert_int_equal(journal_open(&journal, state), 0);
	assert_int_equal(journal_record_before(&journal, "/cg/a/cpu.max", "/a",
					       "cpu_quota", "max", ""),
			 0);
	whole = file_size(state);
	assert_int_equal(write(journal.fd, "{\"op\":\"se", 9), 9);
	journal_close(&journal);
	assert_int_equal(journal_check_file(state, &damage), 0);
	assert_true(damage.torn_tail);
	assert_int_equal(journal_open(&journal, state), 0);
	assert_true(journal.damage.torn_tail);
	assert_int_equal(file_size(state), whole);
	assert_int_equal(journal_record_set(&journal, "/cg/a/cpu.max", "5 10"),
			 0);
	journal_close(&journal);
	assert_int_equal(journal_load_damage(state, &entries, &count, &damage),
			 0);
	assert_int_equal(count, 1);
	assert_int_equal(damage.unreadable, 0);
	assert_false(damage.torn_tail);
	assert_string_equal(entries[0].value, "5 10");
	free(entries);
}

static void skip_unreadable_keeps_a_copy(void **unused)
{
	static const char text[] =
		"{\"op\":\"before\",\"file\":\"/cg/k/cpu.max\",\"value\":\"max\"}\n"
		"typed here by hand\n"
		"{\"op\":\"set\",\"file\":\"/cg/k/cpu.max\",\"value\":\"5 10\"}\n";
	struct journal journal;
	char path[160], copy[sizeof(text)];
	int fd;

	snprintf(path, sizeof(path), "%s/state", dir);
	write_file(path, text, sizeof(text) - 1);
	assert_int_equal(journal_open(&journal, path), -EBADMSG);
	assert_int_equal(journal.damage.first_unreadable_line, 2);
	assert_int_equal(journal_open_flags(&journal, path,
					    JOURNAL_SKIP_UNREADABLE),
			 0);
	assert_true(journal.copy_path[0]);
	fd = open(journal.copy_path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, copy, sizeof(copy)), sizeof(text) - 1);
	close(fd);
	assert_memory_equal(copy, text, sizeof(text) - 1);
	journal_close(&journal);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			replay_keeps_first_original_and_last_value, setup,
			teardown),
		cmocka_unit_test_setup_teardown(pending_write_is_remembered,
						setup, teardown),
		cmocka_unit_test_setup_teardown(one_holder_at_a_time, setup,
						teardown),
		cmocka_unit_test(missing_journal_is_empty),
		cmocka_unit_test_setup_teardown(
			damaged_journal_is_refused_and_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(
			text_file_and_directory_are_not_journals, setup,
			teardown),
		cmocka_unit_test_setup_teardown(torn_tail_is_cut_off, setup,
						teardown),
		cmocka_unit_test_setup_teardown(skip_unreadable_keeps_a_copy,
						setup, teardown),
		cmocka_unit_test(cpu_hierarchy_is_found),
		cmocka_unit_test_setup_teardown(
			paths_outside_roots_or_cgroupfs_are_refused, setup,
			teardown),
		cmocka_unit_test(knob_texts),
		cmocka_unit_test(cpu_lists_round_trip),
		cmocka_unit_test(task_names_refuse_another_task),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
