// SPDX-License-Identifier: GPL-2.0-only
/*
 * The pure part of the KVM telemetry: exit reason names, the tracefs format
 * check on real format files (tests/fixtures/kvm: 6.18 from a live host,
 * 4.19-era layouts, and changed layouts that must be refused), the
 * availability of each part, the model's cumulative counters and their
 * window deltas, and the "kvm" JSON object.
 * Run from the repo root, or set KVMWARDEN_FIXTURES to the fixtures dir.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "json_kvm.h"
#include "model/kvm_telemetry.h"
#include "model/model.h"
#include "prometheus.h"

static char *read_fixture(const char *relative)
{
	const char *root = getenv("KVMWARDEN_FIXTURES");
	char path[512];
	static char text[16384];
	size_t got;
	FILE *file;

	snprintf(path, sizeof(path), "%s/kvm/%s",
		 root ? root : "tests/fixtures", relative);
	file = fopen(path, "r");
	assert_non_null(file);
	got = fread(text, 1, sizeof(text) - 1, file);
	fclose(file);
	text[got] = '\0';
	return text;
}

static void test_vmx_names(void **state)
{
	char buf[64];

	assert_string_equal(kvm_exit_reason_name(KVM_COUNT_EXIT_VMX, 12, buf,
						 sizeof(buf)),
			    "HLT");
	assert_string_equal(kvm_exit_reason_name(KVM_COUNT_EXIT_VMX, 30, buf,
						 sizeof(buf)),
			    "IO_INSTRUCTION");
	assert_string_equal(kvm_exit_reason_name(KVM_COUNT_EXIT_VMX, 48, buf,
						 sizeof(buf)),
			    "EPT_VIOLATION");
	assert_string_equal(kvm_exit_reason_name(KVM_COUNT_EXIT_VMX, 0, buf,
						 sizeof(buf)),
			    "EXCEPTION_NMI");
	/* Gaps in the table are numbers, not a neighbour's name. */
	assert_string_equal(kvm_exit_reason_name(KVM_COUNT_EXIT_VMX, 11, buf,
						 sizeof(buf)),
			    "reason_11");
	assert_string_equal(kvm_exit_reason_name(KVM_COUNT_EXIT_VMX, 9999, buf,
						 sizeof(buf)),
			    "reason_9999");
}

static void test_svm_names(void **state)
{
	char buf[64];

	assert_string_equal(kvm_exit_reason_name(KVM_COUNT_EXIT_SVM, 0x78, buf,
						 sizeof(buf)),
			    "hlt");
	assert_string_equal(kvm_exit_reason_name(KVM_COUNT_EXIT_SVM, 0x7b, buf,
						 sizeof(buf)),
			    "io");
	assert_string_equal(kvm_exit_reason_name(KVM_COUNT_EXIT_SVM, 0x400, buf,
						 sizeof(buf)),
			    "npf");
	assert_string_equal(kvm_exit_reason_name(KVM_COUNT_EXIT_SVM, 0x4e, buf,
						 sizeof(buf)),
			    "PF excp");
	assert_string_equal(kvm_exit_reason_name(KVM_COUNT_EXIT_SVM, 0x10, buf,
						 sizeof(buf)),
			    "write_cr0");
	assert_string_equal(kvm_exit_reason_name(KVM_COUNT_EXIT_SVM, 0x27, buf,
						 sizeof(buf)),
			    "read_dr7");
	assert_string_equal(kvm_exit_reason_name(KVM_COUNT_EXIT_SVM,
						 0xffffffffu, buf, sizeof(buf)),
			    "invalid_guest_state");
	/* Exception 2 (NMI) has no "excp" name in the kernel's table. */
	assert_string_equal(kvm_exit_reason_name(KVM_COUNT_EXIT_SVM, 0x42, buf,
						 sizeof(buf)),
			    "reason_66");
	assert_string_equal(kvm_exit_reason_name(KVM_COUNT_EXIT_SVM, 0x200, buf,
						 sizeof(buf)),
			    "reason_512");
	/* Another ISA's reasons are never named from these tables. */
	assert_string_equal(kvm_exit_reason_name(KVM_COUNT_EXIT_OTHER, 12, buf,
						 sizeof(buf)),
			    "reason_12");
}

