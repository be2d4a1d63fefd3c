// SPDX-License-Identifier: GPL-2.0-only
/*
 * Loading and checking the configuration for `run` and `check-config`
 * (cmd/run_config.h): one module, so a reload applies the very checks the
 * start did.
 */
#include <stdio.h>
#include <string.h>

#include "cmd/preflight.h"
#include "collect/feature_check.h"
#include "base/log.h"
#include "cmd/commands.h"
#include "cmd/run_config.h"

/* path_given: --config named the file. Without it, no file at the default
 * path is a first run by hand, which gets the built-in defaults and one
 * line saying so (the unit always passes --config). Then what the file
 * names (preflight.h): the same checks for run, reload and check-config,
 * all before anything touches the kernel. */
int run_config_load(const char *path, bool path_given, struct config *config)
{
	bool defaulted;
	char errors[4096], warnings[1024];
	int err;

	err = config_load_or_defaults(config, path, path_given, &defaulted,
				      errors, sizeof(errors));
	if (!err)
		err = preflight_config(config, path, errors, sizeof(errors),
				       warnings, sizeof(warnings));
	if (err)
		log_err("invalid configuration:\n%s", errors);
	else if (warnings[0])
		log_warn("warning: %s", warnings);
	if (!err && defaulted)
		log_notice("no %s: running on the built-in defaults (mode %s, "
			   "/metrics on %s); write that file or pass --config "
			   "FILE to change them\n",
			   path, config_mode_name(config->mode),
			   config->listen_address);
	return err;
}

/* A budget that needs a feature this kernel did not give (throttling
 * culprits without attribution, an I/O budget without the block programs)
 * would act on figures that are not there: refuse it, loudly, rather than
 * run it blind. Returns how many were refused. */
size_t run_config_refuse_budgets(const struct enforce_config *enforce,
				 const struct features *features)
{
	char lines[2048];
	size_t refused =
		feature_check_budgets(enforce, features, lines, sizeof(lines));

	for (char *line = strtok(lines, "\n"); line; line = strtok(NULL, "\n"))
		log_err("refusing %s\n", line);
	return refused;
}

int cmd_check_config(int argc, char **argv)
{
	struct config config;

	if (argc != 2) {
		fputs("usage: kvmwarden check-config FILE\n", stderr);
		return 2;
	}
	if (run_config_load(argv[1], true, &config))
		return 1;
	printf("%s: valid (mode %s, interval %u ms)\n", argv[1],
	       config_mode_name(config.mode), config.interval_ms);
	return 0;
}
