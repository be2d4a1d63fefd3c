// SPDX-License-Identifier: GPL-2.0-only
/*
 * `kvmwarden run`: the long-running agent. It discovers and measures
 * continuously, logs guests as they come and go and a per-guest summary
 * at the configured interval, and reloads its configuration on SIGHUP
 * (keeping the old one when the new one is invalid). Log lines carry
 * syslog priority prefixes so journald keeps their levels.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/paths.h"
#include "serve/api.h"
#include "collect/block_collector.h"
#include "cmd/commands.h"
#include "config/config.h"
#include "collect/discover.h"
#include "actuate/enforce.h"
#include "collect/features.h"
#include "model/feature_table.h"
#include "features_out.h"
#include "serve/http.h"
#include "serve/metrics.h"
#include "serve/notify.h"
#include "actuate/preflight.h"
#include "load/privilege.h"
#include "serve/snapshot.h"


static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reload_requested;
/* Block I/O, when its programs load; the agent runs on without it. */
static struct block_collector *io_collector;
/* What loaded on this kernel, gathered once after loading, and the same as
 * the "features" JSON text the socket's status answer carries. */
static struct features agent_features;
static char *features_text;

static size_t refuse_budgets(const struct enforce_config *enforce);

static void on_stop(int signo)
{
	stop_requested = 1;
}

static void on_reload(int signo)
{
	reload_requested = 1;
}

static void install_signals(void)
{
	struct sigaction stop = { .sa_handler = on_stop };
	struct sigaction reload = { .sa_handler = on_reload };

	sigaction(SIGINT, &stop, NULL);
	sigaction(SIGTERM, &stop, NULL);
	sigaction(SIGHUP, &reload, NULL);
}

static void sleep_ms(uint64_t ms)
{
	struct timespec span = { .tv_sec = (time_t)(ms / 1000),
				 .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&span, NULL);
}

/* Sleeps ms in steps of at most ping_ms, telling the service manager's
 * watchdog after each one (ping_ms 0: no watchdog, one step), so that a
 * discovery interval longer than WatchdogSec still keeps the agent alive.
 * A stop or reload request ends it early. */
static void sleep_pinging(uint64_t ms, uint64_t ping_ms)
{
	while (ping_ms && ms > ping_ms && !stop_requested &&
	       !reload_requested) {
		sleep_ms(ping_ms);
		notify_watchdog();
		ms -= ping_ms;
	}
	if (!stop_requested && !reload_requested)
		sleep_ms(ms);
}

/* Guests running now: the table keeps exited ones listed for a while. */
static size_t live_guests(const struct guest_table *table)
{
	size_t live = 0;

	for (size_t i = 0; i < table->guest_count; i++)
		live += !table->guests[i].exited;
	return live;
}

/* path_given: --config named the file. Without it, no file at the default
 * path is a first run by hand, which gets the built-in defaults and one
 * line saying so (the unit always passes --config). Then what the file
 * names (preflight.h): the same checks for run, reload and check-config,
 * all before anything touches the kernel. */
static int load_config(const char *path, bool path_given, struct config *config)
{
	bool defaulted;
	char errors[4096], warnings[1024];
	int err;

	err = config_load_or_defaults(config, path, path_given, &defaulted,
				      errors, sizeof(errors));
	if (!err)
		err = config_preflight(config, path, errors, sizeof(errors),
				       warnings, sizeof(warnings));
	if (err)
		fprintf(stderr, "<3>kvmwarden: invalid configuration:\n%s",
			errors);
	else if (warnings[0])
		fprintf(stderr, "<4>kvmwarden: warning: %s", warnings);
	if (!err && defaulted)
		fprintf(stderr,
			"<5>kvmwarden: no %s: running on the built-in "
			"defaults (mode %s, /metrics on %s); write that file "
			"or pass --config FILE to change them\n",
			path, config_mode_name(config->mode),
			config->listen_address);
	return err;
}

static void announce(const struct guest_table *table, uint64_t *last_id,
		     uint64_t since_ns)
{
	for (size_t i = 0; i < table->guest_count; i++) {
		const struct guest *guest = &table->guests[i];

		if (guest->id > *last_id) {
			fprintf(stderr,
				"<6>kvmwarden: guest %s found (pid %d, %s)\n",
				guest->name, guest->pid,
				vmm_kind_name(guest->vmm));
			*last_id = guest->id;
		}
		if (guest->exited && guest->exited_at_ns > since_ns)
			fprintf(stderr,
				"<6>kvmwarden: guest %s (pid %d) exited\n",
				guest->name, guest->pid);
	}
}