static void test_userspace_names(void **state)
{
	char buf[32];

	assert_string_equal(kvm_userspace_reason_name(2, buf, sizeof(buf)),
			    "IO");
	assert_string_equal(kvm_userspace_reason_name(6, buf, sizeof(buf)),
			    "MMIO");
	assert_string_equal(kvm_userspace_reason_name(8, buf, sizeof(buf)),
			    "SHUTDOWN");
	assert_string_equal(kvm_userspace_reason_name(39, buf, sizeof(buf)),
			    "MEMORY_FAULT");
	assert_string_equal(kvm_userspace_reason_name(1000, buf, sizeof(buf)),
			    "reason_1000");
	assert_string_equal(
		kvm_userspace_reason_name(kvm_userspace_key_reason(2, -EINTR),
					  buf, sizeof(buf)),
		"restart");
	assert_string_equal(
		kvm_userspace_reason_name(kvm_userspace_key_reason(0, -EFAULT),
					  buf, sizeof(buf)),
		"error_14");
	/* A short buffer is cut, not overrun. */
	assert_string_equal(kvm_userspace_reason_name(17, buf, 5), "INTE");
}

static void test_key_reasons(void **state)
{
	/* VMX's FAILED_VMENTRY flag does not make a reason of its own. */
	assert_int_equal(kvm_exit_key_reason(KVM_ISA_VMX, 0x80000021u), 0x21);
	assert_int_equal(kvm_exit_kind(KVM_ISA_VMX), KVM_COUNT_EXIT_VMX);
	/* SVM's codes use the high bits themselves (vmgexit_*). */
	assert_int_equal(kvm_exit_key_reason(KVM_ISA_SVM, 0x80000001u),
			 0x80000001u);
	assert_int_equal(kvm_exit_kind(KVM_ISA_SVM), KVM_COUNT_EXIT_SVM);
	assert_int_equal(kvm_exit_kind(7), KVM_COUNT_EXIT_OTHER);
	assert_int_equal(kvm_userspace_key_reason(2, 0), 2);
}

static void test_field_find(void **state)
{
	const char *format = read_fixture("6.18/kvm_exit.format");
	struct tracefs_field field;

	assert_int_equal(tracefs_field_find(format, "exit_reason", &field), 0);
	assert_int_equal(field.offset, 8);
	assert_int_equal(field.size, 4);
	assert_int_equal(tracefs_field_find(format, "isa", &field), 0);
	assert_int_equal(field.offset, 24);
	assert_int_equal(tracefs_field_find(format, "requests", &field), 0);
	assert_int_equal(field.offset, 64);
	assert_int_equal(field.size, 8);
	assert_int_equal(tracefs_field_find(format, "common_pid", &field), 0);
	assert_int_equal(field.offset, 4);
	/* Whole names only: "reason" is not "exit_reason", and the print
	 * fmt's REC->... mentions are not fields. */
	assert_int_equal(tracefs_field_find(format, "reason", &field), -ENOENT);
	assert_int_equal(tracefs_field_find(format, "REC", &field), -ENOENT);
	assert_int_equal(tracefs_field_find("", "isa", &field), -ENOENT);
	assert_int_equal(
		tracefs_field_find("\tfield:char comm[16];\toffset:8;\tsize:16;"
				   "\tsigned:0;\n",
				   "comm", &field),
		0);
	assert_int_equal(field.size, 16);
	assert_int_equal(
		tracefs_field_find("\tfield:u32 isa;\toffset:;\tsize:4;\n",
				   "isa", &field),
		-EINVAL);
}

static void test_format_check_current_and_old(void **state)
{
	char why[256];

	assert_int_equal(kvm_format_check(KVM_EVENT_EXIT,
					  read_fixture("6.18/kvm_exit.format"),
					  why, sizeof(why)),
			 0);
	assert_int_equal(
		kvm_format_check(KVM_EVENT_USERSPACE_EXIT,
				 read_fixture("6.18/kvm_userspace_exit.format"),
				 why, sizeof(why)),
		0);
	assert_int_equal(
		kvm_format_check(KVM_EVENT_VCPU_WAKEUP,
				 read_fixture("6.18/kvm_vcpu_wakeup.format"),
				 why, sizeof(why)),
		0);
	/* kvm_entry's record is not read: any layout will do. */
	assert_int_equal(kvm_format_check(KVM_EVENT_ENTRY,
					  read_fixture("6.18/kvm_entry.format"),
					  why, sizeof(why)),
			 0);
	/* Older kernels lack intr_info, vcpu_id, requests: not read. */
	assert_int_equal(kvm_format_check(KVM_EVENT_EXIT,
					  read_fixture("4.19/kvm_exit.format"),
					  why, sizeof(why)),
			 0);
	assert_int_equal(
		kvm_format_check(KVM_EVENT_USERSPACE_EXIT,
				 read_fixture("4.19/kvm_userspace_exit.format"),
				 why, sizeof(why)),
		0);
	assert_int_equal(
		kvm_format_check(KVM_EVENT_VCPU_WAKEUP,
				 read_fixture("4.19/kvm_vcpu_wakeup.format"),
				 why, sizeof(why)),
		0);
}

