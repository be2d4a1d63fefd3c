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

#include "actuate/actuate_systemd.h"

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

/* The cgroup is named after its unit, verbatim: escapes stay escapes
 * (sd_bus_path_encode makes the object path of them), and a path that
 * climbs with ".." names no unit. */
static void unit_of_edge_cases(void **state)
{
	char unit[64];

	(void)state;
	assert_int_equal(systemd_unit_of("/system.slice/foo\\x2dbar.service",
					 unit, sizeof(unit)),
			 0);
	assert_string_equal(unit, "foo\\x2dbar.service");
	assert_int_equal(systemd_unit_of("/a.slice/a-b.slice/a-b-c.slice",
					 unit, sizeof(unit)),
			 0);
	assert_string_equal(unit, "a-b-c.slice");
	assert_int_equal(systemd_unit_of("/a.slice/a-b.slice/x.scope", unit,
					 sizeof(unit)),
			 0);
	assert_string_equal(unit, "x.scope");
	assert_int_equal(systemd_unit_of("/system.slice/../x.service", unit,
					 sizeof(unit)),
			 -EINVAL);
	assert_int_equal(systemd_unit_of("/system.slice/x.service/..", unit,
					 sizeof(unit)),
			 -EINVAL);
	assert_int_equal(systemd_unit_of("/system.slice/./x.service", unit,
					 sizeof(unit)),
			 -EINVAL);
	/* ".." inside a name is no component of its own. */
	assert_int_equal(systemd_unit_of("/system.slice/a..b.service", unit,
					 sizeof(unit)),
			 0);
	assert_string_equal(unit, "a..b.service");
	/* Doubled slashes are one separator, as in the kernel. */
	assert_int_equal(systemd_unit_of("//system.slice//x.service", unit,
					 sizeof(unit)),
			 0);
	assert_string_equal(unit, "x.service");
}

/* Each knob's entries: one property for the CPU knobs and IOWeight, the
 * device's entry of two for IOPS. */
static void knob_entries_for_each_knob(void **state)
{
	char names[SYSTEMD_MAX_PROPERTIES][SYSTEMD_ENTRY_LEN];
	char file[SYSTEMD_ENTRY_LEN];
	size_t count;

	(void)state;
	assert_int_equal(systemd_knob_entries("h.service",
					      POLICY_KNOB_CPU_WEIGHT, NULL,
					      names, &count),
			 0);
	assert_int_equal(count, 1);
	assert_string_equal(names[0], "systemd:h.service/CPUWeight");
	assert_int_equal(systemd_knob_entries("h.service",
					      POLICY_KNOB_CPU_QUOTA, "8:0",
					      names, &count),
			 0);
	assert_int_equal(count, 1);
	assert_string_equal(names[0], "systemd:h.service/CPUQuotaPerSecUSec");
	assert_int_equal(systemd_knob_entries("h.scope", POLICY_KNOB_SEPARATE,
					      NULL, names, &count),
			 0);
	assert_string_equal(names[0], "systemd:h.scope/AllowedCPUs");
	assert_int_equal(systemd_knob_entries("h.service",
					      POLICY_KNOB_IO_WEIGHT, "8:0",
					      names, &count),
			 0);
	assert_int_equal(count, 1);
	assert_string_equal(names[0], "systemd:h.service/IOWeight");
	assert_int_equal(systemd_knob_entries("h.service", POLICY_KNOB_IO_IOPS,
					      "254:16", names, &count),
			 0);
	assert_int_equal(count, 2);
	assert_string_equal(names[0], "systemd:h.service/IOReadIOPSMax#254:16");
	assert_string_equal(names[1],
			    "systemd:h.service/IOWriteIOPSMax#254:16");
	/* IOPS are per device: without one there is no entry. */
	assert_int_equal(systemd_knob_entries("h.service", POLICY_KNOB_IO_IOPS,
					      "", names, &count),
			 -EINVAL);
	assert_int_equal(count, 0);

	assert_int_equal(systemd_knob_file("/system.slice/foo\\x2dbar.service",
					   POLICY_KNOB_CPU_QUOTA, file,
					   sizeof(file)),
			 0);
	assert_string_equal(file,
			    "systemd:foo\\x2dbar.service/CPUQuotaPerSecUSec");
	assert_int_equal(systemd_knob_file("/a.slice/a-b.slice",
					   POLICY_KNOB_CPU_WEIGHT, file,
					   sizeof(file)),
			 0);
	assert_string_equal(file, "systemd:a-b.slice/CPUWeight");
	assert_int_equal(systemd_knob_file("/system.slice/h.service",
					   POLICY_KNOB_IO_IOPS, file,
					   sizeof(file)),
			 -EOPNOTSUPP);
	assert_int_equal(systemd_knob_file("/kw/hog", POLICY_KNOB_CPU_QUOTA,
					   file, sizeof(file)),
			 -ENOENT);
	assert_int_equal(systemd_knob_file("/a.slice/../h.service",
					   POLICY_KNOB_CPU_QUOTA, file,
					   sizeof(file)),
			 -EINVAL);
	assert_int_equal(systemd_knob_file("/a.slice/h.service",
					   POLICY_KNOB_CPU_QUOTA, file, 16),
			 -ENAMETOOLONG);
}

/* AllowedCPUs for separation: "" (no restriction) is every online CPU. */
static void separation_keeps_a_unit_off_the_victims_cpus(void **state)
{
	struct cpu_mask victim, online, rest;
	char text[64];

	(void)state;
	assert_int_equal(affinity_parse("1", &victim), 0);
	assert_int_equal(affinity_parse("0-3", &online), 0);
	assert_int_equal(affinity_parse("0,2-3", &rest), 0);
	assert_int_equal(systemd_separate_text("", &victim, &online, &rest,
					       text, sizeof(text)),
			 0);
	assert_string_equal(text, "0,2-3");
	assert_int_equal(systemd_separate_text("1-2", &victim, &online, &rest,
					       text, sizeof(text)),
			 0);
	assert_string_equal(text, "2");
	/* Only the victim's CPUs: the rest. */
	assert_int_equal(systemd_separate_text("1", &victim, &online, &rest,
					       text, sizeof(text)),
			 0);
	assert_string_equal(text, "0,2-3");
	assert_int_equal(systemd_separate_text("x", &victim, &online, &rest,
					       text, sizeof(text)),
			 -EINVAL);
	memset(&rest, 0, sizeof(rest));
	assert_int_equal(systemd_separate_text("1", &victim, &online, &rest,
					       text, sizeof(text)),
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

/* Here systemd is not PID 1: not available, and asking again within
 * SYSTEMD_PROBE_MS is the remembered answer. */
static void availability_is_asked_and_remembered(void **state)
{
	(void)state;
	if (!access("/run/systemd/system", F_OK))
		skip();
	assert_false(systemd_available(1000));
	assert_false(systemd_available(1000 + SYSTEMD_PROBE_MS - 1));
	assert_false(systemd_available(1000 + SYSTEMD_PROBE_MS));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unit_of_paths),
		cmocka_unit_test(knobs_map_to_properties),
		cmocka_unit_test(entry_names_round_trip),
		cmocka_unit_test(unit_of_edge_cases),
		cmocka_unit_test(knob_entries_for_each_knob),
		cmocka_unit_test(separation_keeps_a_unit_off_the_victims_cpus),
		cmocka_unit_test(no_systemd_is_an_error),
		cmocka_unit_test(availability_is_asked_and_remembered),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
