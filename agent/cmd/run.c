// SPDX-License-Identifier: GPL-2.0-only
/*
 * `kvmwarden run`: the long-running agent. It discovers and measures
 * continuously, logs guests as they come and go and a per-guest summary
 * at the configured interval, and reloads its configuration on SIGHUP
 * (keeping the old one when the new one is invalid). Log lines carry
 * syslog priority prefixes so journald keeps their levels. This file
 * starts and stops it; the loop is run_loop.c's, the servers
 * run_servers.c's, the configuration run_config.c's.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actuate/enforce.h"
#include "base/log.h"
#include "base/paths.h"
#include "base/units.h"
#include "cmd/commands.h"
#include "cmd/run_config.h"
#include "cmd/run_loop.h"
#include "cmd/run_servers.h"
#include "actuate/enforce_steer.h"
#include "collect/feature_check.h"
#include "collect/block_collector.h"
#include "collect/discover.h"
#include "features_out.h"
#include "model/features.h"
#include "serve/api.h"
#include "serve/http.h"
#include "serve/metrics.h"
#include "serve/notify.h"

/* Block I/O, when its programs load; the agent runs on without it. */
static struct block_collector *io_collector;
/* What loaded on this kernel, gathered once after loading, and the same as
 * the "features" JSON text the socket's status answer carries. */
static struct features agent_features;
static char *features_text;

/* Gathers, logs and publishes what loaded. Returns how many budgets need
 * a feature this kernel lacks: each is named; the caller decides. */
static size_t settle_features(struct tracker *tracker,
			      const struct config *config)
{
	struct json_object *obj;
	size_t refused;

	feature_check_gather(&agent_features, tracker->loader, io_collector,
			     tracker->kvm, tracker->irq);
	session_log_features(&agent_features);
	refused = run_config_refuse_budgets(&config->enforce, &agent_features);
	obj = features_out_json(&agent_features);
	if (obj)
		features_text = strdup(json_object_to_json_string_ext(
			obj, JSON_C_TO_STRING_PLAIN));
	json_object_put(obj);
	return refused;
}

/*
 * Budgets that cannot work here are not run blind, and the agent does not
 * stop measuring steal for them either: enforcement goes off (the agent
 * runs as in monitor mode) until the configuration or the kernel changes.
 * Enforcing the other budgets alone could throttle the refused budgets'
 * guests on their behalf. Returns 0, or 1 when enforcement cannot restart.
 */
static int refuse_enforcement(struct enforcer *enforcer, struct config *config,
			      size_t refused)
{
	enum config_mode file_mode;

	if (!refused)
		return 0;
	if (config->mode != CONFIG_MODE_ENFORCE) {
		log_warn("%zu budget%s cannot work on this kernel (named "
			 "above; monitor mode enforces nothing)\n",
			 refused, refused == 1 ? "" : "s");
		return 0;
	}
	log_err("enforcement off: %zu budget%s cannot work on this kernel; "
		"running in monitor mode, steal still measured (remove %s, or "
		"the keys named above, and restart)\n",
		refused, refused == 1 ? "" : "s", refused == 1 ? "it" : "them");
	file_mode = enforcer->file_mode; /* enforcer_start() clears it */
	enforcer_stop(enforcer);
	config->mode = CONFIG_MODE_MONITOR;
	if (enforcer_start(enforcer, config, CONFIG_MODE_MONITOR))
		return 1;
	enforcer->file_mode = file_mode;
	return 0;
}

/* The cgroups the configuration declares as guests, as the tracker looks
 * for them: their cgroup.procs in the cpu controller's hierarchy. */
static void declare_cgroup_guests(struct tracker *tracker,
				  const struct enforce_config *enforce,
				  struct tracker_declared *declared)
{
	struct cgroup_fs fs;
	size_t count = 0;

	if (!enforce->cgroup_guest_count)
		return;
	if (cgroup_fs_detect(&fs, "/proc/self/mountinfo")) {
		log_warn("no cpu cgroup hierarchy: cgroup_guests ignored\n");
		return;
	}
	for (size_t i = 0; i < enforce->cgroup_guest_count; i++) {
		const struct cgroup_guest *guest = &enforce->cgroup_guests[i];

		snprintf(declared[count].name, sizeof(declared[count].name),
			 "%s", guest->name);
		snprintf(declared[count].procs_file,
			 sizeof(declared[count].procs_file),
			 "%s%s/cgroup.procs", fs.mount, guest->cgroup);
		count++;
	}
	tracker->declared = declared;
	tracker->declared_count = count;
}

