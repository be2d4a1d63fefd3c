// SPDX-License-Identifier: GPL-2.0-only
/*
 * The libvirt backend's pure parts: the domain ID in machine cgroup paths
 * (v1 and v2 layouts), value names that survive a journal round trip and
 * refuse anything else, which scheduler parameters each knob sets, the
 * weight and quota conversions, the parameter text read back and
 * compared, and the pinning that separates a domain from a victim. The live API is exercised against a real libvirtd in
 * tests/integration/test_enforce_libvirt.py.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "actuate/actuate_libvirt.h"

static void machine_ids_from_paths(void **unused)
{
	assert_int_equal(libvirt_machine_id(
				 "/machine/qemu-7-web.libvirt-qemu/emulator"),
			 7);
	assert_int_equal(libvirt_machine_id(
				 "/machine/qemu-12-a-b-c.libvirt-qemu/vcpu0"),
			 12);
	assert_int_equal(
		libvirt_machine_id("/machine.slice/"
				   "machine-qemu\\x2d3\\x2dweb.scope/libvirt/"
				   "emulator"),
		3);
	assert_int_equal(libvirt_machine_id(
				 "/machine/qemu-31-x.libvirt-qemu"),
			 31);
	/* Not a libvirt machine, or no ID in it. */
	assert_int_equal(libvirt_machine_id("/machine/web.libvirt-qemu"),
			 -ENOENT);
	assert_int_equal(libvirt_machine_id("/kvmwarden/qemu-1-x"), -ENOENT);
	assert_int_equal(libvirt_machine_id("/machine/qemu-x-y.libvirt-qemu"),
			 -ENOENT);
	assert_int_equal(libvirt_machine_id("/"), -ENOENT);
	assert_int_equal(libvirt_machine_id(""), -ENOENT);
	assert_int_equal(libvirt_machine_id("/system.slice/qemu.service"),
			 -ENOENT);
}

static void value_names_round_trip(void **unused)
{
	static const char uuid[] = "6b1f1c2e-6d4a-4c1e-9f3e-0a1b2c3d4e5f";
	char file[128], got_uuid[LIBVIRT_UUID_LEN];
	enum policy_knob knob = POLICY_KNOB_SEPARATE;
	int id = -1;

	assert_int_equal(libvirt_file_name(uuid, 42, POLICY_KNOB_CPU_QUOTA,
					   file, sizeof(file)),
			 0);
	assert_string_equal(file, "libvirt:6b1f1c2e-6d4a-4c1e-9f3e-0a1b2c3d4e5f"
				  ":42:cpu_quota");
	assert_true(libvirt_is_file(file));
	assert_int_equal(libvirt_file_parse(file, got_uuid, sizeof(got_uuid),
					    &id, &knob),
			 0);
	assert_string_equal(got_uuid, uuid);
	assert_int_equal(id, 42);
	assert_int_equal(knob, POLICY_KNOB_CPU_QUOTA);
	assert_int_equal(libvirt_file_name(uuid, 1, POLICY_KNOB_CPU_WEIGHT,
					   file, sizeof(file)),
			 0);
	assert_int_equal(libvirt_file_parse(file, got_uuid, sizeof(got_uuid),
					    &id, &knob),
			 0);
	assert_int_equal(knob, POLICY_KNOB_CPU_WEIGHT);
	/* Too small a buffer is an error, not a cut name. */
	assert_int_equal(libvirt_file_name(uuid, 1, POLICY_KNOB_CPU_WEIGHT,
					   file, 20),
			 -ENAMETOOLONG);
	/* Other backends' names and malformed ones are refused. */
	assert_false(libvirt_is_file("/sys/fs/cgroup/cpu/x/cpu.shares"));
	assert_false(libvirt_is_file("affinity:12:345"));
	assert_int_equal(libvirt_file_parse("affinity:12:345", got_uuid,
					    sizeof(got_uuid), &id, &knob),
			 -EINVAL);
	assert_int_equal(libvirt_file_parse("libvirt::1:cpu_quota", got_uuid,
					    sizeof(got_uuid), &id, &knob),
			 -EINVAL);
	assert_int_equal(libvirt_file_parse("libvirt:u:x:cpu_quota", got_uuid,
					    sizeof(got_uuid), &id, &knob),
			 -EINVAL);
	assert_int_equal(libvirt_file_parse("libvirt:u:-1:cpu_quota",
					    got_uuid, sizeof(got_uuid), &id,
					    &knob),
			 -EINVAL);
	assert_int_equal(libvirt_file_parse("libvirt:u:1:cpus", got_uuid,
					    sizeof(got_uuid), &id, &knob),
			 0);
	assert_int_equal(knob, POLICY_KNOB_SEPARATE);
	assert_int_equal(libvirt_file_parse("libvirt:u:1:cpu_period",
					    got_uuid, sizeof(got_uuid), &id,
					    &knob),
			 -EINVAL);
	assert_int_equal(libvirt_file_parse("libvirt:u:1", got_uuid,
					    sizeof(got_uuid), &id, &knob),
			 -EINVAL);
}

static void knobs_map_to_parameters(void **unused)
{
	const char *const *weight = libvirt_knob_params(POLICY_KNOB_CPU_WEIGHT);
	const char *const *quota = libvirt_knob_params(POLICY_KNOB_CPU_QUOTA);

	assert_non_null(weight);
	assert_string_equal(weight[0], "cpu_shares");
	assert_null(weight[1]);
	assert_non_null(quota);
	assert_string_equal(quota[0], "vcpu_quota");
	assert_string_equal(quota[1], "emulator_quota");
	assert_null(quota[2]);
	/* Separation is pinning, not a scheduler parameter. */
	assert_null(libvirt_knob_params(POLICY_KNOB_SEPARATE));
}

