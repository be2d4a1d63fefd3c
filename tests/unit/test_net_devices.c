// SPDX-License-Identifier: GPL-2.0-only
/*
 * A guest's network devices (collect/net_devices.c) on the fixture tree
 * tests/fixtures/net: which devices are its own (command line, tun fdinfo,
 * macvtap descriptors), names that must be refused, counters since first
 * sight, a device deleted or recreated, and the figures as the report,
 * dump --json and /metrics give them.
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

#include "collect/net_devices.h"
#include "collect/net_spec.h"
#include "json_net.h"
#include "prometheus_net.h"

#define FIXTURE_PID 9000

struct net_state {
	struct tracker tracker;
	char sys_copy[64]; /* a writable copy of the fixture sysfs */
	char proc_root[256];
	char sys_root[256];
};

static const char *fixture_dir(void)
{
	const char *dir = getenv("KVMWARDEN_FIXTURES");

	return dir ? dir : "tests/fixtures";
}

static char cmd[2048];

static int setup(void **state)
{
	static struct net_state s;

	memset(&s, 0, sizeof(s));
	snprintf(s.proc_root, sizeof(s.proc_root), "%s/net/proc",
		 fixture_dir());
	snprintf(s.sys_copy, sizeof(s.sys_copy), "/tmp/kvmwarden-net-XXXXXX");
	if (!mkdtemp(s.sys_copy))
		return -1;
	snprintf(cmd, sizeof(cmd), "cp -a '%s/net/sys/.' '%s/'", fixture_dir(),
		 s.sys_copy);
	if (system(cmd))
		return -1;
	snprintf(s.sys_root, sizeof(s.sys_root), "%s", s.sys_copy);
	if (tracker_init(&s.tracker, NULL, s.proc_root, 60ULL * 1000000000ULL))
		return -1;
	s.tracker.sys_root = s.sys_root;
	*state = &s;
	return 0;
}

static int teardown(void **state)
{
	struct net_state *s = *state;

	tracker_free(&s->tracker);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->sys_copy);
	return system(cmd);
}

/* Writes one sysfs file of the writable copy. */
static void set_sys(struct net_state *s, const char *device, const char *file,
		    uint64_t value)
{
	char path[1024];
	FILE *out;

	snprintf(path, sizeof(path), "%s/class/net/%s/%s", s->sys_root, device,
		 file);
	out = fopen(path, "w");
	assert_non_null(out);
	fprintf(out, "%llu\n", (unsigned long long)value);
	fclose(out);
}

static struct guest *fixture_guest(struct net_state *s)
{
	struct guest *guest =
		guest_table_add(&s->tracker.table, FIXTURE_PID, 1);

	assert_non_null(guest);
	snprintf(guest->name, sizeof(guest->name), "netg");
	return guest;
}

static const struct guest_net_device *device_named(const struct guest *guest,
						   const char *name)
{
	for (size_t i = 0; i < guest->net_count; i++)
		if (!strcmp(guest->net[i].name, name))
			return &guest->net[i];
	return NULL;
}

static void names_are_checked_like_the_kernel(void **state)
{
	assert_true(net_devices_name_valid("tap0"));
	assert_true(net_devices_name_valid("v"));
	assert_true(net_devices_name_valid("vnet-0.12_long1")); /* 15 */
	assert_false(net_devices_name_valid(""));
	assert_false(net_devices_name_valid("vnet-0.12_long12")); /* 16 */
	assert_false(net_devices_name_valid("."));
	assert_false(net_devices_name_valid(".."));
	assert_false(net_devices_name_valid("../etc"));
	assert_false(net_devices_name_valid("a/b"));
	assert_false(net_devices_name_valid("eth0:1"));
	assert_false(net_devices_name_valid("tap 0"));
	assert_false(net_devices_name_valid("tap\n0"));
	assert_false(net_devices_name_valid("tap\x1b"));
}

#define CMDLINE(text) text, sizeof(text) - 1

