// SPDX-License-Identifier: GPL-2.0-only
/* The enforcement keys: budgets, classes and roots read from fixtures, and
 * every bad one refused with its line and key. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "config/config.h"
#include "model/guest_claim.h"

#define FIXTURES "tests/fixtures/config/"

static void good_file_is_read(void **state)
{
	struct config config;
	char errors[2048];
	const struct budget *db;

	assert_int_equal(config_load(&config, FIXTURES "enforce-good.conf",
				     errors, sizeof(errors)),
			 0);
	const struct enforce_config *e = &config.enforce;

	assert_int_equal(config.mode, CONFIG_MODE_ENFORCE);
	assert_int_equal(e->class_count, 3);
	assert_string_equal(e->default_class, "bronze");
	assert_int_equal(e->root_count, 2);
	/* The trailing slash is dropped so prefix matches stay exact. */
	assert_string_equal(e->roots[1], "/batch");
	assert_int_equal(e->min_quota_percent, 3);
	assert_int_equal(e->cooldown_ms, 2000);
	assert_int_equal(e->quota_step_percent, 50); /* default */
	assert_string_equal(e->state_file, "/run/kvmwarden/state");
	assert_string_equal(e->audit_log, "");
	assert_int_equal(e->budget_count, 2);
	db = enforce_config_budget_for(e, "db-1", NULL);
	assert_non_null(db);
	assert_int_equal(db->class_rank, 0);
	assert_int_equal(db->max_steal_percent, 5);
	assert_int_equal(db->cpu_weight, 800);
	assert_true(db->throttle_lower_class_guests);
	assert_int_equal(db->throttle_root_count, 1);
	assert_string_equal(db->throttle_roots[0], "/batch/jobs");
	/* By UUID, whatever the name, and case-insensitively. */
	assert_ptr_equal(enforce_config_budget_for(
				 e, "anything",
				 "6F1C2A9E-0000-4000-8000-00000000ABCD"),
			 &e->budgets[1]);
	assert_int_equal(e->budgets[1].max_wait_p99_ms, 20);
	assert_null(enforce_config_budget_for(e, "web-1", ""));
	assert_int_equal(enforce_config_class_rank(e, "web-1", ""), 2);
	assert_int_equal(enforce_config_class_rank(e, "db-2", ""), 0);
}

static void every_bad_key_is_named(void **state)
{
	static const char *const expected[] = {
		"enforce-bad.conf:1: classes: 'gold' is listed twice",
		"enforce-bad.conf:3: roots: '/machine/../etc' is not a cgroup path",
		"enforce-bad.conf:3: roots: 'relative' is not a cgroup path",
		"enforce-bad.conf:4: min_quota_percent: expected a whole number",
		"enforce-bad.conf:8: max_steal_percent: expected a whole number",
		"enforce-bad.conf:10: throttle.guests_of_lower_class: expected true or false",
		"enforce-bad.conf:12: colour: unknown key in throttle",
		"enforce-bad.conf:13: match: every budget needs a match",
		"enforce-bad.conf:14: max_steal_percent: budget 'x' sets none of",
		"enforce-bad.conf:2: default_class: 'platinum' is not one of the classes",
		"enforce-bad.conf:16: state_file: must be an absolute path",
		"enforce-bad.conf:6: class: 'tin' is not one of the classes",
		"enforce-bad.conf:6: throttle.cgroup_roots: '/elsewhere' is not under any of roots",
	};
	struct config config;
	char errors[4096];

	assert_int_equal(config_load(&config, FIXTURES "enforce-bad.conf",
				     errors, sizeof(errors)),
			 -EINVAL);
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		if (!strstr(errors, expected[i]))
			fail_msg("missing '%s' in:\n%s", expected[i], errors);
	}
}

