// SPDX-License-Identifier: GPL-2.0-only
/*
 * `kvmwarden status`: how the running agent is (its answer on the local
 * socket, api.h) and which enforcement actions are in force (the journal,
 * journal.h, which outlives the agent). Needs no BPF and no agent: after a
 * crash it still lists what `restore` would undo.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "base/log.h"
#include "base/paths.h"
#include "serve/api.h"
#include "cmd/commands.h"
#include "actuate/journal.h"
#include "top/top_source.h"

#define USAGE                                                               \
	"usage: kvmwarden status [--config FILE] [--socket PATH] [--state " \
	"FILE] [--json]"

struct status_options {
	const char *config;
	bool config_given;
	const char *socket;
	const char *state;
	bool json;
};

/* 0 to go on, else the exit code. */
static int parse_options(int argc, char **argv, struct status_options *opts)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 'S' },
		{ "state", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int opt;

	opts->config = KVMWARDEN_DEFAULT_CONFIG;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "c:s:jh", options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			opts->config = optarg;
			opts->config_given = true;
			break;
		case 'S':
			opts->socket = optarg;
			break;
		case 's':
			opts->state = optarg;
			break;
		case 'j':
			opts->json = true;
			break;
		case 'h':
			puts(USAGE);
			return -1;
		default:
			log_say("status: unknown option or missing "
				"value: '%s' (see --help)\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (optind != argc) {
		log_say("status: unexpected '%s' (see --help)\n", argv[optind]);
		return 2;
	}
	return 0;
}

static struct json_object *action_json(const struct journal_entry *e)
{
	struct json_object *obj = json_object_new_object();

	json_object_object_add(obj, "cgroup",
			       json_object_new_string(e->cgroup));
	json_object_object_add(obj, "knob", json_object_new_string(e->knob));
	json_object_object_add(obj, "for", json_object_new_string(e->victim));
	json_object_object_add(obj, "file", json_object_new_string(e->file));
	json_object_object_add(obj, "original",
			       json_object_new_string(e->original));
	json_object_object_add(obj, "value", json_object_new_string(e->value));
	json_object_object_add(obj, "since",
			       json_object_new_int64((int64_t)e->since_unix_s));
	return obj;
}

/* "features  steal, block_io" and then, for each one that did not load,
 * "unavailable  NAME: REASON": an operator greps for the feature. */
static void print_features(struct json_object *status)
{
	struct json_object *features, *available, *reason = NULL;
	char on[256] = "";
	size_t used = 0;

	if (!json_object_object_get_ex(status, "features", &features))
		return;
	json_object_object_foreach(features, name, state)
	{
		if (!json_object_object_get_ex(state, "available",
					       &available) ||
		    !json_object_get_boolean(available))
			continue;
		if (used < sizeof(on))
			used += (size_t)snprintf(on + used, sizeof(on) - used,
						 "%s%s", used ? ", " : "",
						 name);
	}
	printf("%-16s %s\n", "features", on[0] ? on : "(none)");
	json_object_object_foreach(features, off_name, off_state)
	{
		if (json_object_object_get_ex(off_state, "available",
					      &available) &&
		    json_object_get_boolean(available))
			continue;
		json_object_object_get_ex(off_state, "reason", &reason);
		printf("%-16s %s: %s\n", "unavailable", off_name,
		       reason ? json_object_get_string(reason) : "unknown");
		reason = NULL;
	}
}

static void print_agent(struct json_object *answer, const char *socket_path,
			int err)
{
	struct json_object *status;

	if (err) {
		printf("agent            not answering on %s (%s)\n",
		       socket_path, strerror(-err));
		return;
	}
	if (!json_object_object_get_ex(answer, "status", &status)) {
		printf("agent            unexpected answer: %s\n",
		       json_object_to_json_string(answer));
		return;
	}
	json_object_object_foreach(status, key, value)
	{
		if (!strcmp(key, "features"))
			continue; /* an object: print_features's */
		printf("%-16s %s\n", key, json_object_get_string(value));
	}
	print_features(status);
}

static void print_actions(const struct journal_entry *entries, size_t count,
			  const char *state_path)
{
	size_t shown = 0;

	for (size_t i = 0; i < count; i++) {
		const struct journal_entry *e = &entries[i];

		if (!e->in_force)
			continue;
		if (!shown++)
			printf("\n%-40s %-10s %-16s %-16s %s\n", "CGROUP",
			       "KNOB", "VALUE", "WAS", "FOR");
		printf("%-40s %-10s %-16s %-16s %s\n", e->cgroup, e->knob,
		       e->value[0] ? e->value : "(not written)", e->original,
		       e->victim);
	}
	if (!shown)
		printf("\nno actions in force (%s)\n", state_path);
}

int cmd_status(int argc, char **argv)
{
	struct status_options opts = { 0 };
	struct journal_entry *entries = NULL;
	struct json_object *answer = NULL;
	char socket_path[108], state_path[4096];
	struct journal_damage damage;
	size_t count = 0;
	int code, agent_err, journal_err;

	code = parse_options(argc, argv, &opts);
	if (code)
		return code < 0 ? 0 : code;
	if (opts.socket)
		snprintf(socket_path, sizeof(socket_path), "%s", opts.socket);
	else if (top_source_socket_from_config(opts.config, opts.config_given,
					       socket_path,
					       sizeof(socket_path)))
		return 2;
	if (restore_state_path(opts.config, opts.config_given, opts.state,
			       state_path, sizeof(state_path)))
		return 2;

	agent_err = api_client_request(socket_path, "status",
				       TOP_REQUEST_TIMEOUT_MS, &answer);
	journal_err =
		journal_load_damage(state_path, &entries, &count, &damage);
	if (journal_err == -ENOENT)
		journal_err = 0; /* nothing was ever enforced here */
	else if (journal_err)
		log_say("status: %s: %s\n", state_path, strerror(-journal_err));

	if (opts.json) {
		struct json_object *doc = json_object_new_object();
		struct json_object *actions = json_object_new_array();

		for (size_t i = 0; i < count; i++)
			if (entries[i].in_force)
				json_object_array_add(actions,
						      action_json(&entries[i]));
		json_object_object_add(doc, "agent",
				       agent_err ? NULL :
						   json_object_get(answer));
		json_object_object_add(doc, "actions", actions);
		puts(json_object_to_json_string_ext(doc,
						    JSON_C_TO_STRING_PRETTY));
		json_object_put(doc);
	} else {
		print_agent(answer, socket_path, agent_err);
		print_actions(entries, count, state_path);
	}
	if (damage.unreadable) {
		char why[768];

		journal_describe(state_path, -EBADMSG, &damage, why,
				 sizeof(why));
		log_say("status: %s\n", why);
	}
	if (damage.torn_tail)
		log_say("status: %s: its last line was cut short (a "
			"crash while appending); ignored\n",
			state_path);
	json_object_put(answer);
	free(entries);
	if (journal_err)
		return 1;
	/* 3, as systemctl status says for a unit that is not active. */
	return agent_err ? 3 : 0;
}