static void command_lines_name_their_taps(void **state)
{
	char names[8][IRQ_NAME_LEN + 1];

	assert_int_equal(net_devices_parse_cmdline(
				 VMM_QEMU,
				 CMDLINE("qemu-system-x86_64\0-netdev\0"
					 "tap,id=n0,ifname=tap0,script=no\0"
					 "--netdev\0type=tap,ifname=tap1\0"
					 "-nic\0tap,model=virtio,ifname=tap2\0"
					 "-net\0tap,ifname=tap0\0"),
				 names, 8),
			 3);
	assert_string_equal(names[0], "tap0");
	assert_string_equal(names[1], "tap1");
	assert_string_equal(names[2], "tap2");
	/* Other back ends, bad names, a value cut off, no room. */
	assert_int_equal(net_devices_parse_cmdline(
				 VMM_QEMU,
				 CMDLINE("qemu\0-netdev\0user,id=n0,ifname=x\0"
					 "-netdev\0bridge,br=br0\0"
					 "-netdev\0tap,ifname=../../sys\0"
					 "-name\0-netdev\0-netdev"),
				 names, 8),
			 0);
	/* ",," is a comma inside a value, not the next option. */
	assert_int_equal(net_devices_parse_cmdline(
				 VMM_QEMU,
				 CMDLINE("qemu\0-netdev\0tap,id=x,,ifname=t8,"
					 "ifname=t9\0"),
				 names, 8),
			 1);
	assert_string_equal(names[0], "t9");
	assert_int_equal(
		net_devices_parse_cmdline(
			VMM_QEMU,
			CMDLINE("qemu\0-netdev\0tap,ifname=t0\0-netdev\0"
				"tap,ifname=t1\0"),
			names, 1),
		1);
	assert_string_equal(names[0], "t0");
	/* "ifname=" only as an option of -netdev, not an argument of its own. */
	assert_int_equal(net_devices_parse_cmdline(
				 VMM_QEMU,
				 CMDLINE("qemu\0tap,ifname=t0\0-append\0"
					 "-netdev tap,ifname=t1\0"),
				 names, 8),
			 0);
	assert_int_equal(net_devices_parse_cmdline(VMM_QEMU, NULL, 0, names, 8),
			 0);
}

/* QEMU's JSON -netdev: a hand-written one may name its tap; libvirt's
 * passes a descriptor and names none. */
static void qemu_json_netdevs_name_their_taps(void **state)
{
	char names[8][IRQ_NAME_LEN + 1];

	assert_int_equal(
		net_devices_parse_cmdline(
			VMM_QEMU,
			CMDLINE("qemu\0-netdev\0{\"type\":\"tap\",\"id\":\"n0\","
				"\"ifname\":\"tapj0\",\"script\":\"no\"}\0"
				"-netdev\0{\"ifname\":\"tapj1\",\"type\":\"tap\"}\0"),
			names, 8),
		2);
	assert_string_equal(names[0], "tapj0");
	assert_string_equal(names[1], "tapj1");
	/* libvirt's (fd), another back end, a name that is no string, one
	 * the kernel would refuse, one too long, trailing bytes, a cut
	 * object, JSON that is no object. */
	assert_int_equal(
		net_devices_parse_cmdline(
			VMM_QEMU,
			CMDLINE("qemu\0-netdev\0{\"type\":\"tap\",\"fd\":\"30\","
				"\"vhost\":true,\"id\":\"hostnet0\"}\0"
				"-netdev\0{\"type\":\"user\",\"ifname\":\"x\"}\0"
				"-netdev\0{\"type\":\"tap\",\"ifname\":7}\0"
				"-netdev\0{\"type\":\"tap\",\"ifname\":\"../x\"}\0"
				"-netdev\0{\"type\":\"tap\",\"ifname\":"
				"\"a-name-much-too-long-for-any-kernel\"}\0"
				"-netdev\0{\"type\":\"tap\",\"ifname\":\"t1\"}x\0"
				"-netdev\0{\"type\":\"tap\",\"ifname\":\"t2\"\0"
				"-netdev\0{\0"),
			names, 8),
		0);
}

/* cloud-hypervisor's --net (docs/networking.md: one --net, several
 * space-separated values; its option_parser's quotes and brackets). */
