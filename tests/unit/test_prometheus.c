// SPDX-License-Identifier: GPL-2.0-only
/*
 * The Prometheus exposition: exact sample lines from a synthetic guest
 * table, label escaping, cumulative histograms, exited guests, per-vCPU
 * series on and off, and the process_* figures from a fake /proc.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "prometheus.h"
#include "process_metrics.h"

#define WEB "guest=\"web\",vmm=\"qemu\",pid=\"100\""

static char *render(const struct guest_table *table,
		    const struct prom_health *health, bool per_vcpu)
{
	struct prom_options opts = { .per_vcpu = per_vcpu,
				     .proc_root = "/nonexistent" };
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);

	assert_non_null(mem);
	assert_int_equal(prometheus_write(mem, table, health, &opts), 0);
	fclose(mem);
	return text;
}

static bool has_line(const char *text, const char *line)
{
	size_t len = strlen(line);

	for (const char *at = text; (at = strstr(at, line)); at++)
		if ((at == text || at[-1] == '\n') && at[len] == '\n')
			return true;
	return false;
}

#define assert_line(text, line)                                       \
	do {                                                          \
		if (!has_line(text, line))                            \
			fail_msg("missing line: %s\n%s", line, text); \
	} while (0)

static struct thread *add_thread(struct guest *guest, int tid,
				 enum thread_kind kind, int vcpu_index)
{
	struct thread *thread = guest_add_thread(guest, tid);

	assert_non_null(thread);
	thread->kind = kind;
	thread->vcpu_index = vcpu_index;
	return thread;
}

/* web (pid 100): vCPUs 0 and 1, an emulator thread, one retired vCPU. */
static struct guest *add_web(struct guest_table *table)
{
	struct guest *guest = guest_table_add(table, 100, 7);
	struct thread *thread;

	assert_non_null(guest);
	strcpy(guest->name, "web");
	guest->vmm = VMM_QEMU;
	thread = add_thread(guest, 101, THREAD_VCPU, 0);
	thread->counters = (struct thread_counters){ .steal_ns = 1500000000,
						     .run_ns = 2000000000,
						     .waits = 3 };
	thread->counters.wait_hist[9] = 1; /* [512, 1024) ns */
	thread->counters.wait_hist[12] = 2; /* [4096, 8192) ns */
	thread = add_thread(guest, 102, THREAD_VCPU, 1);
	thread->counters = (struct thread_counters){ .steal_ns = 3,
						     .run_ns = 4,
						     .waits = 2 };
	thread->counters.wait_hist[3] = 1; /* merged into the first bucket */
	thread->counters.wait_hist[SCHED_WAIT_SLOTS - 1] = 1; /* > 4.29 s */
	thread = add_thread(guest, 100, THREAD_EMULATOR, -1);
	thread->counters =
		(struct thread_counters){ .steal_ns = 250000000, .run_ns = 5 };
	guest->retired[THREAD_VCPU] =
		(struct thread_counters){ .steal_ns = 1000000000, .waits = 10 };
	guest->retired[THREAD_VCPU].wait_hist[20] = 10;
	guest->retired[THREAD_VHOST].run_ns = 7;
	return guest;
}

static void guest_totals_are_exact(void **state)
{
	struct prom_health health = { .version = "1.2.3" };
	struct guest_table table;
	char *text;

	guest_table_init(&table);
	add_web(&table);
	text = render(&table, &health, false);
	assert_line(text,
		    "kvmwarden_guest_steal_seconds_total{" WEB "} 2.500000003");
	assert_line(text,
		    "kvmwarden_guest_run_seconds_total{" WEB "} 2.000000004");
	assert_line(text, "kvmwarden_guest_waits_total{" WEB "} 15");
	assert_line(text, "kvmwarden_guest_vcpus{" WEB "} 2");
	assert_line(text, "kvmwarden_guest_other_steal_seconds_total{" WEB
			  ",kind=\"emulator\"} 0.25");
	assert_line(text, "kvmwarden_guest_other_run_seconds_total{" WEB
			  ",kind=\"vhost\"} 0.000000007");
	assert_line(text, "kvmwarden_guest_other_run_seconds_total{" WEB
			  ",kind=\"iothread\"} 0");
	assert_line(text, "kvmwarden_build_info{version=\"1.2.3\"} 1");
	free(text);
	guest_table_free(&table);
}

