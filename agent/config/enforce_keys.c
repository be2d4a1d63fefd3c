// SPDX-License-Identifier: GPL-2.0-only
/*
 * The enforcement keys of kvmwarden.conf: budgets, classes, roots, the
 * controller's tuning, the state and audit files. Every rejection names the
 * line and the key, like config.c's, whose helpers it uses. Paths here are
 * cgroup paths as /proc/PID/cgroup shows them; turning them into files is
 * actuate_cgroup.c's job. What the keys mean once read is
 * enforce_config.c's.
 */
#include <errno.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_yaml.h"
#include "config/enforce_config.h"
#include "config/enforce_keys.h"
#include "config/steering_keys.h"

static void parse_path_list(struct config_problems *p, yaml_document_t *doc,
			    yaml_node_t *node, const char *key,
			    char out[][ENFORCE_PATH_LEN], size_t *count)
{
	yaml_node_item_t *item;

	*count = 0;
	if (node->type != YAML_SEQUENCE_NODE) {
		config_yaml_complain(p, config_yaml_line_of(node), key,
				     "expected a list of cgroup paths");
		return;
	}
	for (item = node->data.sequence.items.start;
	     item < node->data.sequence.items.top; item++) {
		yaml_node_t *entry = yaml_document_get_node(doc, *item);
		char path[ENFORCE_PATH_LEN] = "";
		int before = p->count;

		if (*count == ENFORCE_MAX_ROOTS) {
			config_yaml_complain(p, config_yaml_line_of(entry), key,
					     "at most %d entries",
					     ENFORCE_MAX_ROOTS);
			return;
		}
		config_yaml_string(p, entry, key, path, sizeof(path));
		if (p->count != before)
			continue;
		/* A trailing slash would defeat the prefix match. */
		if (strlen(path) > 1 && path[strlen(path) - 1] == '/')
			path[strlen(path) - 1] = '\0';
		if (!enforce_config_path_valid(path)) {
			config_yaml_complain(
				p, config_yaml_line_of(entry), key,
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
	yaml_node_t *key_node, *value;
	yaml_node_pair_t *pair = NULL;
	const char *key;

	if (node->type != YAML_MAPPING_NODE) {
		config_yaml_complain(
			p, config_yaml_line_of(node), "throttle",
			"expected a mapping (guests_of_lower_class, "
			"cgroup_roots)");
		return;
	}
	while ((key = config_yaml_next(p, doc, node, "throttle", &pair,
				       &key_node, &value))) {
		if (!strcmp(key, "guests_of_lower_class"))
			config_yaml_bool(p, value,
					 "throttle.guests_of_lower_class",
					 &budget->throttle_lower_class_guests);
		else if (!strcmp(key, "cgroup_roots"))
			parse_path_list(p, doc, value, "throttle.cgroup_roots",
					budget->throttle_roots,
					&budget->throttle_root_count);
		else
			config_yaml_complain(p, config_yaml_line_of(key_node),
					     key, "unknown key in throttle");
	}
}

/* A duration in ms with up to three decimals ("0.05"), kept in µs. */
static int parse_ms_as_us(struct config_problems *p, yaml_node_t *node,
			  const char *key, uint32_t *us)
{
	const char *text = config_yaml_scalar(node);
	char *end = NULL;
	double ms = text ? strtod(text, &end) : 0;

	if (!text || end == text || *end || !(ms >= 0.001 && ms <= 60000)) {
		config_yaml_complain(
			p, config_yaml_line_of(node), key,
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
	yaml_node_t *key_node, *value;
	yaml_node_pair_t *pair = NULL;
	const char *key;
	bool has_limit = false;

	memset(budget, 0, sizeof(*budget));
	budget->line = config_yaml_line_of(node);
	budget->class_rank = -1;
	if (node->type != YAML_MAPPING_NODE) {
		config_yaml_complain(p, config_yaml_line_of(node), "budgets",
				     "each budget must be a mapping (match, "
				     "class, max_steal_percent, ...)");
		return;
	}
	while ((key = config_yaml_next(p, doc, node, "budgets", &pair,
				       &key_node, &value))) {
		if (!strcmp(key, "match")) {
			config_yaml_string(p, value, key, budget->match,
					   sizeof(budget->match));
		} else if (!strcmp(key, "class")) {
			config_yaml_string(p, value, key, budget->class_name,
					   sizeof(budget->class_name));
		} else if (!strcmp(key, "max_steal_percent")) {
			if (!config_yaml_u32(p, value, key, 1, 100,
					     &budget->max_steal_percent))
				has_limit = true;
		} else if (!strcmp(key, "max_hidden_steal_percent")) {
			if (!config_yaml_u32(p, value, key, 1, 100,
					     &budget->max_hidden_steal_percent))
				has_limit = true;
		} else if (!strcmp(key, "max_wait_p99_ms")) {
			if (!config_yaml_u32(p, value, key, 1, 60000,
					     &budget->max_wait_p99_ms))
				has_limit = true;
		} else if (!strcmp(key, "max_io_queue_p99_ms")) {
			if (!parse_ms_as_us(p, value, key,
					    &budget->max_io_queue_p99_us))
				has_limit = true;
		} else if (!strcmp(key, "io_weight")) {
			config_yaml_u32(p, value, key, 1, 10000,
					&budget->io_weight);
		} else if (!strcmp(key, "cpu_weight")) {
			config_yaml_u32(p, value, key, 1, 10000,
					&budget->cpu_weight);
		} else if (!strcmp(key, "throttle")) {
			parse_throttle(p, doc, value, budget);
		} else {
			config_yaml_complain(p, config_yaml_line_of(key_node),
					     key, "unknown key in a budget");
		}
	}
	if (!budget->match[0])
		config_yaml_complain(p, budget->line, "match",
				     "every budget needs a match (name glob or "
				     "UUID)");
	if (!budget->class_name[0])
		config_yaml_complain(p, budget->line, "class",
				     "every budget needs a class");
	if (!has_limit && budget->match[0])
		config_yaml_complain(
			p, budget->line, "max_steal_percent",
			"budget '%s' sets none of max_steal_percent, "
			"max_wait_p99_ms, max_io_queue_p99_ms, "
			"max_hidden_steal_percent",
			budget->match);
}

static void parse_budgets(struct config_problems *p, yaml_document_t *doc,
			  yaml_node_t *node, struct enforce_config *enforce)
{
	yaml_node_item_t *item;

	enforce->budget_count = 0;
	if (node->type != YAML_SEQUENCE_NODE) {
		config_yaml_complain(p, config_yaml_line_of(node), "budgets",
				     "expected a list of budgets");
		return;
	}
	for (item = node->data.sequence.items.start;
	     item < node->data.sequence.items.top; item++) {
		yaml_node_t *entry = yaml_document_get_node(doc, *item);

		if (enforce->budget_count == ENFORCE_MAX_BUDGETS) {
			config_yaml_complain(p, config_yaml_line_of(entry),
					     "budgets", "at most %d budgets",
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
		config_yaml_complain(p, config_yaml_line_of(node), "classes",
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
			config_yaml_complain(p, config_yaml_line_of(entry),
					     "classes", "at most %d classes",
					     ENFORCE_MAX_CLASSES);
			return;
		}
		config_yaml_string(p, entry, "classes", name, sizeof(name));
		if (p->count != before)
			continue;
		for (size_t i = 0; i < enforce->class_count; i++)
			if (!strcmp(enforce->classes[i], name))
				config_yaml_complain(p,
						     config_yaml_line_of(entry),
						     "classes",
						     "'%s' is listed twice",
						     name);
		snprintf(enforce->classes[enforce->class_count++],
			 ENFORCE_NAME_LEN, "%s", name);
	}
	if (!enforce->class_count)
		config_yaml_complain(p, config_yaml_line_of(node), "classes",
				     "at least one class is needed");
}

static void parse_cgroup_guests(struct config_problems *p, yaml_document_t *doc,
				yaml_node_t *node,
				struct enforce_config *enforce)
{
	yaml_node_item_t *item;

	enforce->cgroup_guest_count = 0;
	if (node->type != YAML_SEQUENCE_NODE) {
		config_yaml_complain(p, config_yaml_line_of(node),
				     "cgroup_guests",
				     "expected a list of {name, cgroup}");
		return;
	}
	for (item = node->data.sequence.items.start;
	     item < node->data.sequence.items.top; item++) {
		yaml_node_t *entry = yaml_document_get_node(doc, *item);
		struct cgroup_guest *guest;
		yaml_node_pair_t *pair;

		if (enforce->cgroup_guest_count == ENFORCE_MAX_CGROUP_GUESTS) {
			config_yaml_complain(p, config_yaml_line_of(entry),
					     "cgroup_guests",
					     "at most %d entries",
					     ENFORCE_MAX_CGROUP_GUESTS);
			return;
		}
		guest = &enforce->cgroup_guests[enforce->cgroup_guest_count++];
		memset(guest, 0, sizeof(*guest));
		if (entry->type != YAML_MAPPING_NODE) {
			config_yaml_complain(
				p, config_yaml_line_of(entry), "cgroup_guests",
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
			const char *key = config_yaml_scalar(key_node);

			if (key && value && !strcmp(key, "name"))
				config_yaml_string(p, value, key, guest->name,
						   sizeof(guest->name));
			else if (key && value && !strcmp(key, "cgroup"))
				config_yaml_string(p, value, key, guest->cgroup,
						   sizeof(guest->cgroup));
			else
				config_yaml_complain(
					p, config_yaml_line_of(key_node),
					key ? key : "cgroup_guests",
					"unknown key in a cgroup guest");
		}
		if (!guest->name[0] ||
		    !enforce_config_path_valid(guest->cgroup))
			config_yaml_complain(
				p, config_yaml_line_of(entry), "cgroup_guests",
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
	enforce->trusted_vmm_users_line = config_yaml_line_of(node);
	if (node->type != YAML_SEQUENCE_NODE) {
		config_yaml_complain(p, config_yaml_line_of(node), key,
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
			config_yaml_complain(p, config_yaml_line_of(entry), key,
					     "at most %d entries",
					     ENFORCE_MAX_TRUSTED_USERS);
			return;
		}
		config_yaml_string(p, entry, key, name, sizeof(name));
		if (p->count != before)
			continue;
		if (resolve_user(name, &uid)) {
			config_yaml_complain(p, config_yaml_line_of(entry), key,
					     "no user named '%s'", name);
			continue;
		}
		enforce->trusted_vmm_uids[enforce->trusted_vmm_uid_count++] =
			uid;
	}
}

static const struct config_yaml_u32_key u32_keys[] = {
	{ "min_quota_percent", 1, 100,
	  offsetof(struct enforce_config, min_quota_percent) },
	{ "min_io_iops", 1, 1000000,
	  offsetof(struct enforce_config, min_io_iops) },
	{ "quota_step_percent", 5, 90,
	  offsetof(struct enforce_config, quota_step_percent) },
	{ "hysteresis_percent", 5, 90,
	  offsetof(struct enforce_config, hysteresis_percent) },
	{ "cooldown_ms", 100, 3600000,
	  offsetof(struct enforce_config, cooldown_ms) },
};

bool enforce_keys_parse(struct config_problems *p, yaml_document_t *doc,
			const char *key, yaml_node_t *value,
			struct enforce_config *enforce)
{
	if (!strcmp(key, "budgets"))
		parse_budgets(p, doc, value, enforce);
	else if (!strcmp(key, "classes"))
		parse_classes(p, doc, value, enforce);
	else if (!strcmp(key, "default_class")) {
		config_yaml_string(p, value, key, enforce->default_class,
				   sizeof(enforce->default_class));
		enforce->default_class_line = config_yaml_line_of(value);
	} else if (!strcmp(key, "roots")) {
		parse_path_list(p, doc, value, key, enforce->roots,
				&enforce->root_count);
		enforce->roots_line = config_yaml_line_of(value);
	} else if (!strcmp(key, "cgroup_guests"))
		parse_cgroup_guests(p, doc, value, enforce);
	else if (config_yaml_u32_keys(p, u32_keys,
				      sizeof(u32_keys) / sizeof(u32_keys[0]),
				      key, value, enforce))
		return true;
	else if (!strcmp(key, "write_managed_cgroups"))
		config_yaml_bool(p, value, key,
				 &enforce->write_managed_cgroups);
	else if (!strcmp(key, "separate_cpus"))
		config_yaml_bool(p, value, key, &enforce->separate_cpus);
	else if (!strcmp(key, "state_file")) {
		config_yaml_string(p, value, key, enforce->state_file,
				   sizeof(enforce->state_file));
		enforce->state_file_line = config_yaml_line_of(value);
	} else if (!strcmp(key, "steering")) {
		steering_keys_parse(p, doc, value, &enforce->steering);
	} else if (!strcmp(key, "trust_self_declared")) {
		config_yaml_bool(p, value, key, &enforce->trust_self_declared);
	} else if (!strcmp(key, "trusted_vmm_users")) {
		parse_trusted_users(p, doc, value, enforce);
	} else if (!strcmp(key, "audit_log")) {
		config_yaml_string(p, value, key, enforce->audit_log,
				   sizeof(enforce->audit_log));
		enforce->audit_log_line = config_yaml_line_of(value);
	} else
		return false;
	return true;
}

void enforce_keys_check(struct config_problems *p,
			struct enforce_config *enforce)
{
	if (enforce_config_class_index(enforce, enforce->default_class) < 0)
		config_yaml_complain(p,
				     enforce->default_class_line ?
					     enforce->default_class_line :
					     1,
				     "default_class",
				     "'%s' is not one of the classes",
				     enforce->default_class);
	if (enforce->state_file[0] != '/')
		config_yaml_complain(p, enforce->state_file_line, "state_file",
				     "must be an absolute path");
	if (enforce->audit_log[0] && enforce->audit_log[0] != '/')
		config_yaml_complain(p, enforce->audit_log_line, "audit_log",
				     "must be an absolute path or ''");
	/* A unit's own cgroup is no problem: its units are acted on
	 * through systemd (actuate_systemd.h). */
	for (size_t i = 0; i < enforce->root_count; i++)
		if (!enforce->write_managed_cgroups &&
		    enforce_config_path_manager(enforce->roots[i]) &&
		    !(!strcmp(enforce_config_path_manager(enforce->roots[i]),
			      "systemd") &&
		      enforce_config_path_is_unit(enforce->roots[i])))
			config_yaml_complain(
				p, enforce->roots_line, "roots",
				"'%s' is %s's (single-writer rule): nothing "
				"under it would be written; use a cgroup no "
				"manager owns, a systemd unit's own, or set "
				"write_managed_cgroups: true",
				enforce->roots[i],
				enforce_config_path_manager(enforce->roots[i]));
	for (size_t i = 0; i < enforce->budget_count; i++) {
		struct budget *budget = &enforce->budgets[i];

		if (!budget->class_name[0])
			continue;
		budget->class_rank =
			enforce_config_class_index(enforce, budget->class_name);
		if (budget->class_rank < 0)
			config_yaml_complain(p, budget->line, "class",
					     "'%s' is not one of the classes",
					     budget->class_name);
		if (budget->max_hidden_steal_percent &&
		    !enforce->steering.device_count &&
		    !enforce->steering.irq_count)
			config_yaml_complain(
				p, budget->line, "max_hidden_steal_percent",
				"budget '%s' has a hidden-steal budget but "
				"steering names no devices nor irqs, so "
				"nothing could ever be moved for it",
				budget->match);
		for (size_t r = 0; r < budget->throttle_root_count; r++)
			if (!enforce_config_path_allowed(
				    enforce, budget->throttle_roots[r]))
				config_yaml_complain(
					p, budget->line,
					"throttle.cgroup_roots",
					"'%s' is not under any of roots, so "
					"it could never be written",
					budget->throttle_roots[r]);
	}
}