static void cloud_hypervisor_lines_name_their_taps(void **state)
{
	char names[8][IRQ_NAME_LEN + 1];

	assert_int_equal(
		net_devices_parse_cmdline(
			VMM_CLOUD_HYPERVISOR,
			CMDLINE("/usr/bin/cloud-hypervisor\0--cpus\0boot=4\0"
				"--memory\0size=512M\0--kernel\0vmlinux.bin\0"
				"--cmdline\0console=ttyS0 root=/dev/vda3\0"
				"--net\0tap=ich0,mac=a4:a1:c2:00:00:01,"
				"ip=192.168.4.2,mask=255.255.255.0,"
				"num_queues=2,queue_size=256\0"
				"tap=ich1,mac=a4:a1:c2:00:00:02,ip=10.0.1.2,"
				"mask=255.255.255.0\0"
				"--disk\0path=root.img\0--net=tap=ich2\0"
				"--net\0 mac=12:34:56:78:9a:bc,tap=\"ich3\" \0"
				/* tap= wins over fd= in its device manager */
				"--net\0tap=ich4,fd=[3,4],num_queues=4\0"
				"--serial\0tty\0--console\0off\0"),
			names, 8),
		5);
	assert_string_equal(names[0], "ich0");
	assert_string_equal(names[1], "ich1");
	assert_string_equal(names[2], "ich2");
	assert_string_equal(names[3], "ich3");
	assert_string_equal(names[4], "ich4");
	/* Values that name no tap of its own: descriptors only (fd=3 as
	 * docs/macvtap-bridge.md passes a macvtap), its own naming (no or
	 * an empty tap=), a vhost-user back end's, and tap= after another
	 * option than --net. */
	assert_int_equal(
		net_devices_parse_cmdline(
			VMM_CLOUD_HYPERVISOR,
			CMDLINE("cloud-hypervisor\0--net\0"
				"fd=3,mac=c2:67:4f:53:29:cb\0"
				"fd=[3,7],num_queues=4\0mac=12:34:56:78:9a:bc\0"
				"tap=,mac=12:34:56:78:9a:bc\0"
				"vhost_user=true,socket=/tmp/sock,tap=vu0\0"
				"tap=vu1,vhost_user=On\0"
				"--disk\0path=a.img\0tap=disk0\0--\0tap=t0\0"
				"--net\0"),
			names, 8),
		0);
	/* Hostile or malformed: refused, never cut to fit. */
	assert_int_equal(
		net_devices_parse_cmdline(
			VMM_CLOUD_HYPERVISOR,
			CMDLINE("cloud-hypervisor\0--net\0tap=../x\0tap=a/b\0"
				"tap=..\0tap=tap:1\0tap=vnet-0.12_long12\0"
				"tap=tap000000000000000000000000000000000000000"
				"00000000000000000000000000000000000000000000\0"
				"tap=\"\"\0tap=a\"\"b\0tap=\"t1\0tap=t2,fd=[3\0"
				"tap=t3,fd=3]\0tap\0tap=t4 x\0"),
			names, 8),
		0);
	/* Cut off at the buffer's end: "tap=tap12" might have been "tap=ta". */
	assert_int_equal(net_devices_parse_cmdline(
				 VMM_CLOUD_HYPERVISOR,
				 CMDLINE("cloud-hypervisor\0--net\0tap=tap12"),
				 names, 8),
			 0);
	assert_int_equal(
		net_devices_parse_cmdline(
			VMM_CLOUD_HYPERVISOR,
			CMDLINE("cloud-hypervisor\0--net\0tap=tap12\0"), names,
			8),
		1);
	assert_int_equal(net_devices_parse_cmdline(VMM_CLOUD_HYPERVISOR, NULL,
						   0, names, 8),
			 0);
}

/* crosvm: `--net tap-name=N` (serde_keyvalue), the older `--tap-name N`
 * and `--tap-name=N` (crosvm splits `--option=value` before argh). */