static void shipped_config_writes_nothing(void **state)
{
	struct config config;
	char errors[1024];

	assert_int_equal(config_load(&config, "configs/kvmwarden.conf", errors,
				     sizeof(errors)),
			 0);
	assert_int_equal(config.mode, CONFIG_MODE_MONITOR);
	/* No roots: even enforce mode could write nothing until told. */
	assert_int_equal(config.enforce.root_count, 0);
}

static void managers_are_recognised(void **state)
{
	assert_string_equal(enforce_config_path_manager(
				    "/machine.slice/"
				    "machine-qemu\\x2d1\\x2ddb."
				    "scope/libvirt/vcpu0"),
			    "libvirt");
	assert_string_equal(enforce_config_path_manager(
				    "/machine/qemu-1-db.libvirt-"
				    "qemu/emulator"),
			    "libvirt");
	assert_string_equal(
		enforce_config_path_manager("/system.slice/cron.service"),
		"systemd");
	assert_string_equal(enforce_config_path_manager("/user.slice"),
			    "systemd");
	assert_null(enforce_config_path_manager("/kvmwarden/batch"));
	assert_null(enforce_config_path_manager("/x.servicex/y"));
}

static void unit_cgroups_are_told_from_their_insides(void **state)
{
	assert_true(enforce_config_path_is_unit("/system.slice/cron.service"));
	assert_true(enforce_config_path_is_unit("/a.slice/a-b.slice"));
	assert_true(enforce_config_path_is_unit(
		"/system.slice/foo\\x2dbar.service"));
	assert_false(
		enforce_config_path_is_unit("/system.slice/cron.service/sub"));
	assert_false(enforce_config_path_is_unit("/kvmwarden/batch"));
	assert_false(enforce_config_path_is_unit("/system.slice/../x.service"));
	assert_false(enforce_config_path_is_unit("/"));
	assert_false(enforce_config_path_is_unit("/a/.service"));
}

static void managed_roots_are_refused_unless_allowed(void **state)
{
	struct config config;
	char errors[1024];
	/* A unit's own cgroup is a root the systemd backend acts under; a
	 * cgroup inside a unit (delegated) or a machine's is nobody's to
	 * write. */
	static const char unit_root[] = "roots: [/kw, /system.slice]\n";
	static const char managed[] =
		"roots: [/kw, /system.slice/db.service/payload]\n";
	static const char machine[] =
		"roots: [/machine/qemu-1-db.libvirt-qemu]\n";
	static const char allowed[] =
		"roots: [/kw, /system.slice/db.service/payload]\n"
		"write_managed_cgroups: true\n";

	assert_int_equal(config_parse(&config, unit_root, strlen(unit_root),
				      "u.conf", errors, sizeof(errors)),
			 0);
	assert_int_equal(config_parse(&config, managed, strlen(managed),
				      "m.conf", errors, sizeof(errors)),
			 -EINVAL);
	assert_non_null(strstr(errors, "m.conf:1: roots: "
				       "'/system.slice/db.service/payload' is "
				       "systemd's"));
	assert_int_equal(config_parse(&config, machine, strlen(machine),
				      "v.conf", errors, sizeof(errors)),
			 -EINVAL);
	assert_non_null(strstr(errors, "is libvirt's"));
	assert_int_equal(config_parse(&config, allowed, strlen(allowed),
				      "a.conf", errors, sizeof(errors)),
			 0);
	assert_true(enforce_config_path_writable(
		&config.enforce, "/system.slice/db.service/payload/x"));
	config.enforce.write_managed_cgroups = false;
	assert_false(enforce_config_path_writable(
		&config.enforce, "/system.slice/db.service/payload/x"));
	assert_true(enforce_config_path_writable(&config.enforce, "/kw/hog"));
}

