// SPDX-License-Identifier: GPL-2.0-only
/*
 * A libvirt domain's interface targets from its status file
 * (collect/libvirt_status.c): tests/fixtures/net/libvirt/web-01.xml, and
 * documents that are stale, broken or hostile.
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

#include "collect/libvirt_status.h"

static const char *status_dir(void)
{
	static char path[512];
	const char *dir = getenv("KVMWARDEN_FIXTURES");

	snprintf(path, sizeof(path), "%s/net/libvirt",
		 dir ? dir : "tests/fixtures");
	return path;
}

static void interface_targets_only(void **state)
{
	char names[8][IRQ_NAME_LEN + 1];

	/* vda is a disk's target, the console's has no dev; "../../etc" is
	 * passed on for the caller to refuse. */
	assert_int_equal(
		libvirt_status_read(status_dir(), "web-01", 9000, names, 8), 3);
	assert_string_equal(names[0], "vnet0");
	assert_string_equal(names[1], "tap-eth");
	assert_string_equal(names[2], "../../etc");
	assert_int_equal(
		libvirt_status_read(status_dir(), "web-01", 9000, names, 1), 1);
}

static void stale_missing_and_bad_names(void **state)
{
	char names[8][IRQ_NAME_LEN + 1];

	/* The file of an earlier run of the domain: another pid. */
	assert_int_equal(libvirt_status_read(status_dir(), "web-01", 9001,
					     names, 8),
			 -ESRCH);
	assert_int_equal(libvirt_status_read(status_dir(), "db-02", 9000, names,
					     8),
			 -ENOENT);
	assert_int_equal(libvirt_status_read(status_dir(), "../libvirt/web-01",
					     9000, names, 8),
			 -EINVAL);
	assert_int_equal(libvirt_status_read(status_dir(), "..", 9000, names,
					     8),
			 -EINVAL);
}

static void hostile_documents(void **state)
{
	char names[4][IRQ_NAME_LEN + 1];

	assert_int_equal(libvirt_status_parse("<domain/>", 1, names, 4),
			 -EINVAL);
	assert_int_equal(libvirt_status_parse("<domstatus pid=1>", 1, names, 4),
			 -EINVAL);
	/* No closing tag, an unterminated value, a name too long to fit,
	 * an entity left undecoded: nothing named. */
	assert_int_equal(libvirt_status_parse("<domstatus pid='1'>"
					      "<interface><target dev='a'/>",
					      1, names, 4),
			 0);
	assert_int_equal(
		libvirt_status_parse(
			"<domstatus pid='1'><interface>"
			"<target dev='abc/></interface>"
			"<interface><target dev='0123456789abcdefg'/>"
			"</interface><interface><target dev='a&amp;b'/>"
			"</interface>",
			1, names, 4),
		0);
	/* "xdev=" is not "dev=". */
	assert_int_equal(libvirt_status_parse("<domstatus pid='1'><interface>"
					      "<target xdev='t0'/></interface>",
					      1, names, 4),
			 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(interface_targets_only),
		cmocka_unit_test(stale_missing_and_bad_names),
		cmocka_unit_test(hostile_documents),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