static void test_format_check_refuses_changes(void **state)
{
	char why[256];

	assert_int_equal(
		kvm_format_check(KVM_EVENT_EXIT,
				 read_fixture("changed/kvm_exit.format"), why,
				 sizeof(why)),
		-EPROTO);
	assert_non_null(strstr(why, "kvm_exit.exit_reason"));
	assert_non_null(strstr(why, "size 8"));
	assert_int_equal(
		kvm_format_check(
			KVM_EVENT_USERSPACE_EXIT,
			read_fixture("changed/kvm_userspace_exit.format"), why,
			sizeof(why)),
		-EPROTO);
	assert_string_equal(why, "kvm_userspace_exit has no field errno");
	assert_int_equal(
		kvm_format_check(KVM_EVENT_VCPU_WAKEUP,
				 read_fixture("changed/kvm_vcpu_wakeup.format"),
				 why, sizeof(why)),
		-EPROTO);
	assert_string_equal(why, "kvm_vcpu_wakeup: unreadable format file");
	/* One event's format is not another's. */
	assert_int_equal(
		kvm_format_check(KVM_EVENT_EXIT,
				 read_fixture("6.18/kvm_vcpu_wakeup.format"),
				 why, sizeof(why)),
		-EPROTO);
}

static void attach_all(struct kvm_observation *seen)
{
	memset(seen, 0, sizeof(*seen));
	for (int part = 0; part < KVM_PART_COUNT; part++)
		seen->attached[part] = true;
}

static void test_availability_exits_never_fire(void **state)
{
	struct kvm_availability availability = { 0 };
	struct kvm_observation seen;
	unsigned int changed;

	attach_all(&seen);
	/* No vCPU ran yet: exits unknown; the others are available (zero
	 * is a true figure for them). */
	changed = kvm_availability_update(&availability, &seen);
	assert_int_equal(availability.parts[KVM_PART_EXITS].state,
			 KVM_STATE_PENDING);
	assert_int_equal(availability.parts[KVM_PART_USERSPACE].state,
			 KVM_STATE_AVAILABLE);
	assert_int_equal(availability.parts[KVM_PART_HALT_POLL].state,
			 KVM_STATE_AVAILABLE);
	assert_true(changed & (1u << KVM_PART_USERSPACE));

	/* vCPUs ran a little, with userspace exits but no kvm_exit. */
	seen.vcpu_run_ns = KVM_EXIT_EVIDENCE_NS / 2;
	seen.fired[KVM_EVENT_USERSPACE_EXIT] = 500;
	changed = kvm_availability_update(&availability, &seen);
	assert_int_equal(availability.parts[KVM_PART_EXITS].state,
			 KVM_STATE_PENDING);
	assert_int_equal(changed, 0);

	/* Long enough: unavailable, said once, the first figure kept. */
	seen.vcpu_run_ns = KVM_EXIT_EVIDENCE_NS;
	changed = kvm_availability_update(&availability, &seen);
	assert_int_equal(changed, 1u << KVM_PART_EXITS);
	assert_int_equal(availability.parts[KVM_PART_EXITS].state,
			 KVM_STATE_UNAVAILABLE);
	assert_non_null(strstr(availability.parts[KVM_PART_EXITS].reason,
			       "kvm_exit never fired while vCPUs ran 200 ms"));
	seen.vcpu_run_ns = 10 * KVM_EXIT_EVIDENCE_NS;
	assert_int_equal(kvm_availability_update(&availability, &seen), 0);
	assert_non_null(
		strstr(availability.parts[KVM_PART_EXITS].reason, "200 ms"));

	/* Should it fire after all (a module reloaded), it is available. */
	seen.fired[KVM_EVENT_EXIT] = 1;
	assert_int_equal(kvm_availability_update(&availability, &seen),
			 1u << KVM_PART_EXITS);
	assert_int_equal(availability.parts[KVM_PART_EXITS].state,
			 KVM_STATE_AVAILABLE);
	assert_string_equal(availability.parts[KVM_PART_EXITS].reason, "");
}

