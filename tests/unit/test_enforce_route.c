// SPDX-License-Identifier: GPL-2.0-only
/*
 * Which backend acts on a cgroup: libvirt for a machine while libvirtd
 * answers, systemd for a unit's own cgroup while systemd answers (and
 * write_managed_cgroups is off), the files where no manager owns the
 * cgroup, and nothing outside the roots or below a unit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "policy/enforce_route.h"

static void roots(struct enforce_config *e, bool write_managed)
{
	static const char *const paths[] = { "/system.slice", "/kw",
					     "/machine.slice", "/machine" };

	memset(e, 0, sizeof(*e));
	enforce_config_defaults(e);
	for (size_t i = 0; i < 4; i++)
		snprintf(e->roots[i], ENFORCE_PATH_LEN, "%s", paths[i]);
	e->root_count = 4;
	e->write_managed_cgroups = write_managed;
}

static enum enforce_backend up(const struct enforce_config *e,
			       const char *cgroup)
{
	return enforce_route(e, cgroup, true, true);
}

static void units_go_through_systemd_when_it_answers(void **state)
{
	struct enforce_config e;

	(void)state;
	roots(&e, false);
	assert_int_equal(up(&e, "/system.slice/kvmw-hog.service"),
			 ENFORCE_BACKEND_SYSTEMD);
	assert_int_equal(up(&e, "/system.slice/run-r1.scope"),
			 ENFORCE_BACKEND_SYSTEMD);
	/* Nested slices: the innermost is the unit. */
	assert_int_equal(up(&e, "/system.slice/a.slice/a-b.slice"),
			 ENFORCE_BACKEND_SYSTEMD);
	/* A root that is a unit is one too. */
	assert_int_equal(up(&e, "/system.slice"), ENFORCE_BACKEND_SYSTEMD);
	/* An escaped name is the unit's name as it is. */
	assert_int_equal(up(&e, "/system.slice/foo\\x2dbar.service"),
			 ENFORCE_BACKEND_SYSTEMD);
	/* Without systemd: today's single-writer refusal. */
	assert_int_equal(enforce_route(&e, "/system.slice/kvmw-hog.service",
				       true, false),
			 ENFORCE_BACKEND_NONE);
	assert_string_equal(enforce_route_backend_name(ENFORCE_BACKEND_SYSTEMD),
			    "systemd");
	assert_string_equal(enforce_route_backend_name(ENFORCE_BACKEND_NONE),
			    "none");
}

static void below_outside_and_dotted_paths_are_nobodys(void **state)
{
	struct enforce_config e;

	(void)state;
	roots(&e, false);
	/* Below a unit: its delegatee's, not a unit systemd can set. */
	assert_int_equal(up(&e, "/system.slice/db.service/payload"),
			 ENFORCE_BACKEND_NONE);
	assert_int_equal(up(&e, "/user.slice/user-0.slice/session-1.scope"),
			 ENFORCE_BACKEND_NONE);
	assert_int_equal(up(&e, "/system.slice/../user.slice/x.service"),
			 ENFORCE_BACKEND_NONE);
	assert_int_equal(up(&e, "/system.slice/./x.service"),
			 ENFORCE_BACKEND_NONE);
	assert_int_equal(up(&e, "/system.slicex/x.service"),
			 ENFORCE_BACKEND_NONE);
}

static void write_managed_means_the_files(void **state)
{
	struct enforce_config e;

	(void)state;
	roots(&e, true);
	assert_int_equal(up(&e, "/system.slice/kvmw-hog.service"),
			 ENFORCE_BACKEND_CGROUPFS);
	assert_int_equal(up(&e, "/system.slice/db.service/payload"),
			 ENFORCE_BACKEND_CGROUPFS);
	/* libvirt keeps its machines, as before systemd had a backend. */
	assert_int_equal(up(&e, "/machine/qemu-1-db.libvirt-qemu/emulator"),
			 ENFORCE_BACKEND_LIBVIRT);
}

static void machines_and_plain_cgroups(void **state)
{
	static const char scope[] =
		"/machine.slice/machine-qemu\\x2d1\\x2ddb.scope";
	struct enforce_config e;

	(void)state;
	roots(&e, false);
	/* A machine's scope is systemd's unit, but libvirt's machine:
	 * libvirt first; with libvirtd down, not through systemd behind
	 * libvirt's back. */
	assert_int_equal(up(&e, scope), ENFORCE_BACKEND_LIBVIRT);
	assert_int_equal(enforce_route(&e, scope, false, true),
			 ENFORCE_BACKEND_NONE);
	assert_int_equal(enforce_route(&e, "/machine/qemu-2-x.libvirt-qemu",
				       false, false),
			 ENFORCE_BACKEND_NONE);
	assert_int_equal(up(&e, "/kw/hog"), ENFORCE_BACKEND_CGROUPFS);
	assert_int_equal(enforce_route(&e, "/kw/hog", false, false),
			 ENFORCE_BACKEND_CGROUPFS);
	assert_int_equal(up(&e, "/elsewhere/hog"), ENFORCE_BACKEND_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(units_go_through_systemd_when_it_answers),
		cmocka_unit_test(below_outside_and_dotted_paths_are_nobodys),
		cmocka_unit_test(write_managed_means_the_files),
		cmocka_unit_test(machines_and_plain_cgroups),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
