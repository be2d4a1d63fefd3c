// SPDX-License-Identifier: GPL-2.0-only
/*
 * rps_cpus and smp_affinity_list (actuate_steer.h): finding them by a
 * device's or an IRQ action's name, reading and writing them, and the
 * masks' text. No policy here, nor journaling (enforce_steer.c's).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actuate/actuate_steer.h"
#include "actuate/value_file.h"
#include "irq.h"

bool steer_name_valid(const char *name)
{
	if (!name[0] || strlen(name) >= 64 || !strcmp(name, ".") ||
	    !strcmp(name, ".."))
		return false;
	for (const char *c = name; *c; c++)
		if (*c == '/' || (unsigned char)*c < 0x20 || *c == 0x7f)
			return false;
	return true;
}

static bool all_digits(const char *text, size_t len)
{
	if (!len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isdigit((unsigned char)text[i]))
			return false;
	return true;
}

/* /sys/class/net/DEV/queues/rx-N/rps_cpus, DEV one valid component. */
static bool is_rps_file(const char *file)
{
	const char *dev = file + strlen(STEER_NET_ROOT "/"), *end, *queue;
	char name[64];

	if (strncmp(file, STEER_NET_ROOT "/", strlen(STEER_NET_ROOT "/")))
		return false;
	end = strchr(dev, '/');
	if (!end || (size_t)(end - dev) >= sizeof(name))
		return false;
	memcpy(name, dev, (size_t)(end - dev));
	name[end - dev] = '\0';
	if (!steer_name_valid(name) || strncmp(end, "/queues/rx-", 11))
		return false;
	queue = end + 11;
	end = strchr(queue, '/');
	return end && all_digits(queue, (size_t)(end - queue)) &&
	       !strcmp(end, "/rps_cpus");
}

/* /proc/irq/N/smp_affinity_list. */
static bool is_irq_file(const char *file)
{
	const char *number = file + strlen(STEER_IRQ_ROOT "/"), *end;

	if (strncmp(file, STEER_IRQ_ROOT "/", strlen(STEER_IRQ_ROOT "/")))
		return false;
	end = strchr(number, '/');
	return end && all_digits(number, (size_t)(end - number)) &&
	       !strcmp(end, "/smp_affinity_list");
}

bool steer_is_entry(const char *file)
{
	return is_rps_file(file) || is_irq_file(file);
}

int steer_entry_read(const char *file, char *value, size_t size)
{
	if (!steer_is_entry(file))
		return -EINVAL;
	return value_file_read(file, value, size);
}

int steer_entry_write(const char *file, const char *value)
{
	int err;

	if (!steer_is_entry(file))
		return -EINVAL;
	err = value_file_write(file, value);
	/* The kernel says EIO for an IRQ whose affinity it manages (or
	 * that no CPU in the mask can serve): nothing changed. */
	if (err == -EIO && is_irq_file(file))
		return -EOPNOTSUPP;
	return err ? err : value_file_check(file, value);
}

int steer_device_files(const char *name, char files[][STEER_FILE_LEN], int max)
{
	char dir[128]; /* names are shorter than 64 */
	struct dirent *entry;
	int count = 0;
	DIR *queues;

	if (!steer_name_valid(name))
		return -EINVAL;
	snprintf(dir, sizeof(dir), STEER_NET_ROOT "/%s/queues", name);
	queues = opendir(dir);
	if (!queues)
		return -errno;
	while ((entry = readdir(queues)) && count < max) {
		if (strncmp(entry->d_name, "rx-", 3) ||
		    !all_digits(entry->d_name + 3, strlen(entry->d_name + 3)))
			continue;
		snprintf(files[count], STEER_FILE_LEN, "%s/%.64s/rps_cpus", dir,
			 entry->d_name);
		/* A kernel without CONFIG_RPS has the queue, not the file. */
		if (!access(files[count], F_OK))
			count++;
	}
	closedir(queues);
	return count;
}

/* Whether IRQ directory `dir` holds an action named `name`: a
 * subdirectory of that name, or one it begins when `name` is as long as
 * the BPF side keeps (IRQ_NAME_LEN - 1: it was cut there). */