static void crosvm_lines_name_their_taps(void **state)
{
	char names[8][IRQ_NAME_LEN + 1];

	assert_int_equal(
		net_devices_parse_cmdline(
			VMM_CROSVM,
			CMDLINE("/usr/bin/crosvm\0run\0--cpus\04\0--mem\04096\0"
				"--net\0tap-name=crosvm_tap\0"
				"--net\0vhost-net,tap-name=ctap1,vq-pairs=2\0"
				"--net=tap-name=ctap2,"
				"mac=\"3d:70:eb:61:1a:91\"\0"
				"--net\0vhost-net=[device=/dev/vhost-net],"
				"tap-name='ctap3'\0"
				"--net\0tap-name=\"c\\\\tap4\",packed-queue\0"
				"--tap-name\0ctap5\0--tap-name=ctap6\0"
				"--rwdisk\0./rootfs\0-p\0root=/dev/vda1\0"
				"./vmlinuz\0"),
			names, 8),
		7);
	assert_string_equal(names[0], "crosvm_tap");
	assert_string_equal(names[1], "ctap1");
	assert_string_equal(names[2], "ctap2");
	assert_string_equal(names[3], "ctap3");
	assert_string_equal(names[4], "c\\tap4");
	assert_string_equal(names[5], "ctap5");
	assert_string_equal(names[6], "ctap6");
	/* Descriptors and host-ip name nothing; what crosvm refuses (both
	 * tap-name and tap-fd, tap-name twice, a quote or bracket in an
	 * unquoted value, an unclosed quote, an empty value) neither. */
	assert_int_equal(
		net_devices_parse_cmdline(
			VMM_CROSVM,
			CMDLINE("crosvm\0run\0--net\0"
				"tap-fd=12,mac=\"3d:70:eb:61:1a:91\"\0"
				"--tap-fd\05\0--tap-fd=6\0"
				"--net\0host-ip=192.168.10.1,"
				"netmask=255.255.255.0,"
				"mac=3d:70:eb:61:1a:91\0"
				"--net\0tap-name=t0,tap-fd=3\0"
				"--net\0tap-name=t1,tap-name=t2\0"
				"--net\0tap-name=t\"3\0--net\0tap-name=[t4]\0"
				"--net\0tap-name=\"t5\0--net\0tap-name=\0"
				"--net\0tap-name=\"t6\"x\0--net\0tap-name\0"
				"--net\0tap-name=\"t\\7\"\0-p\0tap-name=t8\0"
				"kernel\0"),
			names, 8),
		0);
	/* Hostile names, refused. */
	assert_int_equal(
		net_devices_parse_cmdline(
			VMM_CROSVM,
			CMDLINE("crosvm\0run\0--tap-name\0../x\0"
				"--tap-name=a/b\0"
				"--tap-name\0vnet-0.12_long12\0--tap-name=\0"
				"--net\0tap-name=../x\0"
				"--net\0tap-name=\"a/b\"\0"
				"--net\0tap-name=''\0--tap-name\0t 9\0"
				"--net\0tap-name=tap00000000000000000000000000"
				"000000000000000000000000000000000000000000\0"),
			names, 8),
		0);
	/* A value cut off at the buffer's end, or missing. */
	assert_int_equal(net_devices_parse_cmdline(
				 VMM_CROSVM,
				 CMDLINE("crosvm\0run\0--tap-name\0tap12"),
				 names, 8),
			 0);
	assert_int_equal(net_devices_parse_cmdline(
				 VMM_CROSVM,
				 CMDLINE("crosvm\0run\0--net\0tap-name=tap12"),
				 names, 8),
			 0);
	assert_int_equal(net_devices_parse_cmdline(
				 VMM_CROSVM, CMDLINE("crosvm\0run\0--net\0"),
				 names, 8),
			 0);
}

/* Each VMM's line read in its own grammar only; any VMM but those two
 * is read as QEMU, as every line was before the kind was passed. */
