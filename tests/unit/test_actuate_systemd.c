// SPDX-License-Identifier: GPL-2.0-only
/*
 * The systemd backend's pure parts: which unit a cgroup path belongs to,
 * which properties hold a knob and in what units, and the journal names
 * of (unit, property, device). The bus calls need a systemd as PID 1.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "actuate_systemd.h"

static void unit_of_paths(void **state)
{
	char unit[64];

	(void)state;
	assert_int_equal(systemd_unit_of("/system.slice/kvmw-hog.service",
					 unit, sizeof(unit)),
			 0);
	assert_string_equal(unit, "kvmw-hog.service");
	/* The innermost unit, not a sub-cgroup below it. */
	assert_int_equal(systemd_unit_of("/machine.slice/x.scope/libvirt/vcpu0",
					 unit, sizeof(unit)),
			 0);
	assert_string_equal(unit, "x.scope");
	assert_int_equal(systemd_unit_of("/user.slice", unit, sizeof(unit)),
			 0);
	assert_string_equal(unit, "user.slice");
	assert_int_equal(systemd_unit_of("/kvmwarden/batch", unit,
					 sizeof(unit)),
			 -ENOENT);
	assert_int_equal(systemd_unit_of("/a/.service", unit, sizeof(unit)),
			 -ENOENT);
	assert_int_equal(systemd_unit_of("/a/verylongname.service", unit, 8),
			 -ENAMETOOLONG);
}

static void knobs_map_to_properties(void **state)
{
	const char *props[SYSTEMD_MAX_PROPERTIES];
	char text[32];

	(void)state;
	assert_int_equal(systemd_knob_properties(POLICY_KNOB_CPU_QUOTA, props),
			 1);
	assert_string_equal(props[0], "CPUQuotaPerSecUSec");
	assert_int_equal(systemd_knob_properties(POLICY_KNOB_IO_IOPS, props),
			 2);
	assert_string_equal(props[0], "IOReadIOPSMax");
	assert_string_equal(props[1], "IOWriteIOPSMax");
	assert_int_equal(systemd_knob_properties(POLICY_KNOB_SEPARATE, props),
			 1);
	assert_string_equal(props[0], "AllowedCPUs");
	/* 25 % of one CPU is 250 ms of CPU per second. */
	systemd_knob_text(POLICY_KNOB_CPU_QUOTA, 25, text, sizeof(text));
	assert_string_equal(text, "250000");
	systemd_knob_text(POLICY_KNOB_CPU_WEIGHT, 20000, text, sizeof(text));
	assert_string_equal(text, "10000");
	systemd_knob_text(POLICY_KNOB_IO_IOPS, 0, text, sizeof(text));
	assert_string_equal(text, "1");
	assert_int_equal(systemd_knob_text(POLICY_KNOB_SEPARATE, 1, text,
					   sizeof(text)),
			 -EINVAL);
	assert_string_equal(systemd_unit_interface("a.scope"),
			    "org.freedesktop.systemd1.Scope");
	assert_null(systemd_unit_interface("a.socket"));
}

static void entry_names_round_trip(void **state)
{
	char name[128], unit[64], property[32], device[24];

	(void)state;
	assert_int_equal(systemd_entry_name("kvmw-hog.service",
					    "IOWriteIOPSMax", "254:0", name,
					    sizeof(name)),
			 0);
	assert_string_equal(name, "systemd:kvmw-hog.service/IOWriteIOPSMax#254:0");
	assert_true(systemd_is_entry(name));
	assert_int_equal(systemd_entry_parse(name, unit, sizeof(unit),
					     property, sizeof(property), device,
					     sizeof(device)),
			 0);
	assert_string_equal(unit, "kvmw-hog.service");
	assert_string_equal(property, "IOWriteIOPSMax");
	assert_string_equal(device, "254:0");
	systemd_entry_name("a.scope", "CPUWeight", NULL, name, sizeof(name));
	assert_int_equal(systemd_entry_parse(name, unit, sizeof(unit),
					     property, sizeof(property), device,
					     sizeof(device)),
			 0);
	assert_string_equal(property, "CPUWeight");
	assert_string_equal(device, "");
	assert_false(systemd_is_entry("/sys/fs/cgroup/cpu/a/cpu.shares"));
	assert_int_equal(systemd_entry_parse("systemd:a.socket/CPUWeight",
					     unit, sizeof(unit), property,
					     sizeof(property), device,
					     sizeof(device)),
			 -EINVAL);
	assert_int_equal(systemd_entry_parse("systemd:/CPUWeight", unit,
					     sizeof(unit), property,
					     sizeof(property), device,
					     sizeof(device)),
			 -EINVAL);
}

/* Without systemd as PID 1 (this build machine) a read is a clear error,
 * not a crash or a hang. */
static void no_systemd_is_an_error(void **state)
{
	char value[64];

	(void)state;
	if (!access("/run/systemd/private", F_OK))
		skip();
	assert_true(systemd_entry_read("systemd:kvmw-none.service/CPUWeight",
				       value, sizeof(value)) < 0);
	assert_true(systemd_entry_write("systemd:kvmw-none.service/CPUWeight",
					"100") < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unit_of_paths),
		cmocka_unit_test(knobs_map_to_properties),
		cmocka_unit_test(entry_names_round_trip),
		cmocka_unit_test(no_systemd_is_an_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
