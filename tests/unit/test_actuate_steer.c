// SPDX-License-Identifier: GPL-2.0-only
/* Steering's files and masks (actuate_steer.h): only paths of the two
 * shapes are entries, masks keep the kernel's layout, and no target is
 * ever left without a CPU. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "actuate/actuate_steer.h"

static void only_steering_paths_are_entries(void **state)
{
	assert_true(
		steer_is_entry("/sys/class/net/veth0/queues/rx-0/rps_cpus"));
	assert_true(steer_is_entry("/proc/irq/24/smp_affinity_list"));
	assert_false(steer_is_entry("/sys/class/net/../queues/rx-0/rps_cpus"));
	assert_false(steer_is_entry("/sys/class/net/a/b/queues/rx-0/rps_cpus"));
	assert_false(
		steer_is_entry("/sys/class/net/veth0/queues/tx-0/xps_cpus"));
	assert_false(
		steer_is_entry("/sys/class/net/veth0/queues/rx-x/rps_cpus"));
	assert_false(steer_is_entry("/proc/irq/24/../smp_affinity_list"));
	assert_false(steer_is_entry("/proc/irq/default_smp_affinity"));
	assert_false(steer_is_entry("/sys/fs/cgroup/a/cpu.max"));
	assert_int_equal(steer_entry_write("/etc/passwd", "x"), -EINVAL);
	assert_false(steer_name_valid(".."));
	assert_false(steer_name_valid("a/b"));
	assert_false(steer_name_valid(""));
	assert_true(steer_name_valid("veth-kvmw0"));
}

static void hex_masks_keep_their_layout(void **state)
{
	struct cpu_mask mask;
	char text[64];

	assert_int_equal(steer_hex_parse("00000000,00000002", &mask), 0);
	assert_true(cpu_mask_has(&mask, 1));
	assert_false(cpu_mask_has(&mask, 0));
	memset(&mask, 0, sizeof(mask));
	cpu_mask_add(&mask, 0);
	cpu_mask_add(&mask, 33);
	assert_int_equal(steer_hex_format(&mask, "00000000,00000002", text,
					  sizeof(text)),
			 0);
	assert_string_equal(text, "00000002,00000001");
	memset(&mask, 0, sizeof(mask));
	cpu_mask_add(&mask, 0);
	assert_int_equal(steer_hex_format(&mask, "2", text, sizeof(text)), 0);
	assert_string_equal(text, "1");
	/* A CPU the layout has no digit for is refused, not dropped. */
	cpu_mask_add(&mask, 4);
	assert_int_equal(steer_hex_format(&mask, "2", text, sizeof(text)),
			 -ERANGE);
	assert_int_equal(steer_hex_parse("zz", &mask), -EINVAL);
	assert_int_equal(steer_hex_parse("", &mask), -EINVAL);
}

static struct cpu_mask cpus(const char *list)
{
	struct cpu_mask mask;

	memset(&mask, 0, sizeof(mask));
	if (list[0])
		assert_int_equal(affinity_parse(list, &mask), 0);
	return mask;
}

static void masks_never_end_empty(void **state)
{
	struct cpu_mask online = cpus("0-3"), next;
	char text[64];

	/* Off the protected CPUs, the rest of the original kept. */
	struct cpu_mask from = cpus("1-2"), protect = cpus("1");

	assert_int_equal(steer_mask_next(&from, &protect, &online, &next), 0);
	assert_int_equal(affinity_format(&next, text, sizeof(text)), 0);
	assert_string_equal(text, "2");
	/* Only protected CPUs in it: every other online one instead. */
	from = cpus("1");
	assert_int_equal(steer_mask_next(&from, &protect, &online, &next), 0);
	assert_int_equal(affinity_format(&next, text, sizeof(text)), 0);
	assert_string_equal(text, "0,2-3");
	/* rps_cpus 0 (no steering): the same. */
	from = cpus("");
	assert_int_equal(steer_mask_next(&from, &protect, &online, &next), 0);
	/* Every online CPU protected: refused, never an empty mask. */
	protect = cpus("0-3");
	assert_int_equal(steer_mask_next(&from, &protect, &online, &next),
			 -ENOSPC);
}

/* The first IRQ of this machine's /proc/irq with an action directory:
 * its number and the action's name; false when it has none. Read only. */
static bool real_irq_action(char *number, size_t number_size, char *action,
			    size_t action_size)
{
	DIR *irqs = opendir(STEER_IRQ_ROOT), *actions;
	struct dirent *irq, *entry;
	char dir[300];
	bool found = false;

	while (irqs && !found && (irq = readdir(irqs))) {
		if (irq->d_name[0] < '0' || irq->d_name[0] > '9')
			continue;
		snprintf(dir, sizeof(dir), STEER_IRQ_ROOT "/%s", irq->d_name);
		actions = opendir(dir);
		while (actions && !found && (entry = readdir(actions))) {
			if (entry->d_type != DT_DIR || entry->d_name[0] == '.' ||
			    !steer_name_valid(entry->d_name))
				continue;
			snprintf(number, number_size, "%s", irq->d_name);
			snprintf(action, action_size, "%s", entry->d_name);
			found = true;
		}
		if (actions)
			closedir(actions);
	}
	if (irqs)
		closedir(irqs);
	return found;
}

/* An IRQ file is the journal entry's only while an action of the name the
 * entry was made for is on it: a number handed to another device is not. */
static void irq_files_are_owned_by_their_action(void **state)
{
	char number[256], action[256], file[320], owner[300];

	assert_true(steer_entry_owned(
		"/sys/class/net/veth0/queues/rx-0/rps_cpus", "net:veth0"));
	assert_false(steer_entry_owned("/etc/passwd", "irq:x"));
	assert_false(steer_entry_owned("/proc/irq/24/smp_affinity_list",
				       "net:veth0"));
	assert_false(steer_entry_owned("/proc/irq/24/smp_affinity_list",
				       "irq:../24"));
	assert_false(
		steer_entry_owned("/proc/irq/24/smp_affinity_list", "irq:"));
	if (!real_irq_action(number, sizeof(number), action, sizeof(action)))
		skip(); /* no IRQ here has an action to check against */
	snprintf(file, sizeof(file), STEER_IRQ_ROOT "/%s/smp_affinity_list",
		 number);
	snprintf(owner, sizeof(owner), "irq:%s", action);
	assert_true(steer_entry_owned(file, owner));
	assert_false(steer_entry_owned(file, "irq:kvmwarden-no-such-action"));
	snprintf(file, sizeof(file),
		 STEER_IRQ_ROOT "/999999/smp_affinity_list");
	assert_false(steer_entry_owned(file, owner));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(only_steering_paths_are_entries),
		cmocka_unit_test(hex_masks_keep_their_layout),
		cmocka_unit_test(masks_never_end_empty),
		cmocka_unit_test(irq_files_are_owned_by_their_action),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