static void each_vmm_is_read_in_its_own_grammar(void **state)
{
	static const char qemu_line[] = "qemu-system-x86_64\0-netdev\0"
					"tap,id=n0,ifname=q0\0--net\0tap=c0\0"
					"--tap-name\0x0\0";
	char names[8][IRQ_NAME_LEN + 1];

	assert_int_equal(net_devices_parse_cmdline(VMM_QEMU, qemu_line,
						   sizeof(qemu_line) - 1, names,
						   8),
			 1);
	assert_string_equal(names[0], "q0");
	assert_int_equal(net_devices_parse_cmdline(VMM_UNKNOWN, qemu_line,
						   sizeof(qemu_line) - 1, names,
						   8),
			 1);
	assert_int_equal(net_devices_parse_cmdline(VMM_FIRECRACKER, qemu_line,
						   sizeof(qemu_line) - 1, names,
						   8),
			 1);
	assert_int_equal(
		net_devices_parse_cmdline(VMM_CLOUD_HYPERVISOR, qemu_line,
					  sizeof(qemu_line) - 1, names, 8),
		1);
	assert_string_equal(names[0], "c0");
	assert_int_equal(net_devices_parse_cmdline(VMM_CROSVM, qemu_line,
						   sizeof(qemu_line) - 1, names,
						   8),
			 1);
	assert_string_equal(names[0], "x0");
	/* No room: the first ones are kept. */
	assert_int_equal(
		net_devices_parse_cmdline(
			VMM_CLOUD_HYPERVISOR,
			CMDLINE("cloud-hypervisor\0--net\0tap=t0\0tap=t1\0"),
			names, 1),
		1);
	assert_string_equal(names[0], "t0");
}

/* Why a value names nothing, as net_spec.h promises. */
static void specs_say_why_they_name_nothing(void **state)
{
	char name[IRQ_NAME_LEN + 1];

	assert_int_equal(net_spec_cloud_hypervisor_tap(CMDLINE("tap=t0"), name,
						       sizeof(name)),
			 0);
	assert_string_equal(name, "t0");
	assert_int_equal(net_spec_cloud_hypervisor_tap(CMDLINE("fd=3"), name,
						       sizeof(name)),
			 -ENOENT);
	assert_int_equal(net_spec_cloud_hypervisor_tap(CMDLINE("tap=t0,fd=[3"),
						       name, sizeof(name)),
			 -EINVAL);
	assert_int_equal(
		net_spec_cloud_hypervisor_tap(CMDLINE("tap=0123456789abcdefg"),
					      name, sizeof(name)),
		-ENAMETOOLONG);
	assert_int_equal(net_spec_crosvm_tap(CMDLINE("tap-fd=3"), name,
					     sizeof(name)),
			 -ENOENT);
	assert_int_equal(net_spec_crosvm_tap(CMDLINE("tap-name=a\"b"), name,
					     sizeof(name)),
			 -EINVAL);
	assert_int_equal(
		net_spec_crosvm_tap(CMDLINE("tap-name=\"0123456789abcdefg\""),
				    name, sizeof(name)),
		-ENAMETOOLONG);
	assert_int_equal(net_spec_crosvm_tap(CMDLINE("tap-name=t0"), name, 0),
			 -ENAMETOOLONG);
}

static void fdinfo_gives_the_attached_device(void **state)
{
	char name[IRQ_NAME_LEN + 1];

	assert_int_equal(net_devices_parse_fdinfo("pos:\t0\nflags:\t02\n"
						  "iff:\tvnet3\n",
						  name, sizeof(name)),
			 0);
	assert_string_equal(name, "vnet3");
	assert_int_equal(net_devices_parse_fdinfo("pos:\t0\nflags:\t02\n", name,
						  sizeof(name)),
			 -ENOENT);
	assert_int_equal(net_devices_parse_fdinfo("iff:\t..\n", name,
						  sizeof(name)),
			 -EINVAL);
	assert_int_equal(
		net_devices_parse_fdinfo("iff:\tmuch-too-long-a-name\n", name,
					 sizeof(name)),
		-EINVAL);
}

