// SPDX-License-Identifier: GPL-2.0-only
/*
 * The enforcement keys of kvmwarden.conf: budgets, classes, roots, the
 * controller's tuning, the state and audit files. Every rejection names the
 * line and the key, like config.c's, whose helpers it uses. Paths here are
 * cgroup paths as /proc/PID/cgroup shows them; turning them into files is
 * actuate_cgroup.c's job.
 */
#include <errno.h>
#include <fnmatch.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/enforce_config.h"
#include "model/guest_claim.h"
#include "model/libvirt_cgroup.h"

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

static size_t line_of(yaml_node_t *node)
{
	return node ? node->start_mark.line + 1 : 0;
}

/* A cgroup path we may later join to a mount point: absolute, no empty,
 * "." or ".." component, no control character, and not the root itself (writing the root
 * cgroup's limits is never ours to do). */
static bool valid_cgroup_path(const char *path)
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

static void parse_path_list(struct config_problems *p, yaml_document_t *doc,
			    yaml_node_t *node, const char *key,
			    char out[][ENFORCE_PATH_LEN], size_t *count)
{
	yaml_node_item_t *item;

	*count = 0;
	if (node->type != YAML_SEQUENCE_NODE) {
		config_complain(p, line_of(node), key,
				"expected a list of cgroup paths");
		return;
	}
	for (item = node->data.sequence.items.start;
	     item < node->data.sequence.items.top; item++) {
		yaml_node_t *entry = yaml_document_get_node(doc, *item);
		char path[ENFORCE_PATH_LEN] = "";
		int before = p->count;

		if (*count == ENFORCE_MAX_ROOTS) {
			config_complain(p, line_of(entry), key,
					"at most %d entries",
					ENFORCE_MAX_ROOTS);
			return;
		}
		config_parse_string(p, entry, key, path, sizeof(path));
		if (p->count != before)
			continue;
		/* A trailing slash would defeat the prefix match. */
		if (strlen(path) > 1 && path[strlen(path) - 1] == '/')
			path[strlen(path) - 1] = '\0';
		if (!valid_cgroup_path(path)) {
			config_complain(p, line_of(entry), key,
					"'%s' is not a cgroup path below the "
					"root (absolute, no '.' or '..', not "
					"'/' itself)",
					path);
			continue;
		}
		snprintf(out[(*count)++], ENFORCE_PATH_LEN, "%s", path);
	}
}

static void parse_throttle(struct config_problems *p, yaml_document_t *doc,
			   yaml_node_t *node, struct budget *budget)
{
	yaml_node_pair_t *pair;

	if (node->type != YAML_MAPPING_NODE) {
		config_complain(p, line_of(node), "throttle",
				"expected a mapping (guests_of_lower_class, "
				"cgroup_roots)");
		return;
	}
	for (pair = node->data.mapping.pairs.start;
	     pair < node->data.mapping.pairs.top; pair++) {
		yaml_node_t *key_node = yaml_document_get_node(doc, pair->key);
		yaml_node_t *value = yaml_document_get_node(doc, pair->value);
		const char *key = config_scalar(key_node);

		if (!key || !value)
			config_complain(p, line_of(key_node), "throttle",
					"keys must be plain names");
		else if (!strcmp(key, "guests_of_lower_class"))
			config_parse_bool(p, value,
					  "throttle.guests_of_lower_class",
					  &budget->throttle_lower_class_guests);
		else if (!strcmp(key, "cgroup_roots"))
			parse_path_list(p, doc, value, "throttle.cgroup_roots",
					budget->throttle_roots,
					&budget->throttle_root_count);
		else
			config_complain(p, line_of(key_node), key,
					"unknown key in throttle");
	}
}

/* A duration in ms with up to three decimals ("0.05"), kept in µs. */
static int parse_ms_as_us(struct config_problems *p, yaml_node_t *node,
			  const char *key, uint32_t *us)
{
	const char *text = config_scalar(node);
	char *end = NULL;
	double ms = text ? strtod(text, &end) : 0;

	if (!text || end == text || *end || !(ms >= 0.001 && ms <= 60000)) {
		config_complain(p, line_of(node), key,
				"expected milliseconds from 0.001 to 60000, "
				"got '%s'",
				text ? text : "(not a scalar)");
		return -EINVAL;
	}
	*us = (uint32_t)(ms * 1000 + 0.5);
	return 0;
}

