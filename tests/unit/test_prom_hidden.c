// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hidden steal on /metrics (exporters/prom_hidden.c): exact sample lines
 * from a synthetic guest table (vCPU sums with retired threads, vectors,
 * other threads, culprits summed by what the labels show, per-CPU
 * families), per-vCPU series only when opted in, nothing when the
 * interrupt programs are not loaded, and promtool's verdict.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "prometheus.h"

#define WEB "guest=\"web\",vmm=\"qemu\",pid=\"100\""

static char *render(const struct guest_table *table, bool per_vcpu)
{
	struct prom_health health = { .version = "1.0" };
	struct prom_options opts = { .per_vcpu = per_vcpu,
				     .proc_root = "/nonexistent" };
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);

	assert_non_null(mem);
	assert_int_equal(prometheus_write(mem, table, &health, &opts), 0);
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

static void add_culprit(struct guest *guest, uint32_t bpf_kind, uint32_t netns,
			uint32_t id, const char *device, const char *owner,
			uint64_t ns)
{
	struct hidden_culprit_total *entry;
	size_t cap = guest->hidden_culprit_count + 1;

	entry = realloc(guest->hidden_culprits, cap * sizeof(*entry));
	assert_non_null(entry);
	guest->hidden_culprits = entry;
	guest->hidden_culprit_cap = cap;
	entry = &guest->hidden_culprits[guest->hidden_culprit_count++];
	memset(entry, 0, sizeof(*entry));
	entry->bpf_kind = bpf_kind;
	entry->netns = netns;
	entry->id = id;
	snprintf(entry->device, sizeof(entry->device), "%s", device);
	snprintf(entry->owner, sizeof(entry->owner), "%s", owner);
	entry->ns = ns;
	entry->count = 1;
}

/* web (pid 100): vCPUs 0 and 1, a retired vCPU, a vhost thread; two CPUs
 * of interrupt figures. */
static void fill(struct guest_table *table)
{
	struct guest *guest;
	struct thread *thread;

	guest_table_init(table);
	guest = guest_table_add(table, 100, 7);
	assert_non_null(guest);
	strcpy(guest->name, "web");
	guest->vmm = VMM_QEMU;
	thread = add_thread(guest, 101, THREAD_VCPU, 0);
	thread->counters.hidden.hard_ns[IRQ_HARD_DEVICE] = 1000000000;
	thread->counters.hidden.hard_ns[IRQ_HARD_LOCAL_TIMER] = 500000000;
	thread->counters.hidden.soft_ns[IRQ_SOFTIRQ_NET_RX] = 2000000000;
	thread->counters.hidden.soft_ns[1] = 3; /* TIMER */
	thread = add_thread(guest, 102, THREAD_VCPU, 1);
	thread->counters.hidden.hard_ns[IRQ_HARD_RESCHEDULE] = 7;
	thread->counters.hidden.soft_ns[IRQ_SOFTIRQ_NET_RX] = 250000000;
	guest->retired[THREAD_VCPU].hidden.soft_ns[IRQ_SOFTIRQ_NET_RX] =
		1000000000;
	thread = add_thread(guest, 103, THREAD_VHOST, -1);
	thread->counters.hidden.soft_ns[2] = 40000000; /* NET_TX */
	thread->counters.hidden.hard_ns[IRQ_HARD_DEVICE] = 10;
	guest->retired[THREAD_VHOST].hidden.hard_ns[IRQ_HARD_DEVICE] = 5;

	/* A tap "noisy" owns, seen on two threads; veth0 in two network
	 * namespaces; a handler; a system vector with no name of its own;
	 * the packets past the device table. */
	add_culprit(guest, IRQ_CULPRIT_DEVICE, 1, 5, "tap1", "noisy", 600);
	add_culprit(guest, IRQ_CULPRIT_DEVICE, 1, 5, "tap1", "noisy", 400);
	add_culprit(guest, IRQ_CULPRIT_DEVICE, 1, 3, "veth0", "", 100);
	add_culprit(guest, IRQ_CULPRIT_DEVICE, 2, 3, "veth0", "", 200);
	add_culprit(guest, IRQ_CULPRIT_IRQ, 0, 24, "virtio0-input.0", "",
		    1500000000);
	add_culprit(guest, IRQ_CULPRIT_VECTOR, 0, IRQ_HARD_LOCAL_TIMER, "", "",
		    5);
	/* the same vector as collection may name it: one series */
	add_culprit(guest, IRQ_CULPRIT_VECTOR, 0, IRQ_HARD_LOCAL_TIMER,
		    "LOCAL_TIMER", "", 2);
	add_culprit(guest, IRQ_CULPRIT_DEVICE, 0, 0, "", "", 9);

	table->cpu_irq = calloc(2, sizeof(*table->cpu_irq));
	assert_non_null(table->cpu_irq);
	table->cpu_irq_count = 2;
	table->cpu_irq[1].soft_ns[IRQ_SOFTIRQ_NET_RX] = 2500000000;
	table->cpu_irq[1].soft_count[IRQ_SOFTIRQ_NET_RX] = 250000;
	table->cpu_irq[1].hard_ns[IRQ_HARD_LOCAL_TIMER] = 1000;
	table->cpu_irq[1].hard_count[IRQ_HARD_LOCAL_TIMER] = 4;
}