/* Logs a line per running guest, and puts the one with the most steal in
 * the service's status line (`systemctl status kvmwarden`). */
static void summarize(const struct report *report)
{
	const char *worst = NULL;
	double worst_pct = 0.0;
	size_t live = 0;

	for (size_t i = 0; i < report->guest_count; i++) {
		const struct report_guest *guest = &report->guests[i];
		size_t vcpus = guest->vcpu_count ? guest->vcpu_count : 1;
		double steal_pct = 100.0 * (double)guest->vcpu_total.steal_ns /
				   (double)(report->duration_ns * vcpus);

		if (guest->exited)
			continue;
		live++;
		if (!worst || steal_pct > worst_pct) {
			worst = guest->name;
			worst_pct = steal_pct;
		}
		fprintf(stderr,
			"<6>kvmwarden: %s: %zu vCPUs, steal %.1f%% per vCPU, "
			"%.1f ms in total over %.1f s\n",
			guest->name, guest->vcpu_count, steal_pct,
			(double)guest->vcpu_total.steal_ns / 1e6,
			(double)report->duration_ns / 1e9);
	}
	if (worst)
		notify_status("measuring %zu guest%s; most steal: %s, %.1f%% "
			      "per vCPU over %.0f s",
			      live, live == 1 ? "" : "s", worst, worst_pct,
			      (double)report->duration_ns / 1e9);
	else
		notify_status("measuring 0 guests");
}

/* The metrics endpoint, when listen_address names one. Failing to serve
 * what the operator configured is fatal: better than a silent gap. */
static int start_http(struct http_server **http, const struct config *config,
		      struct metrics *metrics)
{
	struct http_options opts = { .listen_address = config->listen_address,
				     .web_config_path = config->web_config };
	char why[512];

	*http = NULL;
	if (!config->listen_address[0])
		return 0;
	/* Bound only: its thread starts in serve() once privileges are
	 * dropped. */
	if (http_open(http, &opts, metrics_render, metrics, why, sizeof(why))) {
		fprintf(stderr, "<3>kvmwarden: %s\n", why);
		return 1;
	}
	return 0;
}

/* Collects and hands the figures to the endpoint. Out of memory keeps the
 * previous copy: scrapes then repeat it, which is better than none. */
static void publish(struct tracker *tracker, struct metrics *metrics,
		    uint64_t discovery_ns, uint64_t lag_ns)
{
	collect_pass(tracker);
	if (metrics_publish_tracker(metrics, tracker, discovery_ns, lag_ns))
		fputs("<4>kvmwarden: metrics not updated: out of memory\n",
		      stderr);
	if (io_collector &&
	    metrics_publish_io(metrics, io_collector, &tracker->table))
		fputs("<4>kvmwarden: I/O metrics not updated\n", stderr);
}

/* Attaching needed CAP_PERFMON (and CAP_BPF); from here on only what
 * measuring and enforcing use is kept, so a compromised agent can do less,
 * and the agent checks that it can no longer load a BPF program. */
static void drop_privileges(struct loader *loader)
{
	bool keep_bpf =
		privilege_bpf_fd_ops_need_cap(loader_probe_map_fd(loader));
	int err = privilege_drop(privilege_keep_mask(keep_bpf));

	if (err) {
		fprintf(stderr, "<4>kvmwarden: cannot drop capabilities: %s\n",
			strerror(-err));
		return;
	}
	fprintf(stderr,
		"<6>kvmwarden: dropped the capabilities attaching needed%s\n",
		keep_bpf ? " (CAP_BPF stays: this kernel wants it for every "
			   "bpf() call)" :
			   ", CAP_BPF included");
	if (keep_bpf)
		return; /* with CAP_BPF, loading stays possible: nothing to prove */
	err = privilege_check_bpf_load_denied();
	if (err == 0)
		fputs("<6>kvmwarden: loading a BPF program is now refused\n",
		      stderr);
	else if (err == -EEXIST)
		fputs("<4>kvmwarden: loading a BPF program still works "
		      "(kernel.unprivileged_bpf_disabled is 0?)\n",
		      stderr);
	else
		fprintf(stderr, "<4>kvmwarden: BPF load probe failed: %s\n",
			strerror(-err));
}

/* Enforcement's own window, one interval_ms long, apart from the summary
 * window so a 10 s summary does not slow a 250 ms controller down. */