static void parse_budget(struct config_problems *p, yaml_document_t *doc,
			 yaml_node_t *node, struct budget *budget)
{
	yaml_node_pair_t *pair;
	bool has_limit = false;

	memset(budget, 0, sizeof(*budget));
	budget->line = line_of(node);
	budget->class_rank = -1;
	if (node->type != YAML_MAPPING_NODE) {
		config_complain(p, line_of(node), "budgets",
				"each budget must be a mapping (match, "
				"class, max_steal_percent, ...)");
		return;
	}
	for (pair = node->data.mapping.pairs.start;
	     pair < node->data.mapping.pairs.top; pair++) {
		yaml_node_t *key_node = yaml_document_get_node(doc, pair->key);
		yaml_node_t *value = yaml_document_get_node(doc, pair->value);
		const char *key = config_scalar(key_node);

		if (!key || !value) {
			config_complain(p, line_of(key_node), "budgets",
					"keys must be plain names");
		} else if (!strcmp(key, "match")) {
			config_parse_string(p, value, key, budget->match,
					    sizeof(budget->match));
		} else if (!strcmp(key, "class")) {
			config_parse_string(p, value, key, budget->class_name,
					    sizeof(budget->class_name));
		} else if (!strcmp(key, "max_steal_percent")) {
			if (!config_parse_u32(p, value, key, 1, 100,
					      &budget->max_steal_percent))
				has_limit = true;
		} else if (!strcmp(key, "max_wait_p99_ms")) {
			if (!config_parse_u32(p, value, key, 1, 60000,
					      &budget->max_wait_p99_ms))
				has_limit = true;
		} else if (!strcmp(key, "max_io_queue_p99_ms")) {
			if (!parse_ms_as_us(p, value, key,
					    &budget->max_io_queue_p99_us))
				has_limit = true;
		} else if (!strcmp(key, "io_weight")) {
			config_parse_u32(p, value, key, 1, 10000,
					 &budget->io_weight);
		} else if (!strcmp(key, "cpu_weight")) {
			config_parse_u32(p, value, key, 1, 10000,
					 &budget->cpu_weight);
		} else if (!strcmp(key, "throttle")) {
			parse_throttle(p, doc, value, budget);
		} else {
			config_complain(p, line_of(key_node), key,
					"unknown key in a budget");
		}
	}
	if (!budget->match[0])
		config_complain(p, budget->line, "match",
				"every budget needs a match (name glob or "
				"UUID)");
	if (!budget->class_name[0])
		config_complain(p, budget->line, "class",
				"every budget needs a class");
	if (!has_limit && budget->match[0])
		config_complain(p, budget->line, "max_steal_percent",
				"budget '%s' sets none of max_steal_percent, "
				"max_wait_p99_ms, max_io_queue_p99_ms",
				budget->match);
}

static void parse_budgets(struct config_problems *p, yaml_document_t *doc,
			  yaml_node_t *node, struct enforce_config *enforce)
{
	yaml_node_item_t *item;

	enforce->budget_count = 0;
	if (node->type != YAML_SEQUENCE_NODE) {
		config_complain(p, line_of(node), "budgets",
				"expected a list of budgets");
		return;
	}
	for (item = node->data.sequence.items.start;
	     item < node->data.sequence.items.top; item++) {
		yaml_node_t *entry = yaml_document_get_node(doc, *item);

		if (enforce->budget_count == ENFORCE_MAX_BUDGETS) {
			config_complain(p, line_of(entry), "budgets",
					"at most %d budgets",
					ENFORCE_MAX_BUDGETS);
			return;
		}
		parse_budget(p, doc, entry,
			     &enforce->budgets[enforce->budget_count++]);
	}
}