static void counters_start_at_first_sight_and_never_go_back(void **state)
{
	struct guest_net_device device = { .name = "tap0" };
	uint64_t first[NET_COUNTERS] = { 100, 1000, 1, 200, 2000, 2 };
	uint64_t later[NET_COUNTERS] = { 110, 1500, 1, 230, 2600, 5 };
	uint64_t lower[NET_COUNTERS] = { 105, 1500, 1, 230, 2600, 5 };

	net_devices_take(&device, 7, first);
	assert_int_equal(device.ifindex, 7);
	for (int c = 0; c < NET_COUNTERS; c++)
		assert_int_equal(device.counters[c], 0);
	net_devices_take(&device, 7, later);
	assert_int_equal(device.counters[NET_RX_PACKETS], 10);
	assert_int_equal(device.counters[NET_RX_BYTES], 500);
	assert_int_equal(device.counters[NET_TX_DROPPED], 3);
	net_devices_take(&device, 7, lower);
	assert_int_equal(device.counters[NET_RX_PACKETS], 10);
	/* The name recreated as another device: it starts over. */
	device.gone = 1;
	net_devices_take(&device, 9, lower);
	assert_int_equal(device.ifindex, 9);
	assert_int_equal(device.gone, 0);
	assert_int_equal(device.counters[NET_TX_BYTES], 0);
	assert_int_equal(device.base[NET_RX_PACKETS], 105);
}

static void discovery_finds_taps_by_command_line_and_descriptors(void **state)
{
	struct net_state *s = *state;
	struct guest *guest = fixture_guest(s);

	net_devices_discover(&s->tracker, guest);
	/* tap-cmd from the command line (fd 6 names it again), tapfd0 from
	 * fd 3's fdinfo, macvtap0 from /dev/tap7; fd 4 is attached to
	 * nothing, "../../etc" is refused. */
	assert_int_equal(guest->net_count, 3);
	assert_string_equal(guest->net[0].name, "tap-cmd");
	assert_non_null(device_named(guest, "tapfd0"));
	assert_non_null(device_named(guest, "macvtap0"));
	assert_null(device_named(guest, "eth0"));
	for (size_t i = 0; i < guest->net_count; i++) {
		assert_int_equal(guest->net[i].ifindex, 0); /* not read yet */
		assert_int_equal(guest->net[i].gone, 0);
	}
	/* A second pass finds the same, and adds nothing. */
	net_devices_discover(&s->tracker, guest);
	assert_int_equal(guest->net_count, 3);
}

static void a_libvirt_domain_adds_its_interface_targets(void **state)
{
	struct net_state *s = *state;
	struct guest *guest = fixture_guest(s);
	char status_dir[512];

	snprintf(status_dir, sizeof(status_dir), "%s/net/libvirt",
		 fixture_dir());
	s->tracker.libvirt_status_dir = status_dir;
	snprintf(guest->name, sizeof(guest->name), "web-01");
	/* Only a guest libvirt's cgroup named is looked up there. */
	net_devices_discover(&s->tracker, guest);
	assert_null(device_named(guest, "vnet0"));
	guest->claim.source = GUEST_IDENTITY_LIBVIRT;
	net_devices_discover(&s->tracker, guest);
	assert_int_equal(guest->net_count, 5);
	assert_non_null(device_named(guest, "vnet0"));
	assert_non_null(device_named(guest, "tap-eth"));
	assert_null(device_named(guest, "../../etc"));
}

static void a_vanished_vmm_changes_nothing(void **state)
{
	struct net_state *s = *state;
	struct guest *guest = fixture_guest(s);

	net_devices_discover(&s->tracker, guest);
	guest->pid = 424242; /* no such process in the fixture */
	net_devices_discover(&s->tracker, guest);
	assert_int_equal(guest->net_count, 3);
	for (size_t i = 0; i < guest->net_count; i++)
		assert_int_equal(guest->net[i].gone, 0);
}

