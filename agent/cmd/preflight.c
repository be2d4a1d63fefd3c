// SPDX-License-Identifier: GPL-2.0-only
/*
 * The configuration's references, checked without changing anything: a
 * state file is only read, the web config's files only loaded, a group only
 * looked up. Parsing stays in config.c; this file owns "does it exist and
 * is it what the key says".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actuate/actuate_cgroup.h"
#include "actuate/journal.h"
#include "cmd/preflight.h"
#include "serve/api_socket.h"
#include "serve/http.h"

/* journal_open makes the state file's directory, one level only. */
static bool parent_makeable(const char *path)
{
	char dir[ENFORCE_PATH_LEN];
	struct stat st;
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	for (int level = 0; level < 2; level++) {
		slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			return true; /* "/" exists */
		*slash = '\0';
		if (!stat(dir, &st))
			return S_ISDIR(st.st_mode);
	}
	return false;
}

static void check_state_file(struct config_problems *p,
			     const struct enforce_config *enforce)
{
	struct journal_damage damage;
	char why[768];
	int err;

	err = journal_check_file(enforce->state_file, &damage);
	if (!err && !parent_makeable(enforce->state_file)) {
		config_yaml_complain(
			p, enforce->state_file_line ?: 1, "state_file",
			"%s: its directory cannot be made (only the "
			"last level is created)",
			enforce->state_file);
		return;
	}
	if (!err || err == -EACCES)
		return; /* EACCES: check-config run as a user; run is root */
	journal_describe(enforce->state_file, err, &damage, why, sizeof(why));
	config_yaml_complain(p, enforce->state_file_line ?: 1, "state_file",
			     "%s", why);
}

/* The audit log is appended to: a directory or a FIFO there would make
 * every action fail to be recorded, or hang. */
static void check_audit_log(struct config_problems *p,
			    const struct enforce_config *enforce)
{
	struct stat st;

	if (!enforce->audit_log[0] || lstat(enforce->audit_log, &st))
		return;
	if (!S_ISREG(st.st_mode))
		config_yaml_complain(p, enforce->audit_log_line ?: 1,
				     "audit_log",
				     "%s: exists and is not a regular file",
				     enforce->audit_log);
}

static void check_web_config(struct config_problems *p,
			     const struct config *config,
			     struct config_problems *warn)
{
	bool auth_without_tls = false;
	char why[768];

	if (!config->listen_address[0] || !config->web_config[0])
		return;
	if (http_check_web_config(config->web_config, &auth_without_tls, why,
				  sizeof(why))) {
		config_yaml_complain(p, config->web_config_line ?: 1,
				     "web_config", "%s", why);
		return;
	}
	if (auth_without_tls && warn)
		config_yaml_complain(
			warn, config->web_config_line ?: 1, "web_config",
			"basic auth without TLS: passwords cross the "
			"network in clear text");
}

static void check_socket_group(struct config_problems *p,
			       const struct config *config)
{
	char why[256];
	gid_t gid;

	if (!config->socket_path[0] || !config->socket_group[0])
		return;
	if (api_socket_resolve_group(config->socket_group, &gid, why,
				     sizeof(why)))
		config_yaml_complain(p, config->socket_group_line ?: 1,
				     "socket_group", "no group named '%s'",
				     config->socket_group);
}

/* Enforce mode needs the cpu controller somewhere (run says so and stops
 * before loading anything). */
static void check_cgroups(struct config_problems *p,
			  const struct config *config)
{
	struct cgroup_fs fs;

	if (config->mode == CONFIG_MODE_ENFORCE &&
	    cgroup_fs_detect(&fs, "/proc/self/mountinfo"))
		config_yaml_complain(
			p, 1, "mode",
			"enforce, but this host has no cgroup hierarchy "
			"with the cpu controller");
}

int preflight_config(const struct config *config, const char *source,
		     char *errors, size_t errors_size, char *warnings,
		     size_t warnings_size)
{
	struct config_problems p = { .source = source,
				     .text = errors,
				     .size = errors_size };
	struct config_problems warn = { .source = source,
					.text = warnings,
					.size = warnings_size };

	if (errors_size)
		errors[0] = '\0';
	if (warnings && warnings_size)
		warnings[0] = '\0';
	check_state_file(&p, &config->enforce);
	check_cgroups(&p, config);
	check_audit_log(&p, &config->enforce);
	check_web_config(&p, config, warnings ? &warn : NULL);
	check_socket_group(&p, config);
	return p.count ? -EINVAL : 0;
}