int cmd_run(int argc, char **argv)
{
	static struct tracker_declared declared[ENFORCE_MAX_CGROUP_GUESTS];
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "mode", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *path = KVMWARDEN_DEFAULT_CONFIG, *mode = NULL;
	bool path_given = false;
	struct http_server *http = NULL;
	struct api_server *api = NULL;
	struct loader *loader = NULL;
	struct enforcer enforcer;
	struct metrics metrics;
	struct tracker tracker;
	enum config_mode file_mode;
	size_t not_undone;
	struct config config;
	int opt, code;

	optind = 1;
	opterr = 0; /* one line of our own instead of getopt's two */
	while ((opt = getopt_long(argc, argv, "c:m:h", options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			path_given = true;
			break;
		case 'm':
			mode = optarg;
			break;
		case 'h':
			puts("usage: kvmwarden run [--config FILE] "
			     "[--mode monitor|enforce]");
			return 0;
		default:
			log_say("run: unknown option or missing "
				"value: '%s' (see kvmwarden run --help)\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (mode && strcmp(mode, "monitor") && strcmp(mode, "enforce")) {
		log_say("run: --mode wants monitor or enforce, got "
			"'%s'\n",
			mode);
		return 2;
	}
	if (run_config_load(path, path_given, &config))
		return 1;
	file_mode = config.mode;
	if (mode)
		config.mode = strcmp(mode, "enforce") ? CONFIG_MODE_MONITOR :
							CONFIG_MODE_ENFORCE;
	/* Before anything can change: a SIGTERM while BPF loads then ends
	 * the loop at its first check, through the path that undoes. */
	run_loop_install_signals();
	/* First, so a state file another agent holds, or changes a dead
	 * one left that cannot be undone, stop us before anything else. */
	if (enforcer_start(&enforcer, &config, config.mode))
		return 1;
	enforcer.file_mode = file_mode;

	code = session_open(&loader, &tracker, "/proc",
			    (uint64_t)config.retain_exited_s * 1000 *
				    NS_PER_MS);
	if (code) {
		enforcer_stop(&enforcer);
		return code;
	}
	declare_cgroup_guests(&tracker, &config.enforce, declared);
	if (metrics_init(&metrics, KVMWARDEN_VERSION,
			 config.per_vcpu_metrics)) {
		session_close(loader, &tracker);
		enforcer_stop(&enforcer);
		return 1;
	}
	io_collector = block_collector_open("/proc");
	code = refuse_enforcement(&enforcer, &config,
				  settle_features(&tracker, &config));
	metrics_set_features(&metrics, &agent_features);
	/* From the first scrape on, as the family always was. */
	run_loop_publish_actions(&metrics);
	if (!code)
		code = run_servers_open_http(&http, &config, &metrics);
	if (!code)
		code = run_servers_open_api(&api, &config);
	if (!code) {
		/* What loaded is known now: `status` says so before the first
		 * window is published. */
		struct api_status first = {
			.mode = config_mode_name(config.mode),
			.features_json = features_text,
		};

		api_publish(api, NULL, &first);
		run_servers_drop_privileges(
			loader,
			config.mode == CONFIG_MODE_ENFORCE &&
				enforce_steer_wants_net_admin(&config.enforce));
		code = run_servers_serve(http, api, &config);
	}
	if (code) {
		api_stop(
			api); /* opened, and maybe serving, when serve() failed */
		free(features_text);
		features_text = NULL;
		http_stop(http);
		metrics_free(&metrics);
		block_collector_close(io_collector);
		session_close(loader, &tracker);
		enforcer_stop(&enforcer);
		return code;
	}
	log_info("running (mode %s, interval %u ms, discovery every %u ms)\n",
		 config_mode_name(config.mode), config.interval_ms,
		 config.discover_interval_ms);
	struct run_loop_agent agent = {
		.tracker = &tracker,
		.config = &config,
		.config_path = path,
		.config_given = path_given,
		.metrics = &metrics,
		.enforcer = &enforcer,
		.api = api,
		.io_collector = io_collector,
		.features = &agent_features,
		.features_text = features_text,
	};
	code = run_loop(&agent) ? 1 : 0;
	notify_stopping();
	log_info("stopping\n");
	/* Undo before anything else goes: a stop must leave no limit. */
	not_undone = enforcer_stop(&enforcer);
	if (not_undone) {
		log_err("%zu change%s could not be undone; they stay in %s "
			"for kvmwarden restore\n",
			not_undone, not_undone == 1 ? "" : "s",
			config.enforce.state_file);
		code = 1;
	}
	/* The restores just counted, for any scrape before the end. */
	run_loop_publish_actions(&metrics);
	/* Stop serving first: scrapes read the snapshot, never the tracker,
	 * but no thread should outlive the state it was given. */
	api_stop(api);
	http_stop(http);
	metrics_free(&metrics);
	block_collector_close(io_collector);
	io_collector = NULL;
	free(features_text);
	features_text = NULL;
	session_close(loader, &tracker);
	return code;
}