static void steal_is_split_by_culprit(void **state)
{
	struct prom_health health = { 0 };
	struct guest_table table;
	struct guest *guest;
	char *text;

	guest_table_init(&table);
	guest = add_web(&table);
	guest_culprit(guest, ATTR_CULPRIT_GUEST, 9)->steal_ns = 1500000000;
	strcpy(guest_culprit(guest, ATTR_CULPRIT_GUEST, 9)->name, "db");
	guest_culprit(guest, ATTR_CULPRIT_CGROUP, 4)->steal_ns = 250000000;
	strcpy(guest_culprit(guest, ATTR_CULPRIT_CGROUP, 4)->name,
	       "/system.slice/backup \"nightly\"");
	text = render(&table, &health, false);
	assert_line(text, "kvmwarden_guest_steal_by_culprit_seconds_total{" WEB
			  ",culprit_kind=\"guest\",culprit=\"db\"} 1.5");
	assert_line(text, "kvmwarden_guest_steal_by_culprit_seconds_total{" WEB
			  ",culprit_kind=\"cgroup\",culprit=\"/system.slice/"
			  "backup \\\"nightly\\\"\"} 0.25");
	free(text);
	guest_table_free(&table);
}

static void histogram_is_cumulative(void **state)
{
	struct prom_health health = { 0 };
	struct guest_table table;
	char *text;

	guest_table_init(&table);
	add_web(&table);
	text = render(&table, &health, false);
	assert_line(text, "# TYPE kvmwarden_guest_wait_seconds histogram");
	/* Slots 3 and 9 end at or below 1.024 us. */
	assert_line(text, "kvmwarden_guest_wait_seconds_bucket{" WEB
			  ",le=\"0.000001024\"} 2");
	assert_line(text, "kvmwarden_guest_wait_seconds_bucket{" WEB
			  ",le=\"0.000004096\"} 2");
	assert_line(text, "kvmwarden_guest_wait_seconds_bucket{" WEB
			  ",le=\"0.000008192\"} 4");
	assert_line(text, "kvmwarden_guest_wait_seconds_bucket{" WEB
			  ",le=\"0.002097152\"} 14");
	assert_line(text, "kvmwarden_guest_wait_seconds_bucket{" WEB
			  ",le=\"4.294967296\"} 14");
	assert_line(text, "kvmwarden_guest_wait_seconds_bucket{" WEB
			  ",le=\"+Inf\"} 15");
	assert_line(text,
		    "kvmwarden_guest_wait_seconds_sum{" WEB "} 2.500000003");
	assert_line(text, "kvmwarden_guest_wait_seconds_count{" WEB "} 15");
	/* Nothing finer than the first edge, nothing past the last one. */
	assert_null(strstr(text, "le=\"0.000000512\""));
	assert_null(strstr(text, "le=\"8.589934592\""));
	free(text);
	guest_table_free(&table);
}

static void label_values_are_escaped(void **state)
{
	struct prom_health health = { .version = "v\"1\"" };
	struct guest_table table;
	struct guest *guest;
	char *text;

	guest_table_init(&table);
	guest = guest_table_add(&table, 5, 1);
	strcpy(guest->name, "a\\b\"c\nd");
	text = render(&table, &health, false);
	assert_line(text,
		    "kvmwarden_guest_waits_total{guest=\"a\\\\b\\\"c\\nd\","
		    "vmm=\"unknown\",pid=\"5\"} 0");
	assert_line(text, "kvmwarden_build_info{version=\"v\\\"1\\\"\"} 1");
	free(text);
	guest_table_free(&table);
}

static void exited_guest_is_exported_until_pruned(void **state)
{
	struct prom_health health = { 0 };
	struct guest_table table;
	struct guest *guest;
	char *text;

	guest_table_init(&table);
	guest = add_web(&table);
	guest->exited = true;
	guest->exited_at_ns = 1000;
	for (size_t i = 0; i < guest->thread_count; i++) {
		guest->threads[i].exited = true;
		guest->threads[i].exited_at_ns = 1000;
	}
	text = render(&table, &health, false);
	assert_line(text,
		    "kvmwarden_guest_steal_seconds_total{" WEB "} 2.500000003");
	assert_line(text, "kvmwarden_guest_vcpus{" WEB "} 0");
	free(text);

	/* Threads pruned into `retired` keep the totals where they were. */
	table.guests[0].exited = false;
	guest_table_prune(&table, 2000, 500, NULL, NULL);
	assert_int_equal(table.guests[0].thread_count, 0);
	text = render(&table, &health, false);
	assert_line(text,
		    "kvmwarden_guest_steal_seconds_total{" WEB "} 2.500000003");
	assert_line(text, "kvmwarden_guest_wait_seconds_count{" WEB "} 15");
	free(text);

	table.guests[0].exited = true;
	guest_table_prune(&table, 2000, 500, NULL, NULL);
	text = render(&table, &health, false);
	assert_null(strstr(text, "guest=\"web\""));
	assert_line(text, "# TYPE kvmwarden_guest_steal_seconds_total counter");
	free(text);
	guest_table_free(&table);
}