static void parse_classes(struct config_problems *p, yaml_document_t *doc,
			  yaml_node_t *node, struct enforce_config *enforce)
{
	yaml_node_item_t *item;

	enforce->class_count = 0;
	if (node->type != YAML_SEQUENCE_NODE) {
		config_complain(p, line_of(node), "classes",
				"expected a list of class names, most "
				"important first");
		return;
	}
	for (item = node->data.sequence.items.start;
	     item < node->data.sequence.items.top; item++) {
		yaml_node_t *entry = yaml_document_get_node(doc, *item);
		char name[ENFORCE_NAME_LEN] = "";
		int before = p->count;

		if (enforce->class_count == ENFORCE_MAX_CLASSES) {
			config_complain(p, line_of(entry), "classes",
					"at most %d classes",
					ENFORCE_MAX_CLASSES);
			return;
		}
		config_parse_string(p, entry, "classes", name, sizeof(name));
		if (p->count != before)
			continue;
		for (size_t i = 0; i < enforce->class_count; i++)
			if (!strcmp(enforce->classes[i], name))
				config_complain(p, line_of(entry), "classes",
						"'%s' is listed twice", name);
		snprintf(enforce->classes[enforce->class_count++],
			 ENFORCE_NAME_LEN, "%s", name);
	}
	if (!enforce->class_count)
		config_complain(p, line_of(node), "classes",
				"at least one class is needed");
}

static void parse_cgroup_guests(struct config_problems *p, yaml_document_t *doc,
				yaml_node_t *node,
				struct enforce_config *enforce)
{
	yaml_node_item_t *item;

	enforce->cgroup_guest_count = 0;
	if (node->type != YAML_SEQUENCE_NODE) {
		config_complain(p, line_of(node), "cgroup_guests",
				"expected a list of {name, cgroup}");
		return;
	}
	for (item = node->data.sequence.items.start;
	     item < node->data.sequence.items.top; item++) {
		yaml_node_t *entry = yaml_document_get_node(doc, *item);
		struct cgroup_guest *guest;
		yaml_node_pair_t *pair;

		if (enforce->cgroup_guest_count == ENFORCE_MAX_CGROUP_GUESTS) {
			config_complain(p, line_of(entry), "cgroup_guests",
					"at most %d entries",
					ENFORCE_MAX_CGROUP_GUESTS);
			return;
		}
		guest = &enforce->cgroup_guests[enforce->cgroup_guest_count++];
		memset(guest, 0, sizeof(*guest));
		if (entry->type != YAML_MAPPING_NODE) {
			config_complain(p, line_of(entry), "cgroup_guests",
					"each entry must be a mapping (name, "
					"cgroup)");
			continue;
		}
		for (pair = entry->data.mapping.pairs.start;
		     pair < entry->data.mapping.pairs.top; pair++) {
			yaml_node_t *key_node =
				yaml_document_get_node(doc, pair->key);
			yaml_node_t *value =
				yaml_document_get_node(doc, pair->value);
			const char *key = config_scalar(key_node);

			if (key && value && !strcmp(key, "name"))
				config_parse_string(p, value, key, guest->name,
						    sizeof(guest->name));
			else if (key && value && !strcmp(key, "cgroup"))
				config_parse_string(p, value, key,
						    guest->cgroup,
						    sizeof(guest->cgroup));
			else
				config_complain(
					p, line_of(key_node),
					key ? key : "cgroup_guests",
					"unknown key in a cgroup guest");
		}
		if (!guest->name[0] || !valid_cgroup_path(guest->cgroup))
			config_complain(p, line_of(entry), "cgroup_guests",
					"each entry needs a name and a cgroup "
					"path below the root");
	}
}

/* A user name, or a number: the uid a VMM runs as. */
static int resolve_user(const char *text, uint32_t *uid)
{
	struct passwd entry, *found = NULL;
	char buf[4096], *end;
	unsigned long number;

	if (getpwnam_r(text, &entry, buf, sizeof(buf), &found) == 0 && found) {
		*uid = (uint32_t)found->pw_uid;
		return 0;
	}
	errno = 0;
	number = strtoul(text, &end, 10);
	if (errno || end == text || *end || text[0] == '-' ||
	    number >= (uint32_t)-1)
		return -ENOENT;
	*uid = (uint32_t)number;
	return 0;
}

static void parse_trusted_users(struct config_problems *p, yaml_document_t *doc,
				yaml_node_t *node,
				struct enforce_config *enforce)
{
	const char *key = "trusted_vmm_users";
	yaml_node_item_t *item;

