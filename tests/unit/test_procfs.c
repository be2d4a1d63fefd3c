// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of agent/collect/procfs.c: the pure parsers on hand-made edge cases,
 * the readers on the fake /proc under tests/fixtures/proc (described in
 * tests/fixtures/README.md).
 * Run from the repo root, or set KVMWARDEN_FIXTURES to the fixtures dir.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collect/procfs.h"

static char proc_root[PROCFS_PATH_LEN];

#define UUID_WEB "6f1e3c1a-52b4-4c1e-9d7e-2b0f5a6c7d8e"
#define STAT_TAIL                                                           \
	" 4821 0 12 0 1520 830 0 0 20 0 6 0 987654 1234567890 51200 "       \
	"18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 7 0 0 0 0 0 0 " \
	"0 0 0 0 0 0\n"

/* Wraps a string literal holding NULs as a cmdline buffer. */
#define PARSE_CMDLINE(literal, out) \
	procfs_cmdline_parse(literal, sizeof(literal) - 1, out)

/* --- stat --- */

static void test_stat_plain(void **state)
{
	struct proc_stat st;

	assert_int_equal(procfs_parse_stat("1234 (qemu-system-x86) S 1 1234 "
					   "1234 0 -1 4194560" STAT_TAIL,
					   &st),
			 0);
	assert_int_equal(st.pid, 1234);
	assert_string_equal(st.comm, "qemu-system-x86");
	assert_int_equal(st.state, 'S');
	assert_int_equal(st.ppid, 1);
	assert_int_equal(st.flags, 4194560);
	assert_int_equal(st.start_ticks, 987654);
	assert_int_equal(st.processor, 7);
}

static void test_stat_comm_with_parens_and_spaces(void **state)
{
	struct proc_stat st;

	assert_int_equal(procfs_parse_stat("42 (a) b (c) R 7 42 42 0 -1 "
					   "2129984" STAT_TAIL,
					   &st),
			 0);
	assert_string_equal(st.comm, "a) b (c");
	assert_int_equal(st.state, 'R');
	assert_int_equal(st.ppid, 7);
	assert_int_equal(st.flags, 2129984);
}

static void test_stat_empty_comm(void **state)
{
	struct proc_stat st;

	assert_int_equal(
		procfs_parse_stat("9 () Z 1 9 9 0 -1 0" STAT_TAIL, &st), 0);
	assert_string_equal(st.comm, "");
	assert_int_equal(st.state, 'Z');
}

static void test_stat_long_comm_truncated(void **state)
{
	char line[512], comm[101];
	struct proc_stat st;

	memset(comm, 'k', 100);
	comm[100] = '\0';
	snprintf(line, sizeof(line), "5 (%s) I 2 0 0 0 -1 1" STAT_TAIL, comm);
	assert_int_equal(procfs_parse_stat(line, &st), 0);
	assert_int_equal(strlen(st.comm), PROCFS_COMM_LEN - 1);
	assert_int_equal(st.start_ticks, 987654);
}

static void test_stat_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"1234",
		"1234 qemu) S 1 1 1 0 -1 0" STAT_TAIL, /* no '(' */
		"1234 (qemu S 1 1 1 0 -1 0 1 2 3", /* no ')' */
		"0 (idle) S 0 0 0 0 -1 0" STAT_TAIL, /* pid 0 */
		"-5 (x) S 1 1 1 0 -1 0" STAT_TAIL,
		"12 (x)S 1 1 1 0 -1 0" STAT_TAIL,
		"12 (x) SS 1 1 1 0 -1 0" STAT_TAIL,
		"12 (x) S one 1 1 0 -1 0" STAT_TAIL,
		"12 (x) S -1 1 1 0 -1 0" STAT_TAIL, /* negative ppid */
		"12 (x) S 1 1 1 0 -1 4294967296" STAT_TAIL, /* flags > 32 bit */
		"12 (x) S 1  1 1 0 -1 0" STAT_TAIL, /* double space */
		"12 (x) S 1 1 1 0 -1 0 4821 0 12", /* truncated */
		"99999999999 (x) S 1 1 1 0 -1 0" STAT_TAIL, /* pid overflow */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct proc_stat st;

		assert_int_equal(procfs_parse_stat(bad[i], &st), -EINVAL);
	}
	assert_int_equal(procfs_parse_stat(NULL, &(struct proc_stat){ 0 }),
			 -EINVAL);
}

static void test_stat_huge_garbage(void **state)
{
	size_t len = 200000;
	char *line = malloc(len + 1);
	struct proc_stat st;

	assert_non_null(line);
	memset(line, ')', len);
	memcpy(line, "77 (", 4);
	line[len] = '\0';
	assert_int_equal(procfs_parse_stat(line, &st), -EINVAL);
	free(line);
}

static void test_read_stat_process_and_thread(void **state)
{
	struct proc_stat st;

	assert_int_equal(procfs_read_stat(proc_root, 1000, 0, &st), 0);
	assert_int_equal(st.pid, 1000);
	assert_string_equal(st.comm, "qemu-system-x86");
	assert_int_equal(st.start_ticks, 123456);
	assert_int_equal(st.processor, 3);
	assert_int_equal(procfs_read_stat(proc_root, 1000, 1002, &st), 0);
	assert_int_equal(st.pid, 1002);
	assert_string_equal(st.comm, "CPU 1/KVM");
	assert_int_equal(st.processor, 1);
	assert_int_equal(st.start_ticks, 501002);
}

static void test_read_stat_weird_comm(void **state)
{
	struct proc_stat st;

	assert_int_equal(procfs_read_stat(proc_root, 6000, 0, &st), 0);
	assert_string_equal(st.comm, "a) b (c");
	assert_int_equal(st.start_ticks, 623456);
}