static void test_availability_exits_fire(void **state)
{
	struct kvm_availability availability = { 0 };
	struct kvm_observation seen;

	attach_all(&seen);
	seen.fired[KVM_EVENT_EXIT] = 3;
	kvm_availability_update(&availability, &seen);
	for (int part = 0; part < KVM_PART_COUNT; part++)
		assert_int_equal(availability.parts[part].state,
				 KVM_STATE_AVAILABLE);
}

static void test_availability_not_attached(void **state)
{
	struct kvm_availability availability = { 0 };
	struct kvm_observation seen = { 0 };

	seen.attached[KVM_PART_HALT_POLL] = true;
	seen.attach_error[KVM_PART_EXITS] = "tracefs is not mounted";
	/* Firing counts cannot make an unattached part available. */
	seen.fired[KVM_EVENT_EXIT] = 10;
	assert_int_equal(kvm_availability_update(&availability, &seen),
			 (1u << KVM_PART_COUNT) - 1);
	assert_int_equal(availability.parts[KVM_PART_EXITS].state,
			 KVM_STATE_UNAVAILABLE);
	assert_string_equal(availability.parts[KVM_PART_EXITS].reason,
			    "tracefs is not mounted");
	assert_string_equal(availability.parts[KVM_PART_USERSPACE].reason,
			    "not attached");
	assert_int_equal(availability.parts[KVM_PART_HALT_POLL].state,
			 KVM_STATE_AVAILABLE);
	/* The same observation again changes nothing: logged once. */
	assert_int_equal(kvm_availability_update(&availability, &seen), 0);
}

static void test_record_and_delta(void **state)
{
	struct guest_kvm before = { 0 }, after;
	struct report_kvm window;

	assert_int_equal(guest_kvm_record(&before, KVM_COUNT_EXIT_VMX, 12, 100),
			 0);
	assert_int_equal(guest_kvm_record(&before, KVM_COUNT_USERSPACE, 2, 40),
			 0);
	assert_int_equal(guest_kvm_record(&before, KVM_COUNT_GUEST_NS, 0, 5000),
			 0);
	assert_int_equal(guest_kvm_record(&before, KVM_COUNT_WAKEUP,
					  KVM_WAKEUP_POLLED, 3),
			 0);
	after = before;
	guest_kvm_record(&after, KVM_COUNT_EXIT_VMX, 12, 150);
	guest_kvm_record(&after, KVM_COUNT_EXIT_VMX, 30, 400);
	guest_kvm_record(&after, KVM_COUNT_USERSPACE, 2, 440);
	guest_kvm_record(&after, KVM_COUNT_GUEST_NS, 0, 9000);
	guest_kvm_record(&after, KVM_COUNT_WAKEUP, KVM_WAKEUP_POLLED, 5);
	guest_kvm_record(&after, KVM_COUNT_WAKEUP, KVM_WAKEUP_SLEPT, 7);
	guest_kvm_record(&after, KVM_COUNT_HALT_NS, KVM_WAKEUP_SLEPT, 70000);
	/* A lower value (a re-created BPF entry) never moves it back. */
	guest_kvm_record(&after, KVM_COUNT_EXIT_VMX, 12, 1);
	/* Kinds this agent does not know are ignored, not stored. */
	assert_int_equal(guest_kvm_record(&after, 99, 1, 1), 0);
	guest_kvm_record(&after, KVM_COUNT_WAKEUP, 5, 1);
	assert_int_equal(after.reason_count, 3);

	model_kvm_report(&window, &before, &after, 10000);
	assert_int_equal(window.exits, 450);
	assert_int_equal(window.userspace_exits, 400);
	assert_int_equal(window.reason_count, 3);
	/* Largest first, whatever the kind. */
	assert_int_equal(window.reasons[0].kind, KVM_COUNT_EXIT_VMX);
	assert_int_equal(window.reasons[0].reason, 30);
	assert_int_equal(window.reasons[0].count, 400);
	assert_int_equal(window.reasons[1].kind, KVM_COUNT_USERSPACE);
	assert_int_equal(window.reasons[2].reason, 12);
	assert_int_equal(window.reasons[2].count, 50);
	assert_int_equal(window.guest_ns, 4000);
	assert_int_equal(window.host_ns, 6000);
	assert_int_equal(window.wakeups[KVM_WAKEUP_POLLED], 2);
	assert_int_equal(window.wakeups[KVM_WAKEUP_SLEPT], 7);
	assert_int_equal(window.halt_ns[KVM_WAKEUP_SLEPT], 70000);

	/* A new guest counts from zero; host time is clamped, not wrapped. */
	model_kvm_report(&window, NULL, &after, 1000);
	assert_int_equal(window.exits, 550);
	assert_int_equal(window.guest_ns, 9000);
	assert_int_equal(window.host_ns, 0);

	/* Reasons without a change in the window are left out. */
	model_kvm_report(&window, &after, &after, 0);
	assert_int_equal(window.reason_count, 0);
	assert_int_equal(window.exits, 0);
}