	enforce->trusted_vmm_uid_count = 0;
	enforce->trusted_vmm_users_line = line_of(node);
	if (node->type != YAML_SEQUENCE_NODE) {
		config_complain(p, line_of(node), key,
				"expected a list of user names or uids");
		return;
	}
	for (item = node->data.sequence.items.start;
	     item < node->data.sequence.items.top; item++) {
		yaml_node_t *entry = yaml_document_get_node(doc, *item);
		char name[64] = "";
		int before = p->count;
		uint32_t uid;

		if (enforce->trusted_vmm_uid_count ==
		    ENFORCE_MAX_TRUSTED_USERS) {
			config_complain(p, line_of(entry), key,
					"at most %d entries",
					ENFORCE_MAX_TRUSTED_USERS);
			return;
		}
		config_parse_string(p, entry, key, name, sizeof(name));
		if (p->count != before)
			continue;
		if (resolve_user(name, &uid)) {
			config_complain(p, line_of(entry), key,
					"no user named '%s'", name);
			continue;
		}
		enforce->trusted_vmm_uids[enforce->trusted_vmm_uid_count++] =
			uid;
	}
}

bool enforce_config_parse_key(struct config_problems *p, yaml_document_t *doc,
			      const char *key, yaml_node_t *value,
			      struct enforce_config *enforce)
{
	if (!strcmp(key, "budgets"))
		parse_budgets(p, doc, value, enforce);
	else if (!strcmp(key, "classes"))
		parse_classes(p, doc, value, enforce);
	else if (!strcmp(key, "default_class")) {
		config_parse_string(p, value, key, enforce->default_class,
				    sizeof(enforce->default_class));
		enforce->default_class_line = line_of(value);
	} else if (!strcmp(key, "roots")) {
		parse_path_list(p, doc, value, key, enforce->roots,
				&enforce->root_count);
		enforce->roots_line = line_of(value);
	} else if (!strcmp(key, "cgroup_guests"))
		parse_cgroup_guests(p, doc, value, enforce);
	else if (!strcmp(key, "min_quota_percent"))
		config_parse_u32(p, value, key, 1, 100,
				 &enforce->min_quota_percent);
	else if (!strcmp(key, "min_io_iops"))
		config_parse_u32(p, value, key, 1, 1000000,
				 &enforce->min_io_iops);
	else if (!strcmp(key, "quota_step_percent"))
		config_parse_u32(p, value, key, 5, 90,
				 &enforce->quota_step_percent);
	else if (!strcmp(key, "hysteresis_percent"))
		config_parse_u32(p, value, key, 5, 90,
				 &enforce->hysteresis_percent);
	else if (!strcmp(key, "cooldown_ms"))
		config_parse_u32(p, value, key, 100, 3600000,
				 &enforce->cooldown_ms);
	else if (!strcmp(key, "write_managed_cgroups"))
		config_parse_bool(p, value, key,
				  &enforce->write_managed_cgroups);
	else if (!strcmp(key, "separate_cpus"))
		config_parse_bool(p, value, key, &enforce->separate_cpus);
	else if (!strcmp(key, "state_file")) {
		config_parse_string(p, value, key, enforce->state_file,
				    sizeof(enforce->state_file));
		enforce->state_file_line = line_of(value);
	} else if (!strcmp(key, "trust_self_declared")) {
		config_parse_bool(p, value, key, &enforce->trust_self_declared);
	} else if (!strcmp(key, "trusted_vmm_users")) {
		parse_trusted_users(p, doc, value, enforce);
	} else if (!strcmp(key, "audit_log")) {
		config_parse_string(p, value, key, enforce->audit_log,
				    sizeof(enforce->audit_log));
		enforce->audit_log_line = line_of(value);
	} else
		return false;
	return true;
}

static int class_index(const struct enforce_config *enforce, const char *name)
{
	for (size_t i = 0; i < enforce->class_count; i++)
		if (!strcmp(enforce->classes[i], name))
			return (int)i;
	return -1;
}