static void guest_figures_are_exact(void **state)
{
	struct guest_table table;
	char *text;

	fill(&table);
	text = render(&table, false);
	/* 1 s + 0.5 s + 7 ns over the vCPUs */
	assert_line(text, "kvmwarden_guest_hidden_irq_seconds_total{" WEB
			  "} 1.500000007");
	/* 2 s + 0.25 s + 1 s retired */
	assert_line(text, "kvmwarden_guest_hidden_softirq_seconds_total{" WEB
			  ",vector=\"NET_RX\"} 3.25");
	assert_line(text, "kvmwarden_guest_hidden_softirq_seconds_total{" WEB
			  ",vector=\"TIMER\"} 0.000000003");
	assert_line(text, "kvmwarden_guest_hidden_softirq_seconds_total{" WEB
			  ",vector=\"RCU\"} 0");
	/* The vhost thread is not a vCPU: its NET_TX is its own. */
	assert_line(text, "kvmwarden_guest_hidden_softirq_seconds_total{" WEB
			  ",vector=\"NET_TX\"} 0");
	assert_line(text, "kvmwarden_guest_other_hidden_seconds_total{" WEB
			  ",kind=\"vhost\",context=\"softirq\"} 0.04");
	assert_line(text, "kvmwarden_guest_other_hidden_seconds_total{" WEB
			  ",kind=\"vhost\",context=\"irq\"} 0.000000015");
	assert_line(text, "kvmwarden_guest_other_hidden_seconds_total{" WEB
			  ",kind=\"emulator\",context=\"irq\"} 0");
	free(text);
	guest_table_free(&table);
}

static void culprits_are_summed_as_shown(void **state)
{
	struct guest_table table;
	char *text;

	fill(&table);
	text = render(&table, false);
	assert_line(text, "kvmwarden_guest_hidden_by_culprit_seconds_total{" WEB
			  ",culprit_kind=\"guest\",culprit=\"noisy\"} "
			  "0.000001");
	assert_line(text, "kvmwarden_guest_hidden_by_culprit_seconds_total{" WEB
			  ",culprit_kind=\"device\",culprit=\"veth0\"} "
			  "0.0000003");
	assert_line(text, "kvmwarden_guest_hidden_by_culprit_seconds_total{" WEB
			  ",culprit_kind=\"irq\",culprit=\"virtio0-input.0\"} "
			  "1.5");
	assert_line(text, "kvmwarden_guest_hidden_by_culprit_seconds_total{" WEB
			  ",culprit_kind=\"irq\",culprit=\"local_timer\"} "
			  "0.000000007");
	assert_null(strstr(text, "culprit=\"LOCAL_TIMER\""));
	assert_line(text, "kvmwarden_guest_hidden_by_culprit_seconds_total{" WEB
			  ",culprit_kind=\"device\",culprit=\"other\"} "
			  "0.000000009");
	/* One series per shown culprit: the tap's name is not a label. */
	assert_null(strstr(text, "culprit=\"tap1\""));
	free(text);
	guest_table_free(&table);
}