static void test_record_full(void **state)
{
	static struct guest_kvm kvm;

	for (uint32_t reason = 0; reason < GUEST_KVM_REASONS; reason++)
		assert_int_equal(guest_kvm_record(&kvm, KVM_COUNT_EXIT_SVM,
						  reason, 1),
				 0);
	assert_int_equal(guest_kvm_record(&kvm, KVM_COUNT_EXIT_SVM, 9999, 1),
			 -ENOSPC);
	assert_int_equal(kvm.reasons_dropped, 1);
	/* Known reasons still count when the array is full. */
	assert_int_equal(guest_kvm_record(&kvm, KVM_COUNT_EXIT_SVM, 3, 8), 0);
	assert_int_equal(kvm.reasons[3].count, 8);
}

static const char *json_of(struct json_object *obj)
{
	return json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);
}

static void test_json_parts(void **state)
{
	struct report report;
	struct report_guest guest;
	struct json_object *obj, *value;
	struct guest_kvm after = { 0 };

	memset(&report, 0, sizeof(report));
	memset(&guest, 0, sizeof(guest));
	guest_kvm_record(&after, KVM_COUNT_USERSPACE, 2, 10);
	guest_kvm_record(&after, KVM_COUNT_EXIT_VMX, 30, 10);
	guest_kvm_record(&after, KVM_COUNT_WAKEUP, KVM_WAKEUP_SLEPT, 4);
	model_kvm_report(&guest.kvm, NULL, &after, 100);
	report.kvm.parts[KVM_PART_EXITS].state = KVM_STATE_UNAVAILABLE;
	strcpy(report.kvm.parts[KVM_PART_EXITS].reason, "never fired");
	report.kvm.parts[KVM_PART_USERSPACE].state = KVM_STATE_AVAILABLE;
	report.kvm.parts[KVM_PART_HALT_POLL].state = KVM_STATE_AVAILABLE;

	obj = kvm_json(&report, &guest);
	assert_non_null(obj);
	assert_true(json_object_object_get_ex(obj, "available", &value));
	assert_false(json_object_get_boolean(value));
	assert_true(json_object_object_get_ex(obj, "reason", &value));
	assert_string_equal(json_object_get_string(value), "never fired");
	/* An unavailable part has no figures, not zeros. */
	assert_false(json_object_object_get_ex(obj, "exits", &value));
	assert_false(json_object_object_get_ex(obj, "guest_ns", &value));
	assert_non_null(strstr(json_of(obj),
			       "\"userspace_exits\":[{\"reason\":\"IO\","
			       "\"count\":10}]"));
	assert_non_null(strstr(json_of(obj), "\"halt_poll_wakeups\":{"
					     "\"polled\":0,\"slept\":4,"));
	assert_non_null(strstr(json_of(obj),
			       "\"parts\":{\"exits\":{\"available\":false,"
			       "\"reason\":\"never fired\"},"
			       "\"userspace_exits\":{\"available\":true},"));
	json_object_put(obj);

	report.kvm.parts[KVM_PART_EXITS].state = KVM_STATE_AVAILABLE;
	obj = kvm_json(&report, &guest);
	assert_non_null(strstr(json_of(obj),
			       "\"available\":true,\"exits\":10,"
			       "\"exit_reasons\":[{\"reason\":"
			       "\"IO_INSTRUCTION\",\"count\":10}],"
			       "\"guest_ns\":0,\"host_ns\":100"));
	json_object_put(obj);

	/* A TCG guest has no KVM figures whatever the host provides. */
	guest.tcg = true;
	obj = kvm_json(&report, &guest);
	assert_non_null(strstr(json_of(obj), "\"available\":false,"
					     "\"reason\":\"the guest runs "
					     "under QEMU's TCG"));
	assert_false(json_object_object_get_ex(obj, "userspace_exits", &value));
	json_object_put(obj);
}