void enforce_config_check(struct config_problems *p,
			  struct enforce_config *enforce)
{
	if (class_index(enforce, enforce->default_class) < 0)
		config_complain(p,
				enforce->default_class_line ?
					enforce->default_class_line :
					1,
				"default_class",
				"'%s' is not one of the classes",
				enforce->default_class);
	if (enforce->state_file[0] != '/')
		config_complain(p, enforce->state_file_line, "state_file",
				"must be an absolute path");
	if (enforce->audit_log[0] && enforce->audit_log[0] != '/')
		config_complain(p, enforce->audit_log_line, "audit_log",
				"must be an absolute path or ''");
	/* A unit's own cgroup is no problem: its units are acted on
	 * through systemd (actuate_systemd.h). */
	for (size_t i = 0; i < enforce->root_count; i++)
		if (!enforce->write_managed_cgroups &&
		    enforce_path_manager(enforce->roots[i]) &&
		    !(!strcmp(enforce_path_manager(enforce->roots[i]),
			      "systemd") &&
		      enforce_path_is_unit(enforce->roots[i])))
			config_complain(
				p, enforce->roots_line, "roots",
				"'%s' is %s's (single-writer rule): nothing "
				"under it would be written; use a cgroup no "
				"manager owns, a systemd unit's own, or set "
				"write_managed_cgroups: true",
				enforce->roots[i],
				enforce_path_manager(enforce->roots[i]));
	for (size_t i = 0; i < enforce->budget_count; i++) {
		struct budget *budget = &enforce->budgets[i];

		if (!budget->class_name[0])
			continue;
		budget->class_rank = class_index(enforce, budget->class_name);
		if (budget->class_rank < 0)
			config_complain(p, budget->line, "class",
					"'%s' is not one of the classes",
					budget->class_name);
		for (size_t r = 0; r < budget->throttle_root_count; r++)
			if (!enforce_path_allowed(enforce,
						  budget->throttle_roots[r]))
				config_complain(
					p, budget->line,
					"throttle.cgroup_roots",
					"'%s' is not under any of roots, so "
					"it could never be written",
					budget->throttle_roots[r]);
	}
}

bool enforce_path_under(const char *path, const char *root)
{
	size_t len = strlen(root);

	return !strncmp(path, root, len) &&
	       (path[len] == '\0' || path[len] == '/');
}

bool enforce_path_allowed(const struct enforce_config *enforce,
			  const char *path)
{
	if (!valid_cgroup_path(path))
		return false;
	for (size_t i = 0; i < enforce->root_count; i++)
		if (enforce_path_under(path, enforce->roots[i]))
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

const char *enforce_path_manager(const char *path)
{
	char name[PROCFS_NAME_LEN];

	if (libvirt_cgroup_name(path, name, sizeof(name)) != -ENOENT)
		return "libvirt";
	if (has_unit_component(path))
		return "systemd";
	return NULL;
}

bool enforce_path_is_unit(const char *path)
{
	const char *last;

	if (!valid_cgroup_path(path))
		return false;
	last = strrchr(path, '/');
	return has_unit_component(last);
}

bool enforce_path_writable(const struct enforce_config *enforce,
			   const char *path)
{
	return enforce_path_allowed(enforce, path) &&
	       (enforce->write_managed_cgroups || !enforce_path_manager(path));
}

const struct budget *enforce_budget_for(const struct enforce_config *enforce,
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

int enforce_class_rank(const struct enforce_config *enforce, const char *name,
		       const char *uuid)
{
	const struct budget *budget = enforce_budget_for(enforce, name, uuid);

	if (budget && budget->class_rank >= 0)
		return budget->class_rank;
	return class_index(enforce, enforce->default_class);
}

bool enforce_claim_trusted(const struct enforce_config *enforce,
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
enforce_budget_for_claim(const struct enforce_config *enforce, const char *name,
			 const char *uuid, const struct guest_claim *claim)
{
	if (!enforce_claim_trusted(enforce, claim))
		return NULL;
	return enforce_budget_for(enforce, name, uuid);
}

int enforce_class_rank_claim(const struct enforce_config *enforce,
			     const char *name, const char *uuid,
			     const struct guest_claim *claim)
{
	if (!enforce_claim_trusted(enforce, claim))
		return class_index(enforce, enforce->default_class);
	return enforce_class_rank(enforce, name, uuid);
}