struct enforce_window {
	struct guest_table previous;
	uint64_t start_ns;
	bool primed;
	struct io_snapshot io_previous; /* I/O budgets' window, same span */
};

static void enforce_tick(struct enforcer *enforcer, struct tracker *tracker,
			 const struct config *config,
			 struct enforce_window *window)
{
	struct guest_table current;
	struct report report;
	uint64_t now_ns = monotonic_ns();

	if (window->primed &&
	    now_ns - window->start_ns < config->interval_ms * NS_PER_MS)
		return;
	struct io_snapshot io_now = { 0 };
	struct io_report io;

	collect_pass(tracker);
	if (io_collector) {
		block_collector_sync(io_collector, &tracker->table);
		if (block_collector_snapshot(io_collector, &io_now))
			memset(&io_now, 0, sizeof(io_now));
	}
	now_ns = monotonic_ns();
	if (guest_table_copy(&current, &tracker->table)) {
		io_snapshot_free(&io_now);
		return;
	}
	if (window->primed && report_build(&report, &window->previous, &current,
					   now_ns - window->start_ns) == 0) {
		if (io_collector &&
		    block_collector_report(io_collector, &current,
					   &window->io_previous, &io_now,
					   &io) == 0)
			report.io = &io;
		enforcer_step(enforcer, &report, now_ns / NS_PER_MS);
		if (report.io)
			io_report_free(&io);
		report_free(&report);
	}
	io_snapshot_free(&window->io_previous);
	window->io_previous = io_now;
	if (window->primed)
		guest_table_free(&window->previous);
	window->previous = current;
	window->start_ns = now_ns;
	window->primed = true;
}

/* The local socket, when socket_path names one; failing to serve it is
 * fatal for the same reason as the endpoint's. */
static int start_api(struct api_server **api, const struct config *config)
{
	struct api_options opts = { .path = config->socket_path,
				    .group = config->socket_group };
	char why[512];

	*api = NULL;
	if (!config->socket_path[0])
		return 0;
	if (api_open(api, &opts, why, sizeof(why))) {
		fprintf(stderr, "<3>kvmwarden: %s\n", why);
		return 1;
	}
	return 0;
}

/* Capabilities are per thread, and a thread keeps what it had when it
 * started: the servers' threads, which talk to the network and to local
 * clients, start only after drop_privileges(), and the agent checks that
 * none of its threads holds more than the main one. */
static int serve(struct http_server *http, struct api_server *api,
		 const struct config *config)
{
	char why[512];
	int above, tid;

	if (http && http_serve(http, why, sizeof(why))) {
		fprintf(stderr, "<3>kvmwarden: %s\n", why);
		return 1;
	}
	if (http)
		fprintf(stderr, "<6>kvmwarden: serving /metrics on %s%s%s\n",
			config->listen_address,
			config->web_config[0] ? " with " : "",
			config->web_config);
	if (api && api_serve(api, why, sizeof(why))) {
		fprintf(stderr, "<3>kvmwarden: %s\n", why);
		return 1;
	}
	if (api)
		fprintf(stderr, "<6>kvmwarden: serving the local socket %s\n",
			config->socket_path);
	above = privilege_threads_above_main("/proc", getpid(), &tid);
	if (above > 0)
		fprintf(stderr,
			"<3>kvmwarden: %d thread%s (tid %d) hold%s "
			"capabilities the main thread dropped\n",
			above, above == 1 ? "" : "s", tid,
			above == 1 ? "s" : "");
	return 0;
}

/* Every interval_ms: the window since the last one, for the socket. */
static void publish_window(struct api_server *api, struct snapshot_feed *feed,
			   struct tracker *tracker, const struct config *config)
{
	struct api_status status = { .mode = config_mode_name(config->mode),
				     .features_json = features_text };
	char *json;
	int err;

	if (!api || monotonic_ns() - feed->window_start_ns <
			    config->interval_ms * NS_PER_MS)
		return;
	err = snapshot_feed_next(feed, tracker, &json);
	if (err)
		fprintf(stderr, "<4>kvmwarden: window not published: %s\n",
			strerror(-err));
	status.guests = live_guests(&tracker->table);
	status.seq = feed->seq;
	if (api_publish(api, json, &status))
		fputs("<4>kvmwarden: window not published: out of memory\n",
		      stderr);
	free(json);
}