static void per_vcpu_series_are_opt_in(void **state)
{
	struct prom_health health = { 0 };
	struct guest_table table;
	struct thread *thread;
	struct guest *guest;
	char *text;

	guest_table_init(&table);
	guest = add_web(&table);
	text = render(&table, &health, false);
	assert_null(strstr(text, "kvmwarden_vcpu_"));
	free(text);

	/* vCPU 1's thread is replaced: only the new thread's series. */
	guest->threads[1].exited = true;
	thread = add_thread(guest, 103, THREAD_VCPU, 1);
	thread->counters.steal_ns = 9;
	text = render(&table, &health, true);
	assert_line(text, "kvmwarden_vcpu_steal_seconds_total{" WEB
			  ",vcpu=\"0\"} 1.5");
	assert_line(text, "kvmwarden_vcpu_steal_seconds_total{" WEB
			  ",vcpu=\"1\"} 0.000000009");
	assert_null(strstr(text, "vcpu=\"1\"} 0.000000003"));
	assert_line(text,
		    "kvmwarden_vcpu_run_seconds_total{" WEB ",vcpu=\"0\"} 2");
	assert_line(text, "kvmwarden_vcpu_waits_total{" WEB ",vcpu=\"0\"} 3");
	assert_line(text, "kvmwarden_vcpu_wait_seconds_bucket{" WEB
			  ",vcpu=\"0\",le=\"0.000008192\"} 3");
	assert_line(text,
		    "kvmwarden_vcpu_wait_seconds_count{" WEB ",vcpu=\"0\"} 3");
	/* The guest's figures still count the replaced thread. */
	assert_line(text,
		    "kvmwarden_guest_steal_seconds_total{" WEB "} 2.500000012");
	assert_line(text, "kvmwarden_guest_vcpus{" WEB "} 2");
	free(text);
	guest_table_free(&table);
}

static void same_name_and_pid_is_exported_once(void **state)
{
	struct prom_health health = { 0 };
	struct guest_table table;
	struct guest *old, *new;
	char *text;

	guest_table_init(&table);
	old = guest_table_add(&table, 100, 1);
	strcpy(old->name, "web");
	old->vmm = VMM_QEMU;
	old->exited = true;
	old->retired[THREAD_VCPU].waits = 50;
	new = guest_table_add(&table, 100, 2);
	strcpy(new->name, "web");
	new->vmm = VMM_QEMU;
	new->retired[THREAD_VCPU].waits = 1;
	text = render(&table, &health, false);
	assert_line(text, "kvmwarden_guest_waits_total{" WEB "} 1");
	assert_null(strstr(text, "} 50\n"));
	free(text);
	guest_table_free(&table);
}

