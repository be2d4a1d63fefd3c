// SPDX-License-Identifier: GPL-2.0-only
/*
 * Discovery on the fixture /proc (tests/fixtures/proc) with a fake BPF side
 * (fake_collect_source.h): the QEMU guest of pid 1000 is found by its vCPU
 * threads' records, named from its command line, and each of its threads
 * registered with its class; a process that vanished is no error, and
 * threads and guests that end are marked so.
 * Run from the repo root, or set KVMWARDEN_FIXTURES to the fixtures dir.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "collect/discover.h"
#include "fake_collect_source.h"

#define UUID_WEB "6f1e3c1a-52b4-4c1e-9d7e-2b0f5a6c7d8e"
#define T0 (100ULL * NS_PER_SEC)

static void vcpu_in_kvm_run(uint32_t tgid, uint32_t tid, int index)
{
	fake.in_kvm_run[fake.in_kvm_run_count++] = (struct sched_vcpu_record){
		.tgid = tgid,
		.tid = tid,
		.vcpu_index = index,
		.flags = SCHED_REC_IN_KVM_RUN,
		.vm_id = 0xabc000 + tgid,
	};
}

static int setup(void **state)
{
	static struct tracker tracker;

	if (fake_tracker_init(&tracker))
		return -1;
	*state = &tracker;
	return 0;
}

/* A test's own /proc (copied from the fixtures), removed by teardown
 * whatever the test's asserts did. */
static char temp_proc[64];

static const char *make_temp_proc(void)
{
	snprintf(temp_proc, sizeof(temp_proc),
		 "/tmp/kvmwarden-discover-XXXXXX");
	return mkdtemp(temp_proc);
}

