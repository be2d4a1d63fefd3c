// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the enforcement configuration means once read: its defaults, which
 * cgroup paths it lets kvmwarden write and who manages them, and which
 * budget and class a guest gets. Pure: the keys' parsing is
 * enforce_keys.c's, and nothing here touches a file.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "config/enforce_config.h"
#include "model/guest_claim.h"
#include "model/libvirt_cgroup.h"
#include "model/vmm_identity.h"

static const char *const default_classes[] = { "high", "normal", "low" };

void enforce_config_defaults(struct enforce_config *enforce)
{
	memset(enforce, 0, sizeof(*enforce));
	for (size_t i = 0; i < 3; i++)
		snprintf(enforce->classes[i], ENFORCE_NAME_LEN, "%s",
			 default_classes[i]);
	enforce->class_count = 3;
	snprintf(enforce->default_class, ENFORCE_NAME_LEN, "normal");
	enforce->min_quota_percent = 5;
	enforce->quota_step_percent = 50;
	enforce->hysteresis_percent = 50;
	enforce->cooldown_ms = 5000;
	enforce->min_io_iops = 10;
	snprintf(enforce->state_file, ENFORCE_PATH_LEN,
		 "/var/lib/kvmwarden/state");
	snprintf(enforce->audit_log, ENFORCE_PATH_LEN,
		 "/var/log/kvmwarden/audit.jsonl");
	enforce->trusted_vmm_uids[0] = 0; /* root */
	enforce->trusted_vmm_uid_count = 1;
}

/* A cgroup path we may later join to a mount point: absolute, no empty,
 * "." or ".." component, no control character, and not the root itself (writing the root
 * cgroup's limits is never ours to do). */
bool enforce_config_path_valid(const char *path)
{
	const char *part = path;

	if (path[0] != '/' || !path[1])
		return false;
	/* A newline in a path would forge log and audit lines. */
	for (const char *c = path; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return false;
	while (*part == '/') {
		const char *end = strchrnul(part + 1, '/');
		size_t len = (size_t)(end - part - 1);

		if (len == 0 || (len == 1 && part[1] == '.') ||
		    (len == 2 && part[1] == '.' && part[2] == '.'))
			return false;
		part = end;
	}
	return true;
}

int enforce_config_class_index(const struct enforce_config *enforce,
			       const char *name)
{
	for (size_t i = 0; i < enforce->class_count; i++)
		if (!strcmp(enforce->classes[i], name))
			return (int)i;
	return -1;
}

bool enforce_config_path_under(const char *path, const char *root)
{
	size_t len = strlen(root);

	return !strncmp(path, root, len) &&
	       (path[len] == '\0' || path[len] == '/');
}

bool enforce_config_path_allowed(const struct enforce_config *enforce,
				 const char *path)
{
	if (!enforce_config_path_valid(path))
		return false;
	for (size_t i = 0; i < enforce->root_count; i++)
		if (enforce_config_path_under(path, enforce->roots[i]))
			return true;
	return false;
}

static bool has_unit_component(const char *path)
{
	static const char *const suffixes[] = { ".service", ".scope",
						".slice" };
	const char *part = path;

	while (*part == '/') {
		const char *end = strchrnul(part + 1, '/');
		size_t len = (size_t)(end - part - 1);

		for (size_t i = 0; i < 3; i++) {
			size_t suffix_len = strlen(suffixes[i]);

			if (len > suffix_len &&
			    !strncmp(end - suffix_len, suffixes[i], suffix_len))
				return true;
		}
		part = end;
	}
	return false;
}

const char *enforce_config_path_manager(const char *path)
{
	char name[PROCFS_NAME_LEN];

	if (libvirt_cgroup_name(path, name, sizeof(name)) != -ENOENT)
		return "libvirt";
	if (has_unit_component(path))
		return "systemd";
	return NULL;
}

bool enforce_config_path_is_unit(const char *path)
{
	const char *last;

	if (!enforce_config_path_valid(path))
		return false;
	last = strrchr(path, '/');
	return has_unit_component(last);
}

bool enforce_config_path_writable(const struct enforce_config *enforce,
				  const char *path)
{
	return enforce_config_path_allowed(enforce, path) &&
	       (enforce->write_managed_cgroups ||
		!enforce_config_path_manager(path));
}

const struct budget *
enforce_config_budget_for(const struct enforce_config *enforce,
			  const char *name, const char *uuid)
{
	for (size_t i = 0; i < enforce->budget_count; i++) {
		const struct budget *budget = &enforce->budgets[i];

		if ((uuid && uuid[0] && !strcasecmp(budget->match, uuid)) ||
		    (name && !fnmatch(budget->match, name, 0)))
			return budget;
	}
	return NULL;
}

int enforce_config_class_rank(const struct enforce_config *enforce,
			      const char *name, const char *uuid)
{
	const struct budget *budget =
		enforce_config_budget_for(enforce, name, uuid);

	if (budget && budget->class_rank >= 0)
		return budget->class_rank;
	return enforce_config_class_index(enforce, enforce->default_class);
}

bool enforce_config_claim_trusted(const struct enforce_config *enforce,
				  const struct guest_claim *claim)
{
	if (claim->clash)
		return false;
	if (claim->source != GUEST_IDENTITY_SELF)
		return true;
	if (enforce->trust_self_declared)
		return true;
	for (size_t i = 0;
	     claim->uid_known && i < enforce->trusted_vmm_uid_count; i++)
		if (enforce->trusted_vmm_uids[i] == claim->uid)
			return true;
	return false;
}

const struct budget *
enforce_config_budget_for_claim(const struct enforce_config *enforce,
				const char *name, const char *uuid,
				const struct guest_claim *claim)
{
	if (!enforce_config_claim_trusted(enforce, claim))
		return NULL;
	return enforce_config_budget_for(enforce, name, uuid);
}

int enforce_config_class_rank_claim(const struct enforce_config *enforce,
				    const char *name, const char *uuid,
				    const struct guest_claim *claim)
{
	if (!enforce_config_claim_trusted(enforce, claim))
		return enforce_config_class_index(enforce,
						  enforce->default_class);
	return enforce_config_class_rank(enforce, name, uuid);
}

bool enforce_config_steerable(const struct enforce_config *enforce, bool irq,
			      const char *name)
{
	const struct steering_config *s = &enforce->steering;
	size_t count = irq ? s->irq_count : s->device_count;

	if (!name[0])
		return false;
	for (size_t i = 0; i < count; i++)
		if (!fnmatch(irq ? s->irqs[i] : s->devices[i], name, 0))
			return true;
	return false;
}

bool enforce_config_has_hidden_budget(const struct enforce_config *enforce)
{
	for (size_t i = 0; i < enforce->budget_count; i++)
		if (enforce->budgets[i].max_hidden_steal_percent)
			return true;
	return false;
}