static void collection_counts_since_first_sight(void **state)
{
	struct net_state *s = *state;
	struct guest *guest = fixture_guest(s);
	const struct guest_net_device *tap;

	net_devices_discover(&s->tracker, guest);
	net_devices_collect(&s->tracker);
	tap = device_named(guest, "tap-cmd");
	assert_int_equal(tap->ifindex, 21);
	assert_int_equal(tap->base[NET_RX_PACKETS], 21001);
	assert_int_equal(tap->base[NET_TX_DROPPED], 21006);
	assert_int_equal(tap->counters[NET_RX_PACKETS], 0);
	assert_int_equal(device_named(guest, "macvtap0")->ifindex, 7);

	set_sys(s, "tap-cmd", "statistics/rx_packets", 21001 + 40);
	set_sys(s, "tap-cmd", "statistics/tx_bytes", 21005 + 4096);
	net_devices_collect(&s->tracker);
	assert_int_equal(tap->counters[NET_RX_PACKETS], 40);
	assert_int_equal(tap->counters[NET_TX_BYTES], 4096);
	assert_int_equal(tap->counters[NET_RX_BYTES], 0);
}

static void
a_deleted_device_keeps_its_totals_and_a_new_one_starts_over(void **state)
{
	struct net_state *s = *state;
	struct guest *guest = fixture_guest(s);
	const struct guest_net_device *tap;

	net_devices_discover(&s->tracker, guest);
	net_devices_collect(&s->tracker);
	set_sys(s, "tapfd0", "statistics/tx_packets", 22004 + 7);
	net_devices_collect(&s->tracker);
	tap = device_named(guest, "tapfd0");
	assert_int_equal(tap->counters[NET_TX_PACKETS], 7);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s/class/net/tapfd0'", s->sys_root);
	assert_int_equal(system(cmd), 0);
	net_devices_collect(&s->tracker);
	assert_int_equal(tap->gone, 1);
	assert_int_equal(tap->counters[NET_TX_PACKETS], 7);
	assert_int_equal(guest->net_count, 3);

	/* Recreated under its name as another device (ifindex 40). */
	snprintf(cmd, sizeof(cmd),
		 "cp -a '%s/class/net/tap-cmd' '%s/class/net/tapfd0'",
		 s->sys_root, s->sys_root);
	assert_int_equal(system(cmd), 0);
	set_sys(s, "tapfd0", "ifindex", 40);
	net_devices_discover(&s->tracker, guest);
	net_devices_collect(&s->tracker);
	assert_int_equal(tap->gone, 0);
	assert_int_equal(tap->ifindex, 40);
	assert_int_equal(tap->counters[NET_TX_PACKETS], 0);
}

static void an_exited_guests_devices_are_gone(void **state)
{
	struct net_state *s = *state;
	struct guest *guest = fixture_guest(s);

	net_devices_discover(&s->tracker, guest);
	net_devices_collect(&s->tracker);
	set_sys(s, "tap-cmd", "statistics/rx_packets", 21001 + 3);
	guest->exited = true;
	net_devices_collect(&s->tracker);
	for (size_t i = 0; i < guest->net_count; i++)
		assert_int_equal(guest->net[i].gone, 1);
	/* Not read after it exited. */
	assert_int_equal(device_named(guest, "tap-cmd")->counters[0], 0);
}

/* Discovery reads a line in the grammar of the guest's VMM. */
static void discovery_reads_the_vmms_own_grammar(void **state)
{
	struct net_state *s = *state;
	struct guest *guest = guest_table_add(&s->tracker.table, 9001, 1);

	assert_non_null(guest);
	guest->vmm = VMM_CLOUD_HYPERVISOR;
	net_devices_discover(&s->tracker, guest);
	/* fd=3 names none, and there is no fd directory to list. */
	assert_int_equal(guest->net_count, 1);
	assert_string_equal(guest->net[0].name, "tap-cmd");
	net_devices_collect(&s->tracker);
	assert_int_equal(guest->net[0].ifindex, 21);
	assert_int_equal(guest->net[0].gone, 0);
	/* Read as QEMU's, the same line names nothing. */
	guest = guest_table_add(&s->tracker.table, 9001, 2);
	assert_non_null(guest);
	guest->vmm = VMM_QEMU;
	net_devices_discover(&s->tracker, guest);
	assert_int_equal(guest->net_count, 0);
}