static int teardown(void **state)
{
	char cmd[128];

	tracker_free(*state);
	if (temp_proc[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", temp_proc);
		if (system(cmd) != 0)
			return -1;
		temp_proc[0] = '\0';
	}
	return 0;
}

/* Any record of the thread, exited or not: the last one made. */
static const struct thread *thread_of(const struct guest *guest, int tid)
{
	const struct thread *found = NULL;

	for (size_t i = 0; i < guest->thread_count; i++)
		if (guest->threads[i].tid == tid)
			found = &guest->threads[i];
	return found;
}

static bool registered(uint32_t tid)
{
	for (size_t i = 0; i < fake.reg_count; i++)
		if (fake.regs[i].tid == tid && !fake.regs[i].cancelled)
			return true;
	return false;
}

static void finds_the_guest_and_its_threads(void **state)
{
	struct tracker *tracker = *state;
	const struct guest *guest;
	const struct thread *thread;

	vcpu_in_kvm_run(1000, 1001, 0);
	vcpu_in_kvm_run(1000, 1002, 1);
	assert_int_equal(discover_pass(tracker, T0), 0);

	assert_int_equal(tracker->table.guest_count, 1);
	guest = &tracker->table.guests[0];
	assert_int_equal(guest->pid, 1000);
	assert_string_equal(guest->name, "web");
	assert_string_equal(guest->uuid, UUID_WEB);
	assert_int_equal(guest->vmm, VMM_QEMU);
	assert_int_equal(guest->vm_id, 0xabc000 + 1000);
	assert_int_equal(guest->claim.source, GUEST_IDENTITY_SELF);
	assert_false(guest->exited);
	assert_int_equal(tracker->stats.guests_found, 1);

	/* vCPUs by the kernel's records, the rest by /proc. */
	thread = thread_of(guest, 1001);
	assert_non_null(thread);
	assert_int_equal(thread->kind, THREAD_VCPU);
	assert_int_equal(thread->vcpu_index, 0);
	assert_true(thread->attached); /* attached within the pass */
	assert_int_equal(thread->start_time_ns, 1000 + 1001);
	assert_int_equal(thread_of(guest, 1002)->vcpu_index, 1);
	assert_int_equal(thread_of(guest, 1000)->kind, THREAD_EMULATOR);
	assert_int_equal(thread_of(guest, 1003)->kind, THREAD_IOTHREAD);
	assert_int_equal(thread_of(guest, 1004)->kind, THREAD_VHOST);
	/* Pre-6.4 vhost workers: kernel threads of their own. */
	thread = thread_of(guest, 8000);
	assert_non_null(thread);
	assert_int_equal(thread->kind, THREAD_VHOST);
	assert_int_equal(thread->tgid, 8000);
	assert_non_null(thread_of(guest, 8001));
	assert_null(thread_of(guest, 8002)); /* not a kernel thread */
	assert_null(thread_of(guest, 8003)); /* vhost-10000 */

	/* Every thread holds its own slot, registered with the guest's
	 * group and its class. */
	for (size_t i = 0; i < fake.reg_count; i++) {
		assert_int_equal(fake.regs[i].reg.group, guest_group(guest));
		for (size_t j = 0; j < i; j++)
			assert_int_not_equal(fake.regs[i].reg.slot,
					     fake.regs[j].reg.slot);
	}
	assert_true(registered(1001));
	assert_true(registered(8000));
	assert_int_equal(tracker->stats.threads_registered, fake.reg_count);

	/* A second pass finds nothing new. */
	assert_int_equal(discover_pass(tracker, T0 + NS_PER_SEC), 0);
	assert_int_equal(tracker->table.guest_count, 1);
	assert_int_equal(tracker->stats.guests_found, 1);
	assert_int_equal(tracker->stats.threads_registered, fake.reg_count);
}

static void a_vanished_process_is_not_an_error(void **state)
{
	struct tracker *tracker = *state;

	/* In KVM_RUN when the iterator ran, gone from /proc since. */
	vcpu_in_kvm_run(4242, 4243, 0);
	vcpu_in_kvm_run(1000, 1001, 0);
	assert_int_equal(discover_pass(tracker, T0), 0);
	assert_int_equal(tracker->table.guest_count, 1);
	assert_int_equal(tracker->table.guests[0].pid, 1000);
	assert_false(registered(4243));
}

static void a_thread_never_attached_is_given_up(void **state)
{
	struct tracker *tracker = *state;
	const struct thread *thread;

	/* 1005 has a task directory without stat: it exited as the pass
	 * listed it, so BPF never attaches its registration. */
	fake.never_attach[fake.never_attach_count++] = 1005;
	vcpu_in_kvm_run(1000, 1001, 0);
	assert_int_equal(discover_pass(tracker, T0), 0);
	thread = thread_of(&tracker->table.guests[0], 1005);
	assert_non_null(thread);
	assert_false(thread->attached);
	assert_false(thread->exited);

	/* Past the attach timeout it ends, and its registration goes. */
	assert_int_equal(discover_pass(tracker, T0 + 6 * NS_PER_SEC), 0);
	thread = thread_of(&tracker->table.guests[0], 1005);
	assert_true(thread->exited);
	assert_false(registered(1005));
	assert_false(thread_of(&tracker->table.guests[0], 1001)->exited);
}

static void a_guest_that_exits_is_marked(void **state)
{
	struct tracker *tracker = *state;
	const char *dir = make_temp_proc();
	char cmd[2048];
	const struct guest *guest;

	/* A /proc holding only the guest, to take away afterwards. */
	assert_non_null(dir);
	snprintf(cmd, sizeof(cmd), "cp -a '%s/1000' '%s/'", fake_proc_root(),
		 dir);
	assert_int_equal(system(cmd), 0);
	tracker->proc_root = dir;
	vcpu_in_kvm_run(1000, 1001, 0);
	assert_int_equal(discover_pass(tracker, T0), 0);
	assert_int_equal(tracker->table.guest_count, 1);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	fake.in_kvm_run_count = 0;
	assert_int_equal(discover_pass(tracker, T0 + NS_PER_SEC), 0);
	guest = &tracker->table.guests[0];
	assert_true(guest->exited);
	assert_int_equal(tracker->stats.guests_gone, 1);
	for (size_t i = 0; i < guest->thread_count; i++)
		assert_true(guest->threads[i].exited);
	assert_false(registered(1001));
}

static char clash_note[512];

static void keep_note(enum log_priority priority, const char *line, void *ctx)
{
	if (priority == LOG_PRIO_WARNING && strstr(line, "shares its name"))
		snprintf(clash_note, sizeof(clash_note), "%s", line);
}

static void a_name_two_guests_claim_is_noted(void **state)
{
	struct tracker *tracker = *state;
	const char *dir = make_temp_proc();
	char cmd[2048];

	/* Two VMMs that both call themselves "web" (pid 1010 a copy of
	 * 1000): neither name can be trusted, and the caller is told. */
	assert_non_null(dir);
	snprintf(cmd, sizeof(cmd),
		 "cp -a '%s/1000' '%s/' && cp -a '%s/1000' '%s/1010'",
		 fake_proc_root(), dir, fake_proc_root(), dir);
	assert_int_equal(system(cmd), 0);
	tracker->proc_root = dir;
	tracker->notify = keep_note;
	clash_note[0] = '\0';
	vcpu_in_kvm_run(1000, 1001, 0);
	vcpu_in_kvm_run(1010, 1002, 0);
	assert_int_equal(discover_pass(tracker, T0), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);

	assert_int_equal(tracker->table.guest_count, 2);
	assert_true(tracker->table.guests[0].claim.clash);
	assert_true(tracker->table.guests[1].claim.clash);
	assert_int_equal(tracker->stats.identity_clashes, 2);
	assert_string_equal(
		clash_note,
		"guest web (pid 1010, named by command-line, uuid " UUID_WEB
		") shares its name or UUID with another "
		"live guest: no budget or class matches either "
		"by it");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(finds_the_guest_and_its_threads,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			a_vanished_process_is_not_an_error, setup, teardown),
		cmocka_unit_test_setup_teardown(
			a_thread_never_attached_is_given_up, setup, teardown),
		cmocka_unit_test_setup_teardown(a_guest_that_exits_is_marked,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			a_name_two_guests_claim_is_noted, setup, teardown),
	};

	return cmocka_run_group_tests_name("discover", tests, NULL, NULL);
}