/* Every sample belongs to a family announced by # HELP and # TYPE. */
static void every_family_has_help_and_type(void **state)
{
	struct loader_program_stats programs[1] = {
		{ .name = "handle_sched_switch",
		  .run_time_ns = 2500000000,
		  .run_count = 9 },
	};
	struct prom_health health = { .programs = programs,
				      .program_count = 1,
				      .errors = { 4, 0, 1 },
				      .tracker = { .passes = 12, .no_slot = 2 },
				      .slots_in_use = 6,
				      .slots_max = SCHED_MAX_THREADS,
				      .previous_scrape_ns = 1500000 };
	struct guest_table table;
	char *text, *line, *save = NULL, family[128] = "";
	int samples = 0;

	guest_table_init(&table);
	add_web(&table);
	text = render(&table, &health, true);
	assert_line(text, "kvmwarden_bpf_program_run_seconds_total"
			  "{program=\"handle_sched_switch\"} 2.5");
	assert_line(text, "kvmwarden_bpf_program_runs_total"
			  "{program=\"handle_sched_switch\"} 9");
	assert_line(text,
		    "kvmwarden_bpf_errors_total{error=\"storage_create\"} 4");
	assert_line(text,
		    "kvmwarden_bpf_errors_total{error=\"clock_backwards\"} 1");
	assert_line(text, "kvmwarden_discovery_passes_total 12");
	assert_line(text, "kvmwarden_untracked_threads_total 2");
	assert_line(text, "kvmwarden_tracked_slots 6");
	assert_line(text, "kvmwarden_tracked_slots_max 8192");
	assert_line(text, "kvmwarden_scrape_duration_seconds 0.0015");
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char help[160];
		size_t len;

		if (!strncmp(line, "# HELP ", 7)) {
			sscanf(line + 7, "%127s", family);
			snprintf(help, sizeof(help), "# TYPE %s ", family);
			line = strtok_r(NULL, "\n", &save);
			assert_non_null(line);
			assert_memory_equal(line, help, strlen(help));
			continue;
		}
		len = strlen(family);
		assert_true(len > 0);
		assert_memory_equal(line, family, len);
		/* Only a histogram's own suffixes may follow the name. */
		assert_true(strchr("{ ", line[len]) ||
			    !strncmp(line + len, "_bucket{", 8) ||
			    !strncmp(line + len, "_sum{", 5) ||
			    !strncmp(line + len, "_count{", 7));
		samples++;
	}
	assert_true(samples > 100);
	free(text);
	guest_table_free(&table);
}

static void seconds_are_exact(void **state)
{
	static const struct {
		uint64_t ns;
		const char *text;
	} cases[] = {
		{ 0, "0" },
		{ 3, "0.000000003" },
		{ 1500000000, "1.5" },
		{ 1000000000, "1" },
		{ UINT64_MAX, "18446744073.709551615" },
	};
	char buf[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		FILE *mem = fmemopen(buf, sizeof(buf), "w");

		assert_non_null(mem);
		prom_write_seconds(mem, cases[i].ns);
		fclose(mem);
		assert_string_equal(buf, cases[i].text);
	}
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *file;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	file = fopen(path, "w");
	assert_non_null(file);
	fputs(text, file);
	fclose(file);
}