static bool has_action(const char *dir, const char *name)
{
	size_t len = strlen(name);
	struct dirent *entry;
	bool found = false;
	DIR *actions = opendir(dir);

	if (!actions)
		return false;
	while (!found && (entry = readdir(actions)))
		found = entry->d_type == DT_DIR &&
			(!strcmp(entry->d_name, name) ||
			 (len >= IRQ_NAME_LEN - 1 &&
			  !strncmp(entry->d_name, name, len)));
	closedir(actions);
	return found;
}

bool steer_entry_owned(const char *file, const char *owner)
{
	char dir[64];
	const char *slash;

	if (!is_irq_file(file))
		return steer_is_entry(file);
	if (strncmp(owner, "irq:", 4) || !steer_name_valid(owner + 4))
		return false;
	slash = strrchr(file, '/');
	if ((size_t)(slash - file) >= sizeof(dir))
		return false;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - file), file);
	return has_action(dir, owner + 4);
}

int steer_irq_files(const char *name, char files[][STEER_FILE_LEN], int max)
{
	char dir[64]; /* /proc/irq/ and a number */
	struct dirent *entry;
	int count = 0;
	DIR *irqs;

	if (!steer_name_valid(name))
		return -EINVAL;
	irqs = opendir(STEER_IRQ_ROOT);
	if (!irqs)
		return -errno;
	while ((entry = readdir(irqs)) && count < max) {
		if (!all_digits(entry->d_name, strlen(entry->d_name)))
			continue;
		snprintf(dir, sizeof(dir), STEER_IRQ_ROOT "/%.20s",
			 entry->d_name);
		if (!has_action(dir, name))
			continue;
		snprintf(files[count++], STEER_FILE_LEN, "%s/smp_affinity_list",
			 dir);
	}
	closedir(irqs);
	return count;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int steer_hex_parse(const char *text, struct cpu_mask *mask)
{
	int bit = 0;

	memset(mask, 0, sizeof(*mask));
	if (!text[0])
		return -EINVAL;
	for (size_t i = strlen(text); i-- > 0;) {
		int digit;

		if (text[i] == ',')
			continue;
		digit = hex_value(text[i]);
		if (digit < 0)
			return -EINVAL;
		for (int b = 0; b < 4; b++, bit++)
			if (digit >> b & 1) {
				if (bit >= AFFINITY_MAX_CPUS)
					return -ERANGE;
				cpu_mask_add(mask, bit);
			}
	}
	return 0;
}

int steer_hex_format(const struct cpu_mask *mask, const char *like, char *text,
		     size_t size)
{
	size_t len = strlen(like);
	int bit = 0;

	if (!len || len >= size)
		return -EINVAL;
	text[len] = '\0';
	for (size_t i = len; i-- > 0;) {
		int digit = 0;

		if (like[i] == ',') {
			text[i] = ',';
			continue;
		}
		for (int b = 0; b < 4; b++, bit++)
			if (bit < AFFINITY_MAX_CPUS && cpu_mask_has(mask, bit))
				digit |= 1 << b;
		text[i] = "0123456789abcdef"[digit];
	}
	/* A CPU past the digits `like` has would be lost. */
	for (; bit < AFFINITY_MAX_CPUS; bit++)
		if (cpu_mask_has(mask, bit))
			return -ERANGE;
	return 0;
}

int steer_mask_next(const struct cpu_mask *from,
		    const struct cpu_mask *protected_cpus,
		    const struct cpu_mask *online, struct cpu_mask *next)
{
	bool any = false;

	for (size_t w = 0; w < AFFINITY_MAX_CPUS / 64; w++) {
		next->bits[w] = from->bits[w] & online->bits[w] &
				~protected_cpus->bits[w];
		any |= next->bits[w] != 0;
	}
	if (any)
		return 0;
	for (size_t w = 0; w < AFFINITY_MAX_CPUS / 64; w++) {
		next->bits[w] = online->bits[w] & ~protected_cpus->bits[w];
		any |= next->bits[w] != 0;
	}
	return any ? 0 : -ENOSPC;
}
