// SPDX-License-Identifier: GPL-2.0-only
/*
 * `kvmwarden restore` undoes what enforcement changed (cgroup limits),
 * from the journal a crashed or killed agent left; the service runs it
 * after every stop (ExecStopPost). Needs no BPF.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "base/log.h"
#include "base/paths.h"
#include "actuate/actuate_libvirt.h"
#include "cmd/commands.h"
#include "config/config.h"
#include "actuate/enforce_restore.h"
#include "actuate/journal.h"

/* The state file: --state, else the configuration's. A missing or broken
 * configuration means the default path, with a warning for a broken one:
 * restore runs after every stop (ExecStopPost), and refusing to undo
 * anything because someone broke the file since would be worse. */
int restore_state_path(const char *config_path, bool config_given,
		       const char *state, char *out, size_t size)
{
	struct config config;
	char errors[4096];

	if (state) {
		snprintf(out, size, "%s", state);
		return 0;
	}
	config_defaults(&config);
	if (config_load(&config, config_path, errors, sizeof(errors))) {
		if (config_given || !strstr(errors, "cannot open"))
			log_say("%sUsing the default state file.\n", errors);
		config_defaults(&config);
	}
	snprintf(out, size, "%s", config.enforce.state_file);
	return 0;
}

static int parse_options(int argc, char **argv, const char *usage, char *path,
			 size_t size, bool *skip_unreadable)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "state", required_argument, NULL, 's' },
		{ "skip-unreadable", no_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *config = KVMWARDEN_DEFAULT_CONFIG, *state = NULL;
	bool config_given = false;
	int opt;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "c:s:h", options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			config_given = true;
			break;
		case 's':
			state = optarg;
			break;
		case 'u':
			*skip_unreadable = true;
			break;
		case 'h':
			puts(usage);
			return 0;
		default:
			goto bad;
		}
	}
	if (optind != argc)
		goto bad;
	return restore_state_path(config, config_given, state, path, size) ? 1 :
									     -1;
bad:
	fprintf(stderr, "%s\n", usage);
	return 2;
}

int cmd_restore(int argc, char **argv)
{
	char path[ENFORCE_PATH_LEN], why[768];
	struct journal journal;
	struct audit audit = { 0 };
	bool skip_unreadable = false;
	size_t restored, left;
	int code, err;

	code = parse_options(argc, argv,
			     "usage: kvmwarden restore [--config FILE] "
			     "[--state FILE] [--skip-unreadable]",
			     path, sizeof(path), &skip_unreadable);
	if (code >= 0)
		return code;
	err = journal_open_flags(&journal, path,
				 skip_unreadable ? JOURNAL_SKIP_UNREADABLE : 0);
	if (err == -EBUSY) {
		log_say("restore: %s: held by a running agent (it "
			"undoes its changes when it stops)\n",
			path);
		return 1;
	}
	if (err) {
		journal_describe(path, err, &journal.damage, why, sizeof(why));
		log_say("restore: %s\n", why);
		return 1;
	}
	if (journal.damage.torn_tail)
		log_say("restore: %s: its last line was cut short "
			"(a crash while appending, before the change it "
			"announced was made); dropped\n",
			path);
	if (journal.copy_path[0])
		log_say("restore: %s: skipping %zu unreadable "
			"line%s (the first is line %zu); the file as it was is "
			"kept in %s\n",
			path, journal.damage.unreadable,
			journal.damage.unreadable == 1 ? "" : "s",
			journal.damage.first_unreadable_line,
			journal.copy_path);
	err = enforce_restore_journal(&journal, &audit, CONFIG_MODE_ENFORCE,
				      &restored, &left);
	journal_close(&journal);
	libvirt_conn_disconnect();
	if (err) {
		log_say("restore: %s: %s\n", path, strerror(-err));
		return 1;
	}
	printf("kvmwarden: restored %zu value%s", restored,
	       restored == 1 ? "" : "s");
	if (left)
		printf(", %zu could not be (kept in %s)", left, path);
	putchar('\n');
	return left ? 1 : 0;
}