static int make_proc_root(void **state)
{
	static char root[64];

	strcpy(root, "/tmp/kvmwarden-proc-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	*state = root;
	return 0;
}

static int remove_proc_root(void **state)
{
	char command[128];

	snprintf(command, sizeof(command), "rm -rf '%s'", (char *)*state);
	return system(command) ? -1 : 0;
}

static void process_figures_come_from_proc(void **state)
{
	const char *root = *state;
	char path[600];
	struct prom_options opts = { .proc_root = root };
	struct prom_health health = { 0 };
	struct guest_table table;
	char *text = NULL;
	size_t len = 0;
	long ticks = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	char stat[512], expected[128];
	FILE *mem;

	snprintf(path, sizeof(path), "%s/self", root);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/self/fd", root);
	assert_int_equal(mkdir(path, 0700), 0);
	write_file(path, "0", "");
	write_file(path, "1", "");
	write_file(path, "7", "");
	/* comm with a space and ')'; utime 3 s, stime 1.5 s in ticks,
	 * started 10 s after boot, 4096 pages resident. */
	snprintf(stat, sizeof(stat),
		 "42 (kvm) warden) S 1 42 42 0 -1 4194560 10 0 0 0 %ld %ld "
		 "0 0 20 0 3 0 %ld 123456789 4096 18446744073709551615\n",
		 3 * ticks, 3 * ticks / 2, 10 * ticks);
	write_file(root, "self/stat", stat);
	write_file(root, "self/limits",
		   "Limit                     Soft Limit           Hard Limit"
		   "           Units     \n"
		   "Max open files            1024                 524288"
		   "               files     \n");
	write_file(root, "stat", "cpu  1 2 3\nintr 5\nbtime 1700000000\n");

	guest_table_init(&table);
	mem = open_memstream(&text, &len);
	assert_non_null(mem);
	assert_int_equal(prometheus_write(mem, &table, &health, &opts), 0);
	fclose(mem);
	assert_line(text, "process_cpu_seconds_total 4.5");
	snprintf(expected, sizeof(expected),
		 "process_resident_memory_bytes %ld", 4096 * page);
	assert_line(text, expected);
	assert_line(text, "process_virtual_memory_bytes 123456789");
	assert_line(text, "process_open_fds 3");
	assert_line(text, "process_max_fds 1024");
	assert_line(text, "process_start_time_seconds 1700000010");
	free(text);

	/* The caller's start time wins; what cannot be read is left out. */
	health.start_time_unix_ns = 1800000000500000000ULL;
	write_file(root, "self/limits", "Max open files unlimited unlimited\n");
	text = render(&table, &health, false);
	assert_null(strstr(text, "process_cpu_seconds_total"));
	assert_line(text, "process_start_time_seconds 1800000000.5");
	free(text);
	mem = open_memstream(&text, &len);
	assert_int_equal(prometheus_write(mem, &table, &health, &opts), 0);
	fclose(mem);
	assert_null(strstr(text, "process_max_fds"));
	free(text);
}

static void stat_parser_refuses_short_lines(void **state)
{
	struct process_figures figures = { 0 };
	uint64_t max_fds;

	assert_int_equal(process_parse_stat("1 (a) S 1 2 3", 100, 4096,
					    &figures),
			 -EINVAL);
	assert_int_equal(process_parse_stat("garbage", 100, 4096, &figures),
			 -EINVAL);
	assert_false(figures.have_stat);
	assert_int_equal(process_parse_max_fds("nothing here", &max_fds),
			 -EINVAL);
	assert_int_equal(process_parse_max_fds("Max open files  unlimited  x",
					       &max_fds),
			 -ERANGE);
}

/* The exposition as Prometheus's own linter sees it, per-vCPU series and
 * process_* included: no error and no warning. */
static void promtool_finds_nothing_to_fix(void **state)
{
	struct loader_program_stats programs[1] = {
		{ .name = "handle_sched_switch",
		  .run_time_ns = 7,
		  .run_count = 1 },
	};
	struct prom_health health = { .version = "1.0",
				      .programs = programs,
				      .program_count = 1 };
	struct prom_options opts = { .per_vcpu = true };
	char path[] = "/tmp/kvmwarden-metrics-XXXXXX", command[256];
	char verdict[512] = "";
	struct guest_table table;
	struct guest *odd;
	FILE *out, *pipe;
	size_t got;
	int fd, status;

	if (system("command -v promtool >/dev/null 2>&1"))
		skip(); /* Debian's prometheus package has it */
	guest_table_init(&table);
	add_web(&table);
	odd = guest_table_add(&table, 200, 9);
	assert_non_null(odd);
	strcpy(odd->name, "odd \"name\"\\\n");
	odd->exited = true;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	out = fdopen(fd, "w");
	assert_non_null(out);
	assert_int_equal(prometheus_write(out, &table, &health, &opts), 0);
	fclose(out);
	snprintf(command, sizeof(command), "promtool check metrics < '%s' 2>&1",
		 path);
	pipe = popen(command, "r");
	assert_non_null(pipe);
	got = fread(verdict, 1, sizeof(verdict) - 1, pipe);
	verdict[got] = '\0';
	status = pclose(pipe);
	unlink(path);
	guest_table_free(&table);
	if (status != 0 || got)
		fail_msg("promtool: status %d: %s", status, verdict);
}

static void failed_output_is_an_error(void **state)
{
	struct prom_health health = { 0 };
	struct guest_table table;
	FILE *full = fopen("/dev/full", "w");

	if (!full)
		skip();
	guest_table_init(&table);
	add_web(&table);
	assert_int_equal(prometheus_write(full, &table, &health, NULL), -EIO);
	fclose(full);
	guest_table_free(&table);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(guest_totals_are_exact),
		cmocka_unit_test(steal_is_split_by_culprit),
		cmocka_unit_test(histogram_is_cumulative),
		cmocka_unit_test(label_values_are_escaped),
		cmocka_unit_test(exited_guest_is_exported_until_pruned),
		cmocka_unit_test(per_vcpu_series_are_opt_in),
		cmocka_unit_test(same_name_and_pid_is_exported_once),
		cmocka_unit_test(every_family_has_help_and_type),
		cmocka_unit_test(seconds_are_exact),
		cmocka_unit_test_setup_teardown(process_figures_come_from_proc,
						make_proc_root,
						remove_proc_root),
		cmocka_unit_test(stat_parser_refuses_short_lines),
		cmocka_unit_test(promtool_finds_nothing_to_fix),
		cmocka_unit_test(failed_output_is_an_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