static void io_budget_takes_decimal_ms(void **state)
{
	struct config config;
	char errors[1024];
	static const char good[] = "roots: [/kw]\n"
				   "min_io_iops: 20\n"
				   "budgets:\n"
				   "  - match: db\n"
				   "    class: high\n"
				   "    max_io_queue_p99_ms: 0.05\n"
				   "    io_weight: 800\n";
	static const char bad[] = "budgets:\n"
				  "  - match: db\n"
				  "    class: high\n"
				  "    max_io_queue_p99_ms: 0.0001\n"
				  "  - match: web\n"
				  "    class: high\n"
				  "    max_io_queue_p99_ms: fast\n";

	(void)state;
	assert_int_equal(config_parse(&config, good, strlen(good), "g.conf",
				      errors, sizeof(errors)),
			 0);
	/* An I/O budget alone is a budget: no "sets none of" complaint. */
	assert_int_equal(config.enforce.budgets[0].max_io_queue_p99_us, 50);
	assert_int_equal(config.enforce.budgets[0].io_weight, 800);
	assert_int_equal(config.enforce.min_io_iops, 20);
	assert_int_equal(config_parse(&config, bad, strlen(bad), "b.conf",
				      errors, sizeof(errors)),
			 -EINVAL);
	assert_non_null(strstr(errors, "b.conf:4: max_io_queue_p99_ms: "
				       "expected milliseconds from 0.001"));
	assert_non_null(strstr(errors, "b.conf:7: max_io_queue_p99_ms: "
				       "expected milliseconds from 0.001 to "
				       "60000, got 'fast'"));
}

static void paths_match_whole_components(void **state)
{
	assert_true(enforce_config_path_under("/batch/jobs", "/batch"));
	assert_true(enforce_config_path_under("/batch", "/batch"));
	assert_false(enforce_config_path_under("/batchy", "/batch"));
	assert_false(enforce_config_path_under("/", "/batch"));
}

static void trust_keys_are_read(void **state)
{
	struct config config;
	char errors[2048];
	static const char yaml[] = "trust_self_declared: true\n"
				   "trusted_vmm_users: [root, 4242]\n";
	static const char bad_user[] = "trusted_vmm_users: [no-such-user-kw]\n";
	struct guest_claim user = { .source = GUEST_IDENTITY_SELF,
				    .uid_known = true,
				    .uid = 4242 };

	config_defaults(&config);
	/* Default: self-declared names of root's VMMs only. */
	assert_false(config.enforce.trust_self_declared);
	assert_true(enforce_config_claim_trusted(
		&config.enforce,
		&(struct guest_claim){ .source = GUEST_IDENTITY_SELF,
				       .uid_known = true }));
	assert_false(enforce_config_claim_trusted(&config.enforce, &user));
	assert_int_equal(config_parse(&config, yaml, sizeof(yaml) - 1, "t.conf",
				      errors, sizeof(errors)),
			 0);
	assert_true(config.enforce.trust_self_declared);
	assert_int_equal(config.enforce.trusted_vmm_uid_count, 2);
	assert_int_equal(config.enforce.trusted_vmm_uids[1], 4242);
	config.enforce.trust_self_declared = false;
	assert_true(enforce_config_claim_trusted(&config.enforce, &user));
	user.clash = true;
	assert_false(enforce_config_claim_trusted(&config.enforce, &user));
	assert_int_equal(config_parse(&config, bad_user, strlen(bad_user),
				      "t.conf", errors, sizeof(errors)),
			 -EINVAL);
	assert_non_null(strstr(errors, "t.conf:1: trusted_vmm_users: no user "
				       "named 'no-such-user-kw'"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(trust_keys_are_read),
		cmocka_unit_test(good_file_is_read),
		cmocka_unit_test(every_bad_key_is_named),
		cmocka_unit_test(shipped_config_writes_nothing),
		cmocka_unit_test(paths_match_whole_components),
		cmocka_unit_test(managers_are_recognised),
		cmocka_unit_test(managed_roots_are_refused_unless_allowed),
		cmocka_unit_test(unit_cgroups_are_told_from_their_insides),
		cmocka_unit_test(io_budget_takes_decimal_ms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