static char *render(const struct guest_table *table)
{
	struct prom_options opts = { .proc_root = "/nonexistent" };
	struct prom_health health = { .version = "test" };
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);

	assert_non_null(mem);
	assert_int_equal(prometheus_write(mem, table, &health, &opts), 0);
	fclose(mem);
	return text;
}

static void test_prometheus_series(void **state)
{
	struct guest_table table;
	struct guest *guest, *tcg;
	char *text;

	guest_table_init(&table);
	guest = guest_table_add(&table, 100, 1);
	assert_non_null(guest);
	strcpy(guest->name, "web");
	guest_kvm_record(&guest->kvm, KVM_COUNT_EXIT_VMX, 30, 7);
	guest_kvm_record(&guest->kvm, KVM_COUNT_USERSPACE, 2, 5);
	guest_kvm_record(&guest->kvm, KVM_COUNT_GUEST_NS, 0, 1500000000);
	guest_kvm_record(&guest->kvm, KVM_COUNT_WAKEUP, KVM_WAKEUP_SLEPT, 9);
	tcg = guest_table_add(&table, 200, 1);
	assert_non_null(tcg);
	strcpy(tcg->name, "emu");
	tcg->tcg = true;
	table.kvm.parts[KVM_PART_EXITS].state = KVM_STATE_UNAVAILABLE;
	table.kvm.parts[KVM_PART_USERSPACE].state = KVM_STATE_AVAILABLE;
	table.kvm.parts[KVM_PART_HALT_POLL].state = KVM_STATE_AVAILABLE;

	text = render(&table);
	assert_non_null(strstr(text, "kvmwarden_kvm_telemetry_available{part="
				     "\"exits\"} 0\n"));
	assert_non_null(strstr(text, "kvmwarden_kvm_telemetry_available{part="
				     "\"userspace_exits\"} 1\n"));
	/* Unavailable: no family at all, not zeros. */
	assert_null(strstr(text, "kvmwarden_kvm_exits_total"));
	assert_null(strstr(text, "kvmwarden_vcpu_guest_mode_seconds_total"));
	assert_non_null(strstr(text, "kvmwarden_kvm_userspace_exits_total{"
				     "guest=\"web\",vmm=\"unknown\","
				     "pid=\"100\",reason=\"IO\"} 5\n"));
	assert_non_null(strstr(text, "kvmwarden_kvm_halt_poll_wakeups_total{"
				     "guest=\"web\",vmm=\"unknown\","
				     "pid=\"100\",result=\"slept\"} 9\n"));
	/* The emulated guest has no KVM series. */
	assert_null(strstr(text, "reason=\"IO\"} 0"));
	assert_null(strstr(text, "guest=\"emu\",vmm=\"unknown\",pid=\"200\""
				 ",result"));
	free(text);

	table.kvm.parts[KVM_PART_EXITS].state = KVM_STATE_AVAILABLE;
	text = render(&table);
	assert_non_null(strstr(text, "kvmwarden_kvm_exits_total{guest=\"web\","
				     "vmm=\"unknown\",pid=\"100\",reason="
				     "\"IO_INSTRUCTION\"} 7\n"));
	assert_non_null(strstr(text, "kvmwarden_vcpu_guest_mode_seconds_total{"
				     "guest=\"web\",vmm=\"unknown\","
				     "pid=\"100\"} 1.5\n"));
	free(text);
	guest_table_free(&table);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vmx_names),
		cmocka_unit_test(test_svm_names),
		cmocka_unit_test(test_userspace_names),
		cmocka_unit_test(test_key_reasons),
		cmocka_unit_test(test_field_find),
		cmocka_unit_test(test_format_check_current_and_old),
		cmocka_unit_test(test_format_check_refuses_changes),
		cmocka_unit_test(test_availability_exits_never_fire),
		cmocka_unit_test(test_availability_exits_fire),
		cmocka_unit_test(test_availability_not_attached),
		cmocka_unit_test(test_record_and_delta),
		cmocka_unit_test(test_record_full),
		cmocka_unit_test(test_json_parts),
		cmocka_unit_test(test_prometheus_series),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