static void test_read_stat_vanished_and_truncated(void **state)
{
	struct proc_stat st;

	assert_int_equal(procfs_read_stat(proc_root, 1000, 1005, &st), -ENOENT);
	assert_int_equal(procfs_read_stat(proc_root, 4242, 0, &st), -ENOENT);
	assert_int_equal(procfs_read_stat(proc_root, 7000, 0, &st), -EINVAL);
	assert_int_equal(procfs_read_stat(proc_root, 0, 0, &st), -EINVAL);
}

/* --- cmdline --- */

static void test_cmdline_qemu_guest_and_uuid(void **state)
{
	struct vmm_identity id;

	assert_int_equal(
		PARSE_CMDLINE("/usr/bin/qemu-system-x86_64\0-name\0"
			      "guest=web,debug-threads=on\0-uuid\0" UUID_WEB
			      "\0-m\0"
			      "4096\0",
			      &id),
		0);
	assert_int_equal(id.kind, VMM_QEMU);
	assert_string_equal(id.name, "web");
	assert_string_equal(id.uuid, UUID_WEB);
}

static void test_cmdline_qemu_implied_name(void **state)
{
	struct vmm_identity id;

	assert_int_equal(
		PARSE_CMDLINE("qemu-system-aarch64\0-name\0plain\0", &id), 0);
	assert_string_equal(id.name, "plain");
	assert_int_equal(PARSE_CMDLINE("qemu-system-aarch64\0-name\0"
				       "vm1,process=qemu:vm1\0",
				       &id),
			 0);
	assert_string_equal(id.name, "vm1");
	assert_int_equal(
		PARSE_CMDLINE("qemu-kvm\0--name\0two\0--uuid\0" UUID_WEB, &id),
		0);
	assert_string_equal(id.name, "two");
	assert_string_equal(id.uuid, UUID_WEB);
}

static void test_cmdline_qemu_double_comma(void **state)
{
	struct vmm_identity id;

	assert_int_equal(PARSE_CMDLINE("qemu-kvm\0-name\0"
				       "guest=a,,b,,,debug-threads=on\0",
				       &id),
			 0);
	assert_string_equal(id.name, "a,b,");
	assert_int_equal(
		PARSE_CMDLINE("qemu-kvm\0-name\0x,,y,process=z\0", &id), 0);
	assert_string_equal(id.name, "x,y");
	/* guest= not first, after a bare flag */
	assert_int_equal(PARSE_CMDLINE("qemu-kvm\0-name\0"
				       "process=p,debug-threads,guest=last\0",
				       &id),
			 0);
	assert_string_equal(id.name, "last");
	/* a bare flag or a longer key after guest= is not the name */
	assert_int_equal(PARSE_CMDLINE("qemu-kvm\0-name\0"
				       "guest=a,debug-threads,guestx=b\0",
				       &id),
			 0);
	assert_string_equal(id.name, "a");
}

static void test_cmdline_qemu_name_without_value(void **state)
{
	struct vmm_identity id;

	assert_int_equal(PARSE_CMDLINE("qemu-kvm\0-m\0"
				       "512\0-name\0",
				       &id),
			 0);
	assert_int_equal(id.kind, VMM_QEMU);
	assert_string_equal(id.name, "");
	assert_int_equal(PARSE_CMDLINE("qemu-kvm\0-uuid", &id), 0);
	assert_string_equal(id.uuid, "");
	/* A value that is only other options names no guest. */
	assert_int_equal(PARSE_CMDLINE("qemu-kvm\0-name\0process=p\0", &id), 0);
	assert_string_equal(id.name, "");
}

static void test_cmdline_not_terminated(void **state)
{
	static const char buf[] = { 'q',  'e',	'm', 'u', '-', 'k', 'v',
				    'm',  '\0', '-', 'n', 'a', 'm', 'e',
				    '\0', 'w',	'e', 'b', '2' };
	struct vmm_identity id;

	assert_int_equal(procfs_cmdline_parse(buf, sizeof(buf), &id), 0);
	assert_string_equal(id.name, "web2");
	/* len is honoured even where the bytes go on */
	assert_int_equal(procfs_cmdline_parse(buf, sizeof(buf) - 2, &id), 0);
	assert_string_equal(id.name, "we");
}

static void test_cmdline_empty(void **state)
{
	struct vmm_identity id;

	assert_int_equal(procfs_cmdline_parse("", 0, &id), -EINVAL);
	assert_int_equal(id.kind, VMM_UNKNOWN);
	assert_int_equal(procfs_cmdline_parse(NULL, 10, &id), -EINVAL);
	/* One empty argument is not an empty buffer. */
	assert_int_equal(procfs_cmdline_parse("\0", 1, &id), 0);
	assert_int_equal(id.kind, VMM_UNKNOWN);
}

static void test_cmdline_kinds(void **state)
{
	static const struct {
		const char *argv0;
		enum vmm_kind kind;
	} cases[] = {
		{ "/usr/bin/qemu-system-x86_64", VMM_QEMU },
		{ "qemu-system-s390x", VMM_QEMU },
		{ "/usr/libexec/qemu-kvm", VMM_QEMU },
		{ "qemu-system-", VMM_UNKNOWN },
		{ "/usr/bin/qemu-img", VMM_UNKNOWN },
		{ "/usr/bin/firecracker", VMM_FIRECRACKER },
		{ "cloud-hypervisor", VMM_CLOUD_HYPERVISOR },
		{ "/opt/crosvm", VMM_CROSVM },
		{ "crosvm-helper", VMM_UNKNOWN },
		{ "/usr/bin/python3", VMM_UNKNOWN },
		{ "/usr/bin/", VMM_UNKNOWN },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vmm_identity id;

		assert_int_equal(procfs_cmdline_parse(cases[i].argv0,
						      strlen(cases[i].argv0),
						      &id),
				 0);
		assert_int_equal(id.kind, cases[i].kind);
	}
}