/* The report's window, then the JSON and the metrics made of it. */
static void outputs_give_the_windows_figures(void **state)
{
	struct net_state *s = *state;
	struct guest *guest = fixture_guest(s);
	struct guest_table before;
	struct report report;
	struct json_object *list, *obj, *value;
	char *text = NULL;
	size_t text_len = 0;
	FILE *out;

	guest->vmm = VMM_QEMU;
	net_devices_discover(&s->tracker, guest);
	net_devices_collect(&s->tracker);
	set_sys(s, "tap-cmd", "statistics/rx_packets", 21001 + 5);
	net_devices_collect(&s->tracker);
	assert_int_equal(guest_table_copy(&before, &s->tracker.table), 0);
	set_sys(s, "tap-cmd", "statistics/rx_packets", 21001 + 12);
	set_sys(s, "tap-cmd", "statistics/tx_dropped", 21006 + 2);
	net_devices_collect(&s->tracker);
	assert_int_equal(report_build(&report, &before, &s->tracker.table,
				      1000000000ULL),
			 0);
	assert_int_equal(report.guests[0].net_count, 3);
	assert_string_equal(report.guests[0].net[0].name, "tap-cmd");
	assert_int_equal(report.guests[0].net[0].counters[NET_RX_PACKETS], 7);
	assert_int_equal(report.guests[0].net[0].counters[NET_TX_DROPPED], 2);

	list = json_net_list(&report.guests[0]);
	assert_int_equal(json_object_array_length(list), 3);
	obj = json_object_array_get_idx(list, 0);
	assert_true(json_object_object_get_ex(obj, "device", &value));
	assert_string_equal(json_object_get_string(value), "tap-cmd");
	assert_true(json_object_object_get_ex(obj, "ifindex", &value));
	assert_int_equal(json_object_get_int(value), 21);
	assert_true(json_object_object_get_ex(obj, "rx_packets", &value));
	assert_int_equal(json_object_get_uint64(value), 7);
	assert_true(json_object_object_get_ex(obj, "tx_dropped", &value));
	assert_int_equal(json_object_get_uint64(value), 2);
	json_object_put(list);

	out = open_memstream(&text, &text_len);
	assert_non_null(out);
	prometheus_net_write(out, &s->tracker.table);
	fclose(out);
	assert_non_null(strstr(text, "# TYPE kvmwarden_guest_net_receive_"
				     "packets_total counter\n"));
	assert_non_null(strstr(text,
			       "kvmwarden_guest_net_receive_packets_total"
			       "{guest=\"netg\",vmm=\"qemu\",pid=\"9000\","
			       "device=\"tap-cmd\"} 12\n"));
	assert_non_null(strstr(text,
			       "kvmwarden_guest_net_transmit_drops_total"
			       "{guest=\"netg\",vmm=\"qemu\",pid=\"9000\","
			       "device=\"tap-cmd\"} 2\n"));
	free(text);
	report_free(&report);
	guest_table_free(&before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names_are_checked_like_the_kernel),
		cmocka_unit_test(command_lines_name_their_taps),
		cmocka_unit_test(qemu_json_netdevs_name_their_taps),
		cmocka_unit_test(cloud_hypervisor_lines_name_their_taps),
		cmocka_unit_test(crosvm_lines_name_their_taps),
		cmocka_unit_test(each_vmm_is_read_in_its_own_grammar),
		cmocka_unit_test(specs_say_why_they_name_nothing),
		cmocka_unit_test(fdinfo_gives_the_attached_device),
		cmocka_unit_test(
			counters_start_at_first_sight_and_never_go_back),
		cmocka_unit_test_setup_teardown(
			discovery_finds_taps_by_command_line_and_descriptors,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			discovery_reads_the_vmms_own_grammar, setup, teardown),
		cmocka_unit_test_setup_teardown(
			a_libvirt_domain_adds_its_interface_targets, setup,
			teardown),
		cmocka_unit_test_setup_teardown(a_vanished_vmm_changes_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			collection_counts_since_first_sight, setup, teardown),
		cmocka_unit_test_setup_teardown(
			a_deleted_device_keeps_its_totals_and_a_new_one_starts_over,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			an_exited_guests_devices_are_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(
			outputs_give_the_windows_figures, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