static int measure_loop(struct tracker *tracker, struct config *config,
			const char *path, bool path_given,
			struct metrics *metrics, struct enforcer *enforcer,
			struct api_server *api)
{
	struct enforce_window enforce_window = { .primed = false };
	struct snapshot_feed feed;
	struct guest_table previous;
	uint64_t last_id = 0, window_start_ns, pass_ns = monotonic_ns();
	/* A quarter of WatchdogSec: pings come at least twice per timeout
	 * even when a discovery pass takes as long as a sleep step. */
	uint64_t ping_ms = (notify_watchdog_usec() + 3999) / 4000;
	char status[64];
	size_t shown_live;
	int err;

	publish(tracker, metrics, 0, 0);
	err = guest_table_copy(&previous, &tracker->table);
	if (err)
		return err;
	err = snapshot_feed_init(&feed, tracker, io_collector);
	if (err) {
		guest_table_free(&previous);
		return err;
	}
	feed.features = &agent_features;
	window_start_ns = monotonic_ns();
	announce(&tracker->table, &last_id, 0);
	/* Ready: BPF is loaded, the guests running now are found (by
	 * session_open's first pass) and the endpoint serves. */
	shown_live = live_guests(&tracker->table);
	snprintf(status, sizeof(status), "measuring %zu guest%s", shown_live,
		 shown_live == 1 ? "" : "s");
	notify_ready(status);

	while (!stop_requested) {
		uint64_t now_ns, asleep_ns, interval_ns, discovery_ns;

		interval_ns = config->discover_interval_ms * NS_PER_MS;
		asleep_ns = monotonic_ns();
		if (ping_ms)
			notify_watchdog();
		sleep_pinging(config->discover_interval_ms, ping_ms);
		if (stop_requested)
			break;
		/* How much later than asked the loop woke: a host too busy
		 * to run the agent on time. */
		asleep_ns = monotonic_ns() - asleep_ns;
		if (reload_requested) {
			struct config fresh;

			reload_requested = 0;
			if (load_config(path, path_given, &fresh) == 0 &&
			    !refuse_budgets(&fresh.enforce)) {
				if (strcmp(fresh.listen_address,
					   config->listen_address) ||
				    strcmp(fresh.web_config,
					   config->web_config))
					fputs("<4>kvmwarden: listen_address and "
					      "web_config change at the next "
					      "restart\n",
					      stderr);
				metrics_set_per_vcpu(metrics,
						     fresh.per_vcpu_metrics);
				if (fresh.mode != enforcer->file_mode)
					fputs("<4>kvmwarden: the mode changes "
					      "at the next restart\n",
					      stderr);
				enforcer->file_mode = fresh.mode;
				fresh.mode = config->mode;
				*config = fresh;
				enforcer_reload(enforcer, config);
				tracker->retain_ns =
					(uint64_t)fresh.retain_exited_s * 1000 *
					NS_PER_MS;
				fprintf(stderr,
					"<5>kvmwarden: configuration reloaded "
					"(mode %s)\n",
					config_mode_name(config->mode));
			} else {
				fputs("<4>kvmwarden: keeping the previous "
				      "configuration\n",
				      stderr);
			}
		}
		now_ns = monotonic_ns();
		err = discover_pass(tracker, now_ns);
		discovery_ns = monotonic_ns() - now_ns;
		if (err)
			fprintf(stderr,
				"<4>kvmwarden: discovery pass failed: %s\n",
				strerror(-err));
		publish(tracker, metrics, discovery_ns,
			asleep_ns > interval_ns ? asleep_ns - interval_ns : 0);
		publish_window(api, &feed, tracker, config);
		announce(&tracker->table, &last_id, pass_ns);
		pass_ns = now_ns;
		enforce_tick(enforcer, tracker, config, &enforce_window);
		if (live_guests(&tracker->table) != shown_live) {
			shown_live = live_guests(&tracker->table);
			notify_status("measuring %zu guest%s", shown_live,
				      shown_live == 1 ? "" : "s");
		}
		if (!config->summary_interval_s ||
		    now_ns - window_start_ns <
			    config->summary_interval_s * 1000 * NS_PER_MS)
			continue;

		struct report report;
		struct guest_table current;

		collect_pass(tracker);
		now_ns = monotonic_ns();
		if (guest_table_copy(&current, &tracker->table))
			continue;
		if (report_build(&report, &previous, &current,
				 now_ns - window_start_ns) == 0) {
			summarize(&report);
			report_free(&report);
		}
		guest_table_free(&previous);
		previous = current;
		window_start_ns = now_ns;
	}
	guest_table_free(&previous);
	if (enforce_window.primed)
		guest_table_free(&enforce_window.previous);
	io_snapshot_free(&enforce_window.io_previous);
	snapshot_feed_free(&feed);
	return 0;
}