static void test_cmdline_firecracker_id(void **state)
{
	struct vmm_identity id;

	assert_int_equal(PARSE_CMDLINE("firecracker\0--api-sock\0/s\0--id\0"
				       "fc-7\0",
				       &id),
			 0);
	assert_int_equal(id.kind, VMM_FIRECRACKER);
	assert_string_equal(id.name, "fc-7");
	assert_int_equal(PARSE_CMDLINE("firecracker\0--id=fc-8\0", &id), 0);
	assert_string_equal(id.name, "fc-8");
	assert_int_equal(PARSE_CMDLINE("firecracker\0--id\0", &id), 0);
	assert_string_equal(id.name, "");
	/* QEMU's options mean nothing to Firecracker, and the reverse. */
	assert_int_equal(PARSE_CMDLINE("firecracker\0-name\0x\0", &id), 0);
	assert_string_equal(id.name, "");
	assert_int_equal(PARSE_CMDLINE("qemu-kvm\0--id\0x\0", &id), 0);
	assert_string_equal(id.name, "");
}

static void test_cmdline_others_have_no_name(void **state)
{
	struct vmm_identity id;

	assert_int_equal(PARSE_CMDLINE("cloud-hypervisor\0--name\0x\0--api-"
				       "socket\0/s\0",
				       &id),
			 0);
	assert_int_equal(id.kind, VMM_CLOUD_HYPERVISOR);
	assert_string_equal(id.name, "");
	assert_int_equal(PARSE_CMDLINE("crosvm\0run\0--name\0x\0", &id), 0);
	assert_int_equal(id.kind, VMM_CROSVM);
	assert_string_equal(id.name, "");
}

static void test_cmdline_bad_uuid_and_long_name(void **state)
{
	char buf[400];
	struct vmm_identity id;
	size_t len;

	assert_int_equal(PARSE_CMDLINE("qemu-kvm\0-uuid\0not-a-uuid\0", &id),
			 0);
	assert_string_equal(id.uuid, "");
	assert_int_equal(PARSE_CMDLINE("qemu-kvm\0-uuid\0" UUID_WEB "0\0", &id),
			 0);
	assert_string_equal(id.uuid, "");

	memcpy(buf, "qemu-kvm\0-name\0guest=", 21);
	memset(buf + 21, 'n', 300);
	len = 21 + 300;
	assert_int_equal(procfs_cmdline_parse(buf, len, &id), 0);
	assert_int_equal(strlen(id.name), PROCFS_NAME_LEN - 1);
	assert_int_equal(id.name[0], 'n');
}

static void test_cmdline_last_name_wins(void **state)
{
	struct vmm_identity id;

	assert_int_equal(PARSE_CMDLINE("qemu-kvm\0-name\0first\0-name\0"
				       "guest=second\0",
				       &id),
			 0);
	assert_string_equal(id.name, "second");
}

static void test_read_cmdline_fixtures(void **state)
{
	struct vmm_identity id;

	assert_int_equal(procfs_read_cmdline(proc_root, 1000, &id), 0);
	assert_int_equal(id.kind, VMM_QEMU);
	assert_string_equal(id.name, "web");
	assert_string_equal(id.uuid, UUID_WEB);
	assert_int_equal(procfs_read_cmdline(proc_root, 3000, &id), 0);
	assert_int_equal(id.kind, VMM_QEMU);
	assert_string_equal(id.name, "mail-2.corp");
	assert_int_equal(procfs_read_cmdline(proc_root, 4000, &id), 0);
	assert_int_equal(id.kind, VMM_FIRECRACKER);
	assert_string_equal(id.name, "fc-guest-1");
	assert_int_equal(procfs_read_cmdline(proc_root, 5000, &id), 0);
	assert_int_equal(id.kind, VMM_UNKNOWN);
	assert_string_equal(id.name, "");
	/* kernel thread: empty cmdline */
	assert_int_equal(procfs_read_cmdline(proc_root, 2, &id), -EINVAL);
	assert_int_equal(procfs_read_cmdline(proc_root, 4242, &id), -ENOENT);
}

/* A scratch proc root for files too large to keep in git. */
struct scratch {
	char root[64];
	char proc[96];
	char pid_dir[128];
	char file[160];
};

/* Runs even when an assert left the test body early. */
static int scratch_teardown(void **state)
{
	struct scratch *scratch = *state;

	if (!scratch)
		return 0;
	unlink(scratch->file);
	rmdir(scratch->pid_dir);
	rmdir(scratch->proc);
	rmdir(scratch->root);
	free(scratch);
	*state = NULL;
	return 0;
}

static int scratch_setup(void **state)
{
	struct scratch *scratch = calloc(1, sizeof(*scratch));

	if (!scratch)
		return -1;
	strcpy(scratch->root, "/tmp/kvmwarden-procfs-XXXXXX");
	if (!mkdtemp(scratch->root)) {
		free(scratch);
		return -1;
	}
	snprintf(scratch->proc, sizeof(scratch->proc), "%s/proc",
		 scratch->root);
	snprintf(scratch->pid_dir, sizeof(scratch->pid_dir), "%s/1",
		 scratch->proc);
	snprintf(scratch->file, sizeof(scratch->file), "%s/cmdline",
		 scratch->pid_dir);
	*state = scratch;
	if (mkdir(scratch->proc, 0700) || mkdir(scratch->pid_dir, 0700))
		goto cleanup;
	return 0;
cleanup:
	/* cmocka skips teardown when setup fails */
	scratch_teardown(state);
	return -1;
}