static void owner_names_are_escaped(void **state)
{
	struct guest_table table;
	char *text;

	fill(&table);
	strcpy(table.guests[0].hidden_culprits[0].owner, "a \"b\"\\");
	text = render(&table, false);
	assert_line(text,
		    "kvmwarden_guest_hidden_by_culprit_seconds_total{" WEB
		    ",culprit_kind=\"guest\",culprit=\"a \\\"b\\\"\\\\\"} "
		    "0.0000006");
	free(text);
	guest_table_free(&table);
}

static void cpu_families_are_exact(void **state)
{
	struct guest_table table;
	char *text;

	fill(&table);
	text = render(&table, false);
	assert_line(text, "kvmwarden_cpu_softirq_seconds_total{cpu=\"1\","
			  "vector=\"NET_RX\"} 2.5");
	assert_line(text, "kvmwarden_cpu_softirqs_total{cpu=\"1\","
			  "vector=\"NET_RX\"} 250000");
	assert_line(text, "kvmwarden_cpu_softirqs_total{cpu=\"0\","
			  "vector=\"HI\"} 0");
	assert_line(text, "kvmwarden_cpu_irq_seconds_total{cpu=\"1\","
			  "kind=\"LOCAL_TIMER\"} 0.000001");
	assert_line(text, "kvmwarden_cpu_irqs_total{cpu=\"1\","
			  "kind=\"LOCAL_TIMER\"} 4");
	assert_line(text, "kvmwarden_cpu_irqs_total{cpu=\"1\","
			  "kind=\"OTHER_VECTOR\"} 0");
	free(text);
	table.irq_errors[IRQ_ERR_UNMATCHED_EXIT] = 4;
	text = render(&table, false);
	assert_line(text, "kvmwarden_irq_bpf_errors_total{"
			  "error=\"unmatched_exit\"} 4");
	assert_line(text, "kvmwarden_irq_bpf_errors_total{"
			  "error=\"culprits_full\"} 0");
	free(text);
	guest_table_free(&table);
}

static void per_vcpu_series_are_opt_in(void **state)
{
	struct guest_table table;
	char *text;

	fill(&table);
	text = render(&table, false);
	assert_null(strstr(text, "kvmwarden_vcpu_hidden_seconds_total"));
	free(text);
	text = render(&table, true);
	assert_line(text, "kvmwarden_vcpu_hidden_seconds_total{" WEB
			  ",vcpu=\"0\",context=\"irq\"} 1.5");
	assert_line(text, "kvmwarden_vcpu_hidden_seconds_total{" WEB
			  ",vcpu=\"0\",context=\"softirq\"} 2.000000003");
	assert_line(text, "kvmwarden_vcpu_hidden_seconds_total{" WEB
			  ",vcpu=\"1\",context=\"softirq\"} 0.25");
	free(text);
	guest_table_free(&table);
}

/* The interrupt programs not loaded: absent series, not zeros. */
static void unmeasured_table_has_no_hidden_series(void **state)
{
	struct guest_table table;
	char *text;

	fill(&table);
	free(table.cpu_irq);
	table.cpu_irq = NULL;
	table.cpu_irq_count = 0;
	text = render(&table, true);
	assert_null(strstr(text, "hidden"));
	assert_null(strstr(text, "kvmwarden_cpu_"));
	assert_null(strstr(text, "kvmwarden_irq_bpf_errors_total"));
	assert_line(text, "kvmwarden_guest_vcpus{" WEB "} 2");
	free(text);
	guest_table_free(&table);
}

static void promtool_finds_nothing_to_fix(void **state)
{
	char path[] = "/tmp/kvmwarden-hidden-XXXXXX", command[256];
	char verdict[512] = "";
	struct guest_table table;
	struct prom_health health = { .version = "1.0" };
	struct prom_options opts = { .per_vcpu = true };
	FILE *out, *pipe;
	size_t got;
	int fd, status;

	if (system("command -v promtool >/dev/null 2>&1"))
		skip(); /* Debian's prometheus package has it */
	fill(&table);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(guest_figures_are_exact),
		cmocka_unit_test(culprits_are_summed_as_shown),
		cmocka_unit_test(owner_names_are_escaped),
		cmocka_unit_test(cpu_families_are_exact),
		cmocka_unit_test(per_vcpu_series_are_opt_in),
		cmocka_unit_test(unmeasured_table_has_no_hidden_series),
		cmocka_unit_test(promtool_finds_nothing_to_fix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