static void weights_become_shares(void **unused)
{
	/* v1: cpu.shares, 1024 for the default weight 100. */
	assert_int_equal(libvirt_shares_for_weight(1, 100), 1024);
	assert_int_equal(libvirt_shares_for_weight(1, 1000), 10240);
	assert_int_equal(libvirt_shares_for_weight(1, 0), 2);
	assert_int_equal(libvirt_shares_for_weight(1, 10000), 102400);
	assert_int_equal(libvirt_shares_for_weight(1, 4000000), 262144);
	/* v2: libvirt hands cpu_shares to cpu.weight as it is. */
	assert_int_equal(libvirt_shares_for_weight(2, 1000), 1000);
	assert_int_equal(libvirt_shares_for_weight(2, 0), 1);
	assert_int_equal(libvirt_shares_for_weight(2, 20000), 10000);
}

static void caps_become_per_thread_quotas(void **unused)
{
	/* 20 % of one CPU, one vCPU, 100 ms period: 20 ms. */
	assert_int_equal(libvirt_quota_us(100000, 20, 1), 20000);
	/* Four vCPUs share the cap. */
	assert_int_equal(libvirt_quota_us(100000, 40, 4), 10000);
	/* Another period scales it. */
	assert_int_equal(libvirt_quota_us(50000, 20, 1), 10000);
	/* No period read: the kernel's default. */
	assert_int_equal(libvirt_quota_us(0, 20, 1), 20000);
	/* Never below the kernel's 1 ms floor. */
	assert_int_equal(libvirt_quota_us(100000, 1, 8), 1000);
	assert_int_equal(libvirt_quota_us(100000, 2, 0), 2000);
}

static void parameter_texts(void **unused)
{
	const char *const names[] = { "vcpu_quota", "emulator_quota" };
	const int64_t values[] = { -1, 20000 };
	char text[64], parsed_names[4][32];
	int64_t parsed[4];

	assert_int_equal(libvirt_params_format(names, values, 2, text,
					       sizeof(text)),
			 0);
	assert_string_equal(text, "vcpu_quota=-1 emulator_quota=20000");
	assert_int_equal(libvirt_params_parse(text, parsed_names, parsed, 4), 2);
	assert_string_equal(parsed_names[0], "vcpu_quota");
	assert_int_equal(parsed[0], -1);
	assert_string_equal(parsed_names[1], "emulator_quota");
	assert_int_equal(parsed[1], 20000);
	assert_int_equal(libvirt_params_parse("cpu_shares=1024", parsed_names,
					      parsed, 4),
			 1);
	assert_int_equal(parsed[0], 1024);
	assert_int_equal(libvirt_params_format(names, values, 2, text, 10),
			 -ENAMETOOLONG);
	/* What a cgroup file or a hand-edited journal could hold. */
	assert_int_equal(libvirt_params_parse("", parsed_names, parsed, 4),
			 -EINVAL);
	assert_int_equal(libvirt_params_parse("1024", parsed_names, parsed, 4),
			 -EINVAL);
	assert_int_equal(libvirt_params_parse("=5", parsed_names, parsed, 4),
			 -EINVAL);
	assert_int_equal(libvirt_params_parse("a=", parsed_names, parsed, 4),
			 -EINVAL);
	assert_int_equal(libvirt_params_parse("a=5x", parsed_names, parsed, 4),
			 -EINVAL);
	assert_int_equal(libvirt_params_parse("a=1 b=2 c=3", parsed_names,
					      parsed, 2),
			 -EINVAL);
}

static void separation_keeps_pins_off_the_victim(void **unused)
{
	struct cpu_mask victim, rest;
	char text[128];

	assert_int_equal(affinity_parse("1", &victim), 0);
	assert_int_equal(affinity_parse("0,2-3", &rest), 0);
	/* Each mask loses the victim's CPUs; one that had only them gets
	 * the rest. Names keep their order. */
	assert_int_equal(libvirt_separate_text("vcpu0=0-3 vcpu1=1 emulator=0-1",
					       &victim, &rest, text,
					       sizeof(text)),
			 0);
	assert_string_equal(text, "vcpu0=0,2-3 vcpu1=0,2-3 emulator=0");
	/* Already apart: the same text, which means nothing to do. */
	assert_int_equal(libvirt_separate_text("vcpu0=0 emulator=2-3", &victim,
					       &rest, text, sizeof(text)),
			 0);
	assert_string_equal(text, "vcpu0=0 emulator=2-3");
	/* Malformed pinning text. */
	assert_int_equal(libvirt_separate_text("", &victim, &rest, text,
					       sizeof(text)),
			 -EINVAL);
	assert_int_equal(libvirt_separate_text("vcpu0=", &victim, &rest, text,
					       sizeof(text)),
			 -EINVAL);
	assert_int_equal(libvirt_separate_text("vcpu0=x", &victim, &rest,
					       text, sizeof(text)),
			 -EINVAL);
	assert_int_equal(libvirt_separate_text("0-3", &victim, &rest, text,
					       sizeof(text)),
			 -EINVAL);
	assert_int_equal(libvirt_separate_text("vcpu0=0-3", &victim, &rest,
					       text, 8),
			 -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(machine_ids_from_paths),
		cmocka_unit_test(value_names_round_trip),
		cmocka_unit_test(knobs_map_to_parameters),
		cmocka_unit_test(weights_become_shares),
		cmocka_unit_test(caps_become_per_thread_quotas),
		cmocka_unit_test(parameter_texts),
		cmocka_unit_test(separation_keeps_pins_off_the_victim),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