/* A command line past the read limit loses its cut-off last argument
 * instead of yielding a guest named after a fragment of it. */
static void test_read_cmdline_truncated(void **state)
{
	static const char head[] = "qemu-kvm\0-m\0"
				   "512\0-name\0guest=";
	struct scratch *scratch = *state;
	size_t value_len = 300 * 1024;
	struct vmm_identity id;
	char *value;
	FILE *file;

	value = malloc(value_len);
	assert_non_null(value);
	memset(value, 'x', value_len);
	file = fopen(scratch->file, "w");
	assert_non_null(file);
	assert_int_equal(fwrite(head, 1, sizeof(head) - 1, file),
			 sizeof(head) - 1);
	assert_int_equal(fwrite(value, 1, value_len, file), value_len);
	free(value);
	assert_int_equal(fclose(file), 0);

	assert_int_equal(procfs_read_cmdline(scratch->proc, 1, &id), 0);
	assert_int_equal(id.kind, VMM_QEMU);
	assert_string_equal(id.name, "");
}

/* --- systemd escaping --- */

static void test_unescape_ok(void **state)
{
	char out[64];

	assert_int_equal(
		systemd_names_unescape("qemu\\x2d1\\x2dweb", out, sizeof(out)), 0);
	assert_string_equal(out, "qemu-1-web");
	assert_int_equal(
		systemd_names_unescape("a\\x2Db\\x41\\xe9", out, sizeof(out)), 0);
	assert_string_equal(out, "a-bA\xe9");
	assert_int_equal(systemd_names_unescape("", out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

static void test_unescape_malformed(void **state)
{
	static const char *const bad[] = {
		"\\",	 "a\\x",  "a\\x2",   "\\xzz",	 "\\x2g",
		"\\y41", "\\X2d", "ok\\x00", "x\\\\x2d",
	};
	char out[64];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strcpy(out, "junk");
		assert_int_equal(systemd_names_unescape(bad[i], out, sizeof(out)),
				 -EINVAL);
		assert_string_equal(out, "");
	}
	assert_int_equal(systemd_names_unescape(NULL, out, sizeof(out)), -EINVAL);
}

static void test_unescape_small_buffer(void **state)
{
	char out[5];

	assert_int_equal(systemd_names_unescape("abcd", out, sizeof(out)), 0);
	assert_string_equal(out, "abcd");
	assert_int_equal(systemd_names_unescape("abcde", out, sizeof(out)),
			 -ENAMETOOLONG);
	assert_string_equal(out, "");
	assert_int_equal(systemd_names_unescape("ab\\x2dd", out, sizeof(out)), 0);
	assert_string_equal(out, "ab-d");
	/* a bad escape past the end is still reported as such */
	assert_int_equal(systemd_names_unescape("abcdef\\q", out, sizeof(out)),
			 -EINVAL);
	assert_int_equal(systemd_names_unescape("a", out, 0), -EINVAL);
}

/* --- libvirt cgroup names --- */

static void expect_libvirt_name(const char *path, const char *want)
{
	char name[PROCFS_NAME_LEN];

	assert_int_equal(libvirt_cgroup_name(path, name, sizeof(name)), 0);
	assert_string_equal(name, want);
}

static void test_libvirt_name_v1(void **state)
{
	expect_libvirt_name("/machine/qemu-1-web.libvirt-qemu", "web");
	expect_libvirt_name("/machine/qemu-1-web.libvirt-qemu/emulator", "web");
	expect_libvirt_name("/machine/qemu-12-db-01.prod.libvirt-qemu/vcpu3",
			    "db-01.prod");
	expect_libvirt_name("/machine/prod/qemu-2-x.libvirt-qemu/iothread1",
			    "x");
	/* older layout: no qemu-N- prefix */
	expect_libvirt_name("/machine/legacy-vm.libvirt-qemu/emulator",
			    "legacy-vm");
}

static void test_libvirt_name_v2(void **state)
{
	expect_libvirt_name("/machine.slice/machine-qemu\\x2d1\\x2dweb.scope",
			    "web");
	expect_libvirt_name("/machine.slice/machine-qemu\\x2d7\\x2dmail\\x2d2"
			    ".corp.scope/libvirt/vcpu0",
			    "mail-2.corp");
	expect_libvirt_name("/foo.slice/machine.slice/machine-qemu\\x2d3\\x2d"
			    "x.scope/libvirt/emulator",
			    "x");
}

static void test_libvirt_name_not_libvirt(void **state)
{
	static const char *const paths[] = {
		"/",
		"/user.slice/user-1000.slice/session-3.scope",
		"/system.slice/libvirtd.service",
		"/machine.slice/machine-lxc\\x2d1\\x2dct.scope",
		"/machine.slice/machine-fedora.scope", /* nspawn */
		"/machine.slice/machine-qemu\\x2dx\\x2dy.scope",
		"/machine",
	};
	char name[PROCFS_NAME_LEN];

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		assert_int_equal(libvirt_cgroup_name(paths[i], name,
						     sizeof(name)),
				 -ENOENT);
}

static void test_libvirt_name_malformed(void **state)
{
	static const char *const paths[] = {
		"",
		"machine/qemu-1-web.libvirt-qemu",
		"/machine.slice/machine-qemu\\x2g1\\x2dweb.scope",
		"/machine.slice/machine-qemu\\x2d1\\x2d.scope",
		"/machine/qemu-1-.libvirt-qemu",
		"/machine/.libvirt-qemu",
	};
	char name[PROCFS_NAME_LEN];

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		assert_int_equal(libvirt_cgroup_name(paths[i], name,
						     sizeof(name)),
				 -EINVAL);
	assert_int_equal(libvirt_cgroup_name(NULL, name, sizeof(name)),
			 -EINVAL);
}

static void test_libvirt_name_small_buffer(void **state)
{
	char name[4];

	assert_int_equal(libvirt_cgroup_name("/machine/qemu-1-abc.libvirt-qemu",
					     name, sizeof(name)),
			 0);
	assert_string_equal(name, "abc");
	assert_int_equal(libvirt_cgroup_name("/machine/qemu-1-abcd.libvirt-"
					     "qemu",
					     name, sizeof(name)),
			 -ENAMETOOLONG);
}

static void test_libvirt_thread_kind(void **state)
{
	enum thread_kind kind;
	int index;

	assert_int_equal(libvirt_cgroup_thread_kind(
				 "/machine/qemu-1-w.libvirt-qemu/vcpu3", &kind,
				 &index),
			 0);
	assert_int_equal(kind, THREAD_VCPU);
	assert_int_equal(index, 3);
	assert_int_equal(libvirt_cgroup_thread_kind(
				 "/machine/qemu-1-w.libvirt-qemu/emulator",
				 &kind, &index),
			 0);
	assert_int_equal(kind, THREAD_EMULATOR);
	assert_int_equal(index, -1);
	assert_int_equal(libvirt_cgroup_thread_kind(
				 "/machine.slice/machine-qemu\\x2d1\\x2dw.scope"
				 "/libvirt/iothread2",
				 &kind, &index),
			 0);
	assert_int_equal(kind, THREAD_IOTHREAD);
	assert_int_equal(index, 2);
	assert_int_equal(libvirt_cgroup_thread_kind(
				 "/machine.slice/machine-qemu\\x2d1\\x2dw.scope"
				 "/vcpu11",
				 &kind, &index),
			 0);
	assert_int_equal(kind, THREAD_VCPU);
	assert_int_equal(index, 11);
	assert_int_equal(libvirt_cgroup_thread_kind(
				 "/machine/qemu-1-w.libvirt-qemu/vcpu0", &kind,
				 &index),
			 0);
	assert_int_equal(kind, THREAD_VCPU);
	assert_int_equal(index, 0);
}

static void test_libvirt_thread_kind_no_leaf(void **state)
{
	static const char *const paths[] = {
		"/machine/qemu-1-w.libvirt-qemu",
		"/machine.slice/machine-qemu\\x2d1\\x2dw.scope/libvirt",
		"/machine/qemu-1-w.libvirt-qemu/vcpu",
		"/machine/qemu-1-w.libvirt-qemu/vcpux",
		"/machine/qemu-1-w.libvirt-qemu/vcpu1/extra",
		"/machine/qemu-1-w.libvirt-qemu/other",
		"/system.slice/vcpu0",
	};
	enum thread_kind kind;
	int index;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		assert_int_equal(libvirt_cgroup_thread_kind(paths[i], &kind,
							    &index),
				 -ENOENT);
	assert_int_equal(libvirt_cgroup_thread_kind("/machine/qemu-1-.libvirt-"
						    "qemu/vcpu0",
						    &kind, &index),
			 -EINVAL);
}

/* --- /proc/PID/cgroup --- */

static void expect_cgroup(const char *contents, const char *want)
{
	char path[PROCFS_PATH_LEN];

	assert_int_equal(procfs_parse_cgroup(contents, path, sizeof(path)), 0);
	assert_string_equal(path, want);
}

static void test_cgroup_choice(void **state)
{
	expect_cgroup("0::/machine.slice/x.scope/libvirt/vcpu0\n",
		      "/machine.slice/x.scope/libvirt/vcpu0");
	/* v1: cpu, not cpuset or cpuacct alone */
	expect_cgroup("9:cpuset:/set\n8:cpuacct:/acct\n4:cpu,cpuacct:/m/e\n"
		      "1:name=systemd:/sd\n0::/\n",
		      "/m/e");
	expect_cgroup("4:cpuacct,cpu:/m/e\n", "/m/e");
	expect_cgroup("4:cpu,cpuacct:/m/e\n9:cpuset:/set\n", "/m/e");
	/* hybrid with a populated unified tree: unified wins */
	expect_cgroup("4:cpu,cpuacct:/m/e\n0::/user.slice/u\n",
		      "/user.slice/u");
	expect_cgroup("10:memory:/mem\n1:name=systemd:/sd\n", "/sd");
	expect_cgroup("0::/\n", "/");
	/* no trailing newline; ':' inside the path */
	expect_cgroup("0::/a:b/c", "/a:b/c");
	expect_cgroup("\n0::/x\n\n", "/x");
}

static void test_cgroup_nothing_usable(void **state)
{
	char path[PROCFS_PATH_LEN];

	assert_int_equal(procfs_parse_cgroup("10:memory:/mem\n7:pids:/p\n",
					     path, sizeof(path)),
			 -ENODATA);
}

static void test_cgroup_malformed(void **state)
{
	static const char *const bad[] = {
		"",	 "garbage\n",	  "x::/a\n",  "0:/a\n",
		"0::\n", "0::relative\n", "-1::/a\n", "4:cpu:/a\nbroken\n",
	};
	char path[PROCFS_PATH_LEN];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(procfs_parse_cgroup(bad[i], path,
						     sizeof(path)),
				 -EINVAL);
	assert_int_equal(procfs_parse_cgroup(NULL, path, sizeof(path)),
			 -EINVAL);
}

static void test_cgroup_small_buffer(void **state)
{
	char path[4];

	assert_int_equal(procfs_parse_cgroup("0::/abc\n", path, sizeof(path)),
			 -ENAMETOOLONG);
	assert_int_equal(procfs_parse_cgroup("0::/ab\n", path, sizeof(path)),
			 0);
	assert_string_equal(path, "/ab");
}

static void test_read_cgroup_fixtures(void **state)
{
	char path[PROCFS_PATH_LEN], name[PROCFS_NAME_LEN];

	assert_int_equal(
		procfs_read_cgroup(proc_root, 2000, 0, path, sizeof(path)), 0);
	assert_string_equal(path,
			    "/machine/qemu-4-db-01.prod.libvirt-qemu/emulator");
	assert_int_equal(libvirt_cgroup_name(path, name, sizeof(name)), 0);
	assert_string_equal(name, "db-01.prod");
	assert_int_equal(procfs_read_cgroup(proc_root, 2000, 2002, path,
					    sizeof(path)),
			 0);
	assert_string_equal(path,
			    "/machine/qemu-4-db-01.prod.libvirt-qemu/vcpu1");
	assert_int_equal(procfs_read_cgroup(proc_root, 3000, 3002, path,
					    sizeof(path)),
			 0);
	assert_string_equal(path, "/machine.slice/machine-qemu\\x2d7\\x2dmail"
				  "\\x2d2.corp.scope/libvirt/iothread1");
	assert_int_equal(libvirt_cgroup_name(path, name, sizeof(name)), 0);
	assert_string_equal(name, "mail-2.corp");
	assert_int_equal(procfs_read_cgroup(proc_root, 1000, 1005, path,
					    sizeof(path)),
			 -ENOENT);
	assert_int_equal(procfs_read_cgroup(proc_root, 4242, 0, path,
					    sizeof(path)),
			 -ENOENT);
}

/* --- thread classes --- */

static void test_classify_thread(void **state)
{
	static const char v1[] = "/machine/qemu-4-db.libvirt-qemu/";
	char path[PROCFS_PATH_LEN];

	assert_int_equal(thread_class_of(VMM_QEMU, 10, 10, "CPU 0/KVM",
						NULL),
			 THREAD_EMULATOR);
	assert_int_equal(thread_class_of(VMM_QEMU, 10, 11, "vhost-10",
						NULL),
			 THREAD_VHOST);
	assert_int_equal(thread_class_of(VMM_FIRECRACKER, 10, 11,
						"vhost-9", NULL),
			 THREAD_VHOST);
	assert_int_equal(thread_class_of(VMM_QEMU, 10, 11, "vhost-",
						NULL),
			 THREAD_OTHER);
	assert_int_equal(thread_class_of(VMM_QEMU, 10, 11, "vhost-1a",
						NULL),
			 THREAD_OTHER);
	assert_int_equal(thread_class_of(VMM_QEMU, 10, 11,
						"IO iothread1", NULL),
			 THREAD_IOTHREAD);
	assert_int_equal(thread_class_of(VMM_QEMU, 10, 11,
						"IO mon_iothread", NULL),
			 THREAD_IOTHREAD);
	assert_int_equal(thread_class_of(VMM_FIRECRACKER, 10, 11, "IO x",
						NULL),
			 THREAD_OTHER);
	assert_int_equal(thread_class_of(VMM_QEMU, 10, 11, "IOx", NULL),
			 THREAD_OTHER);
	snprintf(path, sizeof(path), "%siothread1", v1);
	assert_int_equal(thread_class_of(VMM_QEMU, 10, 11, "qemu-kvm",
						path),
			 THREAD_IOTHREAD);
	snprintf(path, sizeof(path), "%semulator", v1);
	assert_int_equal(thread_class_of(VMM_QEMU, 10, 11, "worker",
						path),
			 THREAD_OTHER);
	assert_int_equal(thread_class_of(VMM_QEMU, 10, 11, NULL, NULL),
			 THREAD_OTHER);
	assert_int_equal(thread_class_of(VMM_QEMU, 10, 11, "x",
						"/bad\\x2g.scope"),
			 THREAD_OTHER);
}

static void test_vcpu_index_from_comm(void **state)
{
	static const struct {
		enum vmm_kind kind;
		const char *comm;
		int index;
	} cases[] = {
		{ VMM_QEMU, "CPU 0/KVM", 0 },
		{ VMM_QEMU, "CPU 17/KVM", 17 },
		{ VMM_QEMU, "CPU 1/TCG", -1 },
		{ VMM_QEMU, "CPU /KVM", -1 },
		{ VMM_QEMU, "CPU 1/KVMx", -1 },
		{ VMM_QEMU, "CPU 1", -1 },
		{ VMM_QEMU, "CPU 99999999999/KVM", -1 },
		{ VMM_QEMU, "fc_vcpu 0", -1 },
		{ VMM_FIRECRACKER, "fc_vcpu 0", 0 },
		{ VMM_FIRECRACKER, "fc_vcpu_3", 3 },
		{ VMM_FIRECRACKER, "fc_vcpu", -1 },
		{ VMM_FIRECRACKER, "fc_vcpu  1", -1 },
		{ VMM_CLOUD_HYPERVISOR, "vcpu2", 2 },
		{ VMM_CLOUD_HYPERVISOR, "vcpu 2", -1 },
		{ VMM_CROSVM, "crosvm_vcpu4", 4 },
		{ VMM_CROSVM, "crosvm_vcpu 5", 5 },
		{ VMM_CROSVM, "vcpu2", -1 },
		{ VMM_UNKNOWN, "CPU 2/KVM", 2 },
		{ VMM_UNKNOWN, "fc_vcpu_6", 6 },
		{ VMM_UNKNOWN, "worker", -1 },
		{ VMM_QEMU, "", -1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(thread_class_vcpu_index(
					 cases[i].kind, cases[i].comm, NULL),
				 cases[i].index);
}

static void test_vcpu_index_from_cgroup(void **state)
{
	static const char v2[] = "/machine.slice/machine-qemu\\x2d1\\x2dw"
				 ".scope/libvirt/vcpu5";

	assert_int_equal(thread_class_vcpu_index(VMM_QEMU, "qemu-kvm", v2),
			 5);
	assert_int_equal(thread_class_vcpu_index(VMM_QEMU, NULL, v2), 5);
	/* comm wins when both name one */
	assert_int_equal(thread_class_vcpu_index(VMM_QEMU, "CPU 1/KVM", v2),
			 1);
	assert_int_equal(thread_class_vcpu_index(
				 VMM_QEMU, "x",
				 "/machine/qemu-1-w.libvirt-qemu/iothread5"),
			 -1);
	assert_int_equal(thread_class_vcpu_index(VMM_QEMU, NULL, NULL), -1);
}

static void test_kind_names(void **state)
{
	assert_string_equal(vmm_kind_name(VMM_QEMU), "qemu");
	assert_string_equal(vmm_kind_name(VMM_FIRECRACKER), "firecracker");
	assert_string_equal(vmm_kind_name(VMM_CLOUD_HYPERVISOR),
			    "cloud-hypervisor");
	assert_string_equal(vmm_kind_name(VMM_CROSVM), "crosvm");
	assert_string_equal(vmm_kind_name(VMM_UNKNOWN), "unknown");
	assert_string_equal(vmm_kind_name((enum vmm_kind)99), "unknown");
	assert_string_equal(thread_kind_name(THREAD_VCPU), "vcpu");
	assert_string_equal(thread_kind_name(THREAD_EMULATOR), "emulator");
	assert_string_equal(thread_kind_name(THREAD_IOTHREAD), "iothread");
	assert_string_equal(thread_kind_name(THREAD_VHOST), "vhost");
	assert_string_equal(thread_kind_name(THREAD_OTHER), "other");
}

/* --- directory scans on the fixture tree --- */

static void test_scan_kvm_fds(void **state)
{
	int has_vm = -1;

	/* fd 14 is a kvm-vcpu-stats fd and must not count */
	assert_int_equal(procfs_scan_kvm_fds(proc_root, 1000, &has_vm), 2);
	assert_int_equal(has_vm, 1);
	/* older kernels: "anon_inode:kvm-vcpu" without an index */
	assert_int_equal(procfs_scan_kvm_fds(proc_root, 4000, &has_vm), 2);
	assert_int_equal(has_vm, 1);
	assert_int_equal(procfs_scan_kvm_fds(proc_root, 5000, NULL), 1);
	has_vm = -1;
	assert_int_equal(procfs_scan_kvm_fds(proc_root, 6000, &has_vm),
			 -ENOENT);
	assert_int_equal(has_vm, 0);
	assert_int_equal(procfs_scan_kvm_fds(proc_root, 4242, &has_vm),
			 -ENOENT);
}

static void test_list_threads(void **state)
{
	int tids[16], small[2], canary[8];

	assert_int_equal(procfs_list_threads(proc_root, 1000, tids, 16), 6);
	for (int i = 0; i < 6; i++)
		assert_int_equal(tids[i], 1000 + i);
	assert_int_equal(procfs_list_threads(proc_root, 1000, small, 2), 2);
	assert_int_equal(small[0], 1000);
	assert_int_equal(small[1], 1001);
	/* six threads, room for five: the sixth slot stays untouched */
	for (int i = 0; i < 8; i++)
		canary[i] = -7;
	assert_int_equal(procfs_list_threads(proc_root, 1000, canary, 5), 5);
	assert_int_equal(canary[4], 1004);
	assert_int_equal(canary[5], -7);
	assert_int_equal(procfs_list_threads(proc_root, 1000, NULL, 0), 0);
	assert_int_equal(procfs_list_threads(proc_root, 1000, tids, -1),
			 -EINVAL);
	assert_int_equal(procfs_list_threads(proc_root, 7000, tids, 16),
			 -ENOENT);
	assert_int_equal(procfs_list_threads(proc_root, 4242, tids, 16),
			 -ENOENT);
}

static void test_list_pids(void **state)
{
	static const int want[] = { 1,	  2,	1000, 2000, 3000, 4000, 5000,
				    6000, 7000, 8000, 8001, 8002, 8003, 8004 };
	const int want_count = sizeof(want) / sizeof(want[0]);
	int pids[32];

	assert_int_equal(procfs_list_pids(proc_root, pids, 32), want_count);
	for (int i = 0; i < want_count; i++)
		assert_int_equal(pids[i], want[i]);
	assert_int_equal(procfs_list_pids(proc_root, pids, 3), 3);
	assert_int_equal(pids[2], 1000);
	assert_int_equal(procfs_list_pids("/nonexistent/proc", pids, 32),
			 -ENOENT);
}

static void test_find_vhost_kthreads(void **state)
{
	int out[8];

	/* 8002 is a user process and 8003 is "vhost-10000" */
	assert_int_equal(procfs_find_vhost_kthreads(proc_root, 1000, out, 8),
			 2);
	assert_int_equal(out[0], 8000);
	assert_int_equal(out[1], 8001);
	assert_int_equal(procfs_find_vhost_kthreads(proc_root, 1000, out, 1),
			 1);
	assert_int_equal(out[0], 8000);
	assert_int_equal(procfs_find_vhost_kthreads(proc_root, 3000, out, 8),
			 1);
	assert_int_equal(out[0], 8004);
	assert_int_equal(procfs_find_vhost_kthreads(proc_root, 4000, out, 8),
			 0);
}

/* A whole discovery pass over one libvirt guest, as the agent does it. */
static void test_libvirt_v1_guest_threads(void **state)
{
	static const enum thread_kind want[] = { THREAD_EMULATOR, THREAD_OTHER,
						 THREAD_OTHER, THREAD_IOTHREAD,
						 THREAD_OTHER };
	static const int want_vcpu[] = { -1, 0, 1, -1, -1 };
	char path[PROCFS_PATH_LEN];
	struct proc_stat st;
	int tids[8];

	assert_int_equal(procfs_list_threads(proc_root, 2000, tids, 8), 5);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(
			procfs_read_stat(proc_root, 2000, tids[i], &st), 0);
		assert_int_equal(procfs_read_cgroup(proc_root, 2000, tids[i],
						    path, sizeof(path)),
				 0);
		assert_int_equal(thread_class_of(VMM_QEMU, 2000, tids[i],
							st.comm, path),
				 want[i]);
		assert_int_equal(thread_class_vcpu_index(VMM_QEMU, st.comm,
							     path),
				 want_vcpu[i]);
	}
}

/* A name carrying a newline and "<0>" would forge a journald line. */
static void control_characters_are_escaped(void **state)
{
	char out[64];

	procfs_escape_control("db-x\n<0>forged\x1b[2J", out, sizeof(out));
	assert_string_equal(out, "db-x\\x0a<0>forged\\x1b[2J");
	procfs_escape_control("plain-name", out, sizeof(out));
	assert_string_equal(out, "plain-name");
	/* Truncation never splits an escape. */
	procfs_escape_control("ab\n", out, 5);
	assert_string_equal(out, "ab");
}

static void uid_of_a_process(void **state)
{
	uint32_t uid = 12345;

	assert_int_equal(procfs_read_uid("/proc", getpid(), &uid), 0);
	assert_int_equal(uid, getuid());
	assert_true(procfs_read_uid("/proc", 999999999, &uid) < 0);
}

int main(void)
{
	const char *fixtures = getenv("KVMWARDEN_FIXTURES");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(control_characters_are_escaped),
		cmocka_unit_test(uid_of_a_process),
		cmocka_unit_test(test_stat_plain),
		cmocka_unit_test(test_stat_comm_with_parens_and_spaces),
		cmocka_unit_test(test_stat_empty_comm),
		cmocka_unit_test(test_stat_long_comm_truncated),
		cmocka_unit_test(test_stat_malformed),
		cmocka_unit_test(test_stat_huge_garbage),
		cmocka_unit_test(test_read_stat_process_and_thread),
		cmocka_unit_test(test_read_stat_weird_comm),
		cmocka_unit_test(test_read_stat_vanished_and_truncated),
		cmocka_unit_test(test_cmdline_qemu_guest_and_uuid),
		cmocka_unit_test(test_cmdline_qemu_implied_name),
		cmocka_unit_test(test_cmdline_qemu_double_comma),
		cmocka_unit_test(test_cmdline_qemu_name_without_value),
		cmocka_unit_test(test_cmdline_not_terminated),
		cmocka_unit_test(test_cmdline_empty),
		cmocka_unit_test(test_cmdline_kinds),
		cmocka_unit_test(test_cmdline_firecracker_id),
		cmocka_unit_test(test_cmdline_others_have_no_name),
		cmocka_unit_test(test_cmdline_bad_uuid_and_long_name),
		cmocka_unit_test(test_cmdline_last_name_wins),
		cmocka_unit_test(test_read_cmdline_fixtures),
		cmocka_unit_test_setup_teardown(test_read_cmdline_truncated,
						scratch_setup,
						scratch_teardown),
		cmocka_unit_test(test_unescape_ok),
		cmocka_unit_test(test_unescape_malformed),
		cmocka_unit_test(test_unescape_small_buffer),
		cmocka_unit_test(test_libvirt_name_v1),
		cmocka_unit_test(test_libvirt_name_v2),
		cmocka_unit_test(test_libvirt_name_not_libvirt),
		cmocka_unit_test(test_libvirt_name_malformed),
		cmocka_unit_test(test_libvirt_name_small_buffer),
		cmocka_unit_test(test_libvirt_thread_kind),
		cmocka_unit_test(test_libvirt_thread_kind_no_leaf),
		cmocka_unit_test(test_cgroup_choice),
		cmocka_unit_test(test_cgroup_nothing_usable),
		cmocka_unit_test(test_cgroup_malformed),
		cmocka_unit_test(test_cgroup_small_buffer),
		cmocka_unit_test(test_read_cgroup_fixtures),
		cmocka_unit_test(test_classify_thread),
		cmocka_unit_test(test_vcpu_index_from_comm),
		cmocka_unit_test(test_vcpu_index_from_cgroup),
		cmocka_unit_test(test_kind_names),
		cmocka_unit_test(test_scan_kvm_fds),
		cmocka_unit_test(test_list_threads),
		cmocka_unit_test(test_list_pids),
		cmocka_unit_test(test_find_vhost_kthreads),
		cmocka_unit_test(test_libvirt_v1_guest_threads),
	};
	int written;

	written = snprintf(proc_root, sizeof(proc_root), "%s/proc",
			   fixtures && *fixtures ? fixtures : "tests/fixtures");
	if (written < 0 || (size_t)written >= sizeof(proc_root)) {
		fprintf(stderr, "KVMWARDEN_FIXTURES is too long\n");
		return 1;
	}
	return cmocka_run_group_tests_name("procfs", tests, NULL, NULL);
}