/* A budget that needs a feature this kernel did not give (throttling
 * culprits without attribution, an I/O budget without the block programs)
 * would act on figures that are not there: refuse it, loudly, rather than
 * run it blind. Returns how many were refused. */
static size_t refuse_budgets(const struct enforce_config *enforce)
{
	char lines[2048];
	size_t refused = features_check_budgets(enforce, &agent_features, lines,
						sizeof(lines));

	for (char *line = strtok(lines, "\n"); line; line = strtok(NULL, "\n"))
		fprintf(stderr, "<3>kvmwarden: refusing %s\n", line);
	return refused;
}

/* Gathers, logs and publishes what loaded. Returns how many budgets need
 * a feature this kernel lacks: each is named; the caller decides. */
static size_t settle_features(struct tracker *tracker,
			      const struct config *config)
{
	struct json_object *obj;
	size_t refused;

	features_gather(&agent_features, tracker->loader, io_collector,
			tracker->kvm);
	features_log(&agent_features, stderr);
	refused = refuse_budgets(&config->enforce);
	obj = features_json(&agent_features);
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
		fprintf(stderr,
			"<4>kvmwarden: %zu budget%s cannot work on this kernel "
			"(named above; monitor mode enforces nothing)\n",
			refused, refused == 1 ? "" : "s");
		return 0;
	}
	fprintf(stderr,
		"<3>kvmwarden: enforcement off: %zu budget%s cannot work on "
		"this kernel; running in monitor mode, steal still measured "
		"(remove %s, or the keys named above, and restart)\n",
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
		fputs("<4>kvmwarden: no cpu cgroup hierarchy: cgroup_guests "
		      "ignored\n",
		      stderr);
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
			fprintf(stderr,
				"kvmwarden: run: unknown option or missing "
				"value: '%s' (see kvmwarden run --help)\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (mode && strcmp(mode, "monitor") && strcmp(mode, "enforce")) {
		fprintf(stderr,
			"kvmwarden: run: --mode wants monitor or enforce, got "
			"'%s'\n",
			mode);
		return 2;
	}
	if (load_config(path, path_given, &config))
		return 1;
	file_mode = config.mode;
	if (mode)
		config.mode = strcmp(mode, "enforce") ? CONFIG_MODE_MONITOR :
							CONFIG_MODE_ENFORCE;
	/* Before anything can change: a SIGTERM while BPF loads then ends
	 * the loop at its first check, through the path that undoes. */
	install_signals();
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
	if (!code)
		code = start_http(&http, &config, &metrics);
	if (!code)
		code = start_api(&api, &config);
	if (!code) {
		/* What loaded is known now: `status` says so before the first
		 * window is published. */
		struct api_status first = {
			.mode = config_mode_name(config.mode),
			.features_json = features_text,
		};

		api_publish(api, NULL, &first);
		drop_privileges(loader);
		code = serve(http, api, &config);
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
	fprintf(stderr,
		"<6>kvmwarden: running (mode %s, interval %u ms, discovery "
		"every %u ms)\n",
		config_mode_name(config.mode), config.interval_ms,
		config.discover_interval_ms);
	code = measure_loop(&tracker, &config, path, path_given, &metrics,
			    &enforcer, api) ?
		       1 :
		       0;
	notify_stopping();
	fputs("<6>kvmwarden: stopping\n", stderr);
	/* Undo before anything else goes: a stop must leave no limit. */
	not_undone = enforcer_stop(&enforcer);
	if (not_undone) {
		fprintf(stderr,
			"<3>kvmwarden: %zu change%s could not be undone; "
			"they stay in %s for kvmwarden restore\n",
			not_undone, not_undone == 1 ? "" : "s",
			config.enforce.state_file);
		code = 1;
	}
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

int cmd_check_config(int argc, char **argv)
{
	struct config config;

	if (argc != 2) {
		fputs("usage: kvmwarden check-config FILE\n", stderr);
		return 2;
	}
	if (load_config(argv[1], true, &config))
		return 1;
	printf("%s: valid (mode %s, interval %u ms)\n", argv[1],
	       config_mode_name(config.mode), config.interval_ms);
	return 0;
}
