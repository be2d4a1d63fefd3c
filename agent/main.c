// SPDX-License-Identifier: GPL-2.0-only
/* kvmwarden's entry point: subcommand dispatch only. */
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "cmd/commands.h"
#include "cmd/top.h"

static int cmd_version(int argc, char **argv)
{
	printf("kvmwarden %s\n", KVMWARDEN_VERSION);
	return 0;
}

static int cmd_help(int argc, char **argv);

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "run", cmd_run, "run the agent (--config FILE, --mode MODE)" },
	{ "dump", cmd_dump, "measure for a while and print one report" },
	{ "check-config", cmd_check_config, "validate a configuration file" },
	{ "restore", cmd_restore, "undo what enforcement changed" },
	{ "steering-dropin", cmd_steering_dropin,
	  "the unit's drop-in for a hidden-steal budget (generator)" },
	{ "check-kernel", cmd_check_kernel,
	  "load every BPF program on this kernel and report each" },
	{ "top", cmd_top, "live view of guests' steal and culprits" },
	{ "status", cmd_status,
	  "the running agent's state and the enforcement actions in force" },
	{ "version", cmd_version, "print the version" },
	{ "help", cmd_help, "list the commands" },
};

static int cmd_help(int argc, char **argv)
{
	puts("usage: kvmwarden COMMAND [OPTIONS]\n\ncommands:");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		printf("  %-16s %s\n", commands[i].name, commands[i].summary);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		cmd_help(0, NULL);
		return 2;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	log_say("unknown command '%s' (see kvmwarden help)\n", argv[1]);
	return 2;
}
