// SPDX-License-Identifier: GPL-2.0-only
/*
 * `kvmwarden top` and `kvmwarden status`. top asks the running agent for
 * its window over the local socket; with no agent it loads the BPF
 * programs itself and builds the same window in-process, as dump does.
 * Interactive mode needs a terminal on stdout; otherwise, or with -b or
 * --json, frames go to stdout as plain text or one JSON document each.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curses.h>
#include <json-c/json.h>

#include "base/paths.h"
#include "serve/api.h"
#include "cmd/commands.h"
#include "config/config.h"
#include "collect/discover.h"
#include "collect/features.h"
#include "model/feature_table.h"
#include "serve/snapshot.h"
#include "top/top.h"
#include "top/top_model.h"

#define DEFAULT_DELAY_S 1.0
#define MIN_DELAY_S 0.2
#define MAX_DELAY_S 3600.0
#define REQUEST_TIMEOUT_MS 2000
/* Exited guests stay in the in-process table this long, as in the agent. */
#define LOCAL_RETAIN_NS 60000000000ULL
#define MAX_EXPANDED 64

static volatile sig_atomic_t stop_requested;

static void on_stop(int signo)
{
	stop_requested = 1;
}

static uint64_t now_ms(void)
{
	return monotonic_ns() / 1000000ULL;
}

/* ------------------------------------------------------------ source */

struct top_source {
	const char *socket_path;
	bool agent; /* reading the agent's socket, else measuring here */
	struct loader *loader;
	struct tracker tracker;
	struct block_collector *block; /* I/O; NULL when out of memory */
	struct snapshot_feed feed;
	struct features features; /* in-process: what loaded here */
};

/* The agent when it answers (unless `local`), else in-process (unless
 * `agent_only`). Returns 0 or an exit code after one line on stderr. */
static int source_open(struct top_source *src, const char *socket_path,
		       bool local, bool agent_only, bool quiet)
{
	struct json_object *answer = NULL;
	int err = -ENOENT, code;

	memset(src, 0, sizeof(*src));
	src->socket_path = socket_path;
	if (!local) {
		err = api_request(socket_path, "status", REQUEST_TIMEOUT_MS,
				  &answer);
		json_object_put(answer);
		if (!err) {
			src->agent = true;
			return 0;
		}
	}
	if (agent_only) {
		fprintf(stderr, "kvmwarden: top: no agent answers on %s: %s\n",
			socket_path, strerror(-err));
		return 1;
	}
	if (!quiet)
		fprintf(stderr,
			"kvmwarden: top: no agent on %s; measuring "
			"in-process\n",
			socket_path);
	code = session_open(&src->loader, &src->tracker, "/proc",
			    LOCAL_RETAIN_NS);
	if (code)
		return code;
	/* I/O is optional, as in dump: without it the columns show "-". */
	src->block = block_collector_open("/proc");
	block_collector_sync(src->block, &src->tracker.table);
	err = snapshot_feed_init(&src->feed, &src->tracker, src->block);
	if (err) {
		fprintf(stderr, "kvmwarden: top: %s\n", strerror(-err));
		block_collector_close(src->block);
		session_close(src->loader, &src->tracker);
		return 1;
	}
	/* Not logged: the screen shows them, stderr would tear it. */
	features_gather(&src->features, src->loader, src->block,
			src->tracker.kvm);
	src->feed.features = &src->features;
	return 0;
}

static void source_close(struct top_source *src)
{
	if (src->agent)
		return;
	snapshot_feed_free(&src->feed);
	block_collector_close(src->block);
	session_close(src->loader, &src->tracker);
}

static const char *source_label(const struct top_source *src)
{
	return src->agent ? "agent" : "local";
}

/* One window document, or NULL with a reason in `why`. */
static struct json_object *source_fetch(struct top_source *src, char *why,
					size_t why_size)
{
	struct json_object *answer = NULL, *ok, *snapshot = NULL;
	char *text = NULL;
	int err;

	if (!src->agent) {
		err = discover_pass(&src->tracker, monotonic_ns());
		block_collector_sync(src->block, &src->tracker.table);
		if (!err)
			err = snapshot_feed_next(&src->feed, &src->tracker,
						 &text);
		if (err) {
			snprintf(why, why_size, "measuring failed: %s",
				 strerror(-err));
			return NULL;
		}
		snapshot = json_tokener_parse(text);
		free(text);
		if (!snapshot)
			snprintf(why, why_size, "window not readable");
		return snapshot;
	}
	err = api_request(src->socket_path, "snapshot", REQUEST_TIMEOUT_MS,
			  &answer);
	if (err) {
		snprintf(why, why_size, "agent not answering on %s: %s",
			 src->socket_path, strerror(-err));
		return NULL;
	}
	if (!json_object_object_get_ex(answer, "ok", &ok) ||
	    !json_object_get_boolean(ok) ||
	    !json_object_object_get_ex(answer, "snapshot", &snapshot)) {
		struct json_object *error = NULL;

		json_object_object_get_ex(answer, "error", &error);
		snprintf(why, why_size, "agent: %s",
			 error ? json_object_get_string(error) :
				 "unexpected answer");
		json_object_put(answer);
		return NULL;
	}
	json_object_get(snapshot);
	json_object_put(answer);
	return snapshot;
}

/* The CPU a vCPU thread last ran on, from /proc (field 39 of stat). The
 * window does not carry it: it changes faster than windows do. */
static int thread_cpu(int pid, int tid)
{
	char path[64], text[1024], *field;
	FILE *file;
	size_t len;
	int cpu = -1;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	file = fopen(path, "r");
	if (!file)
		return -1;
	len = fread(text, 1, sizeof(text) - 1, file);
	fclose(file);
	text[len] = '\0';
	/* The name may hold spaces and ')': count from the last ')'. */
	field = strrchr(text, ')');
	for (int i = 2; field && i < 39; i++)
		field = strchr(field + 1, ' ');
	if (field && sscanf(field + 1, "%d", &cpu) != 1)
		cpu = -1;
	return cpu;
}

static void fill_cpus(struct top_guest *guest)
{
	for (size_t i = 0; i < guest->vcpus_len; i++)
		if (guest->vcpus[i].cpu < 0)
			guest->vcpus[i].cpu =
				thread_cpu(guest->pid, guest->vcpus[i].tid);
}

/* ------------------------------------------------------------ options */

struct top_options {
	bool batch;
	bool json;
	bool expand_all;
	bool local;
	bool agent_only;
	long iterations; /* 0: until stopped */
	double delay_s;
	int width;
	enum top_column sort;
	bool reverse;
	char filter[TOP_NAME_LEN];
	char socket_path[108];
};

static int parse_column(const char *text, enum top_column *out)
{
	for (int i = 0; i < TOP_COL_COUNT; i++) {
		const char *name = top_column_name(i);

		if (!strcasecmp(text, name) ||
		    (strlen(text) > 1 &&
		     !strncasecmp(text, name, strlen(text)))) {
			*out = (enum top_column)i;
			return 0;
		}
	}
	return -EINVAL;
}

static void top_usage(FILE *out)
{
	fputs("usage: kvmwarden top [-b] [-n COUNT] [-d SECONDS] [--json]\n"
	      "         [-o COLUMN] [-R] [-f TEXT] [-e] [-w WIDTH]\n"
	      "         [--socket PATH | --config FILE] [--local | --agent]\n"
	      "  -b, --batch       plain-text frames on stdout (the default "
	      "without a terminal)\n"
	      "  -n, --iterations  stop after COUNT frames\n"
	      "  -d, --delay       seconds between frames (0.2 to 3600, "
	      "default 1)\n"
	      "      --json        one JSON document per frame (implies -b)\n"
	      "  -o, --sort        NAME VCPU STEAL% 1MIN% WAIT99 CULPRIT IOPS "
	      "MB/s QWAIT BUDGET\n"
	      "  -R, --reverse     reverse the order\n"
	      "  -f, --filter      only guests whose name contains TEXT\n"
	      "  -e, --expand      list each guest's vCPUs (batch)\n"
	      "  -w, --width       batch line width (80 to 400, default 80)\n"
	      "      --socket      the agent's socket (default: socket_path "
	      "of the configuration)\n"
	      "      --local       measure in-process even if an agent runs\n"
	      "      --agent       fail unless the agent answers\n",
	      out);
}

int top_socket_from_config(const char *path, bool explicit_path, char *out,
			   size_t size)
{
	struct config config;
	char errors[2048];

	if (!explicit_path && access(path, F_OK)) {
		snprintf(out, size, "%s", API_DEFAULT_SOCKET);
		return 0;
	}
	if (config_load(&config, path, errors, sizeof(errors))) {
		fprintf(stderr, "kvmwarden: %s", errors);
		if (explicit_path)
			return -EINVAL;
		/* Only the socket's path was wanted from it: a broken file
		 * the operator did not name should not block a look. */
		fprintf(stderr, "kvmwarden: using %s\n", API_DEFAULT_SOCKET);
		snprintf(out, size, "%s", API_DEFAULT_SOCKET);
		return 0;
	}
	if (!config.socket_path[0]) {
		fprintf(stderr,
			"kvmwarden: %s: socket_path is '' (the agent "
			"serves no socket)\n",
			path);
		snprintf(out, size, "%s", API_DEFAULT_SOCKET);
		return 0;
	}
	snprintf(out, size, "%s", config.socket_path);
	return 0;
}

static int parse_top_options(int argc, char **argv, struct top_options *opts)
{
	static const struct option options[] = {
		{ "batch", no_argument, NULL, 'b' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "delay", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "sort", required_argument, NULL, 'o' },
		{ "reverse", no_argument, NULL, 'R' },
		{ "filter", required_argument, NULL, 'f' },
		{ "expand", no_argument, NULL, 'e' },
		{ "width", required_argument, NULL, 'w' },
		{ "socket", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "local", no_argument, NULL, 'L' },
		{ "agent", no_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *config_path = KVMWARDEN_DEFAULT_CONFIG;
	bool config_given = false, socket_given = false;
	char *end;
	int opt;

	memset(opts, 0, sizeof(*opts));
	opts->delay_s = DEFAULT_DELAY_S;
	opts->width = TOP_MIN_WIDTH;
	opts->sort = TOP_COL_STEAL;
	optind = 1;
	opterr = 0; /* one line of our own instead of getopt's two */
	while ((opt = getopt_long(argc, argv, "bn:d:o:Rf:ew:h", options,
				  NULL)) != -1) {
		switch (opt) {
		case 'b':
			opts->batch = true;
			break;
		case 'j':
			opts->json = opts->batch = true;
			break;
		case 'n':
			errno = 0;
			opts->iterations = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end ||
			    opts->iterations < 1 ||
			    opts->iterations > 100000000) {
				fprintf(stderr,
					"kvmwarden: top: -n wants a count "
					"from 1, got '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'd':
			errno = 0;
			opts->delay_s = strtod(optarg, &end);
			if (errno || end == optarg || *end ||
			    !isfinite(opts->delay_s) ||
			    opts->delay_s < MIN_DELAY_S ||
			    opts->delay_s > MAX_DELAY_S) {
				fprintf(stderr,
					"kvmwarden: top: -d wants seconds "
					"from %.1f to %.0f, got '%s'\n",
					MIN_DELAY_S, MAX_DELAY_S, optarg);
				return 2;
			}
			break;
		case 'o':
			if (parse_column(optarg, &opts->sort)) {
				fprintf(stderr,
					"kvmwarden: top: --sort wants a "
					"column name (see --help), got "
					"'%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'R':
			opts->reverse = true;
			break;
		case 'f':
			snprintf(opts->filter, sizeof(opts->filter), "%s",
				 optarg);
			break;
		case 'e':
			opts->expand_all = true;
			break;
		case 'w':
			errno = 0;
			opts->width = (int)strtol(optarg, &end, 10);
			if (errno || end == optarg || *end ||
			    opts->width < TOP_MIN_WIDTH || opts->width > 400) {
				fprintf(stderr,
					"kvmwarden: top: -w wants 80 to 400 "
					"columns, got '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 's':
			if (strlen(optarg) >= sizeof(opts->socket_path) ||
			    !optarg[0]) {
				fprintf(stderr,
					"kvmwarden: top: --socket: empty or "
					"too long\n");
				return 2;
			}
			snprintf(opts->socket_path, sizeof(opts->socket_path),
				 "%s", optarg);
			socket_given = true;
			break;
		case 'c':
			config_path = optarg;
			config_given = true;
			break;
		case 'L':
			opts->local = true;
			break;
		case 'A':
			opts->agent_only = true;
			break;
		case 'h':
			top_usage(stdout);
			return -1;
		default:
			fprintf(stderr,
				"kvmwarden: top: unknown option or missing "
				"value: '%s' (see kvmwarden top --help)\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kvmwarden: top: unexpected argument '%s'\n",
			argv[optind]);
		return 2;
	}
	if (opts->local && opts->agent_only) {
		fputs("kvmwarden: top: --local and --agent exclude each "
		      "other\n",
		      stderr);
		return 2;
	}
	if (!socket_given &&
	    top_socket_from_config(config_path, config_given, opts->socket_path,
			       sizeof(opts->socket_path)))
		return 2;
	return 0;
}

/* ------------------------------------------------------------ batch */

static void print_frame(const struct top_model *model,
			const struct top_options *opts, const char *source)
{
	char line[512], stamp[16];
	time_t now = time(NULL);
	struct tm local;

	localtime_r(&now, &local);
	strftime(stamp, sizeof(stamp), "%H:%M:%S", &local);
	printf("kvmwarden top - %s  sort %s%s%s%s\n", stamp,
	       top_column_name(model->sort),
	       model->reverse ? " (reversed)" : "",
	       model->filter[0] ? "  filter " : "", model->filter);
	top_format_host(line, sizeof(line), model, source, opts->delay_s,
			opts->width);
	puts(line);
	/* A blank line would end the frame for readers that split on one. */
	if (top_format_features(line, sizeof(line), model, opts->width))
		puts(line);
	top_format_header(line, sizeof(line), model, opts->width);
	puts(line);
	for (size_t i = 0; i < model->guest_count; i++) {
		struct top_guest *guest = &model->guests[i];

		if (!top_guest_matches(guest, model->filter))
			continue;
		top_format_guest(line, sizeof(line), guest, opts->width);
		puts(line);
		if (!opts->expand_all)
			continue;
		fill_cpus(guest);
		for (size_t v = 0; v < guest->vcpus_len; v++) {
			top_format_vcpu(line, sizeof(line), &guest->vcpus[v],
					opts->width);
			puts(line);
		}
	}
	putchar('\n');
}

static void sleep_s(double seconds)
{
	struct timespec span = {
		.tv_sec = (time_t)seconds,
		.tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9)
	};

	nanosleep(&span, NULL); /* a signal ends it; the caller checks */
}

static int run_batch(struct top_source *src, struct top_model *model,
		     const struct top_options *opts)
{
	char why[256];
	int failures = 0;

	/* In-process, the first window needs a delay to span; the agent has
	 * one ready. */
	if (!src->agent)
		sleep_s(opts->delay_s);
	for (long frame = 0; !stop_requested; frame++) {
		struct json_object *doc = source_fetch(src, why, sizeof(why));

		if (!doc) {
			fprintf(stderr, "kvmwarden: top: %s\n", why);
			failures++;
		} else if (opts->json) {
			puts(json_object_to_json_string_ext(
				doc, JSON_C_TO_STRING_PLAIN));
		} else if (top_model_ingest(model, doc, monotonic_ns())) {
			fputs("kvmwarden: top: window not readable\n", stderr);
			failures++;
		} else {
			print_frame(model, opts, source_label(src));
		}
		json_object_put(doc);
		if (fflush(stdout))
			return 1; /* the reader went away */
		if (opts->iterations && frame + 1 >= opts->iterations)
			break;
		sleep_s(opts->delay_s);
	}
	return failures ? 1 : 0;
}

/* ------------------------------------------------------------ screen */

enum { PAIR_HEADER = 1, PAIR_HOT, PAIR_WARM, PAIR_TITLE };

struct guest_key {
	char name[TOP_NAME_LEN];
	int pid;
};

struct screen {
	struct top_model *model;
	struct top_source *src;
	double delay_s;
	bool paused;
	bool help;
	bool color;
	struct guest_key selected; /* by identity: survives re-sorting */
	struct guest_key expanded[MAX_EXPANDED];
	size_t expanded_count;
	int scroll; /* first guest line shown */
	char message[256];
};

static bool same_guest(const struct guest_key *key,
		       const struct top_guest *guest)
{
	return key->pid == guest->pid && !strcmp(key->name, guest->name);
}

static bool is_expanded(const struct screen *scr, const struct top_guest *g)
{
	for (size_t i = 0; i < scr->expanded_count; i++)
		if (same_guest(&scr->expanded[i], g))
			return true;
	return false;
}

static void toggle_expanded(struct screen *scr, const struct top_guest *g)
{
	for (size_t i = 0; i < scr->expanded_count; i++) {
		if (same_guest(&scr->expanded[i], g)) {
			scr->expanded[i] = scr->expanded[--scr->expanded_count];
			return;
		}
	}
	if (scr->expanded_count < MAX_EXPANDED) {
		struct guest_key *key = &scr->expanded[scr->expanded_count++];

		snprintf(key->name, sizeof(key->name), "%s", g->name);
		key->pid = g->pid;
	}
}

/* The guests shown, in order: indexes into model->guests. */
static size_t visible_guests(const struct screen *scr, size_t *out, size_t max)
{
	size_t count = 0;

	for (size_t i = 0; i < scr->model->guest_count && count < max; i++)
		if (top_guest_matches(&scr->model->guests[i],
				      scr->model->filter))
			out[count++] = i;
	return count;
}

static int selected_position(const struct screen *scr, const size_t *shown,
			     size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (same_guest(&scr->selected, &scr->model->guests[shown[i]]))
			return (int)i;
	return count ? 0 : -1;
}

static void select_position(struct screen *scr, const size_t *shown,
			    size_t count, int position)
{
	const struct top_guest *guest;

	if (!count)
		return;
	if (position < 0)
		position = 0;
	if ((size_t)position >= count)
		position = (int)count - 1;
	guest = &scr->model->guests[shown[position]];
	snprintf(scr->selected.name, sizeof(scr->selected.name), "%s",
		 guest->name);
	scr->selected.pid = guest->pid;
}

static void put_line(int y, const char *text, int width, attr_t attr)
{
	/* n <= 0 would mean "the whole string" to curses. */
	if (width <= 0 || y < 0 || y >= LINES)
		return;
	move(y, 0);
	clrtoeol();
	if (attr)
		attron(attr);
	mvaddnstr(y, 0, text, width);
	if (attr)
		attroff(attr);
}

static void draw_help(struct screen *scr)
{
	static const char *const lines[] = {
		"kvmwarden top: keys",
		"",
		"  q          quit",
		"  h ?        this help (any key closes it)",
		"  < >        sort by the column left / right (also , .)",
		"  F6 o       next sort column",
		"  S N W      sort by STEAL%, NAME, WAIT99",
		"  R          reverse the order",
		"  / f        filter by name (empty: no filter)",
		"  Enter e    expand / collapse the selected guest's vCPUs",
		"  E          collapse all",
		"  Up Down    select (also j k, PgUp PgDn, Home End)",
		"  p Space    pause / resume",
		"  d s        change the interval (seconds)",
		"  Ctrl-L     redraw",
		"",
		"Columns: STEAL% per vCPU now, 1MIN% over the last minute,",
		"WAIT99 the 99th percentile of waits for a CPU, CULPRIT who",
		"took most of the steal, IOPS MB/s QWAIT the guest's I/O, BUDGET",
		"its budget state (\"-\" until the agent reports them).",
	};
	int width = COLS;

	erase();
	for (size_t i = 0;
	     i < sizeof(lines) / sizeof(lines[0]) && (int)i < LINES - 1; i++)
		put_line((int)i, lines[i], width, i == 0 ? A_BOLD : 0);
	refresh();
}

static void draw(struct screen *scr)
{
	struct top_model *model = scr->model;
	size_t shown[4096];
	size_t count = visible_guests(scr, shown, 4096);
	int width = COLS, height = LINES, y, first_row = 4;
	int rows = height - first_row - 1, position, line_of_selected = 0;
	char line[512], stamp[16];
	time_t now = time(NULL);
	struct tm local;

	if (scr->help) {
		draw_help(scr);
		return;
	}
	erase();
	localtime_r(&now, &local);
	strftime(stamp, sizeof(stamp), "%H:%M:%S", &local);
	snprintf(line, sizeof(line), "kvmwarden top - %s  sort %s%s%s%s%s",
		 stamp, top_column_name(model->sort),
		 model->reverse ? " R" : "",
		 model->filter[0] ? "  filter: " : "", model->filter,
		 scr->paused ? "  [paused]" : "");
	put_line(0, line, width,
		 A_BOLD | (scr->color ? COLOR_PAIR(PAIR_TITLE) : 0));
	top_format_host(line, sizeof(line), model, source_label(scr->src),
			scr->delay_s, width);
	put_line(1, line, width, 0);
	/* Row 2 is the message line; between messages it says which
	 * features this kernel lacks, so the table below keeps its row. */
	if (scr->message[0])
		put_line(2, scr->message, width, A_BOLD);
	else if (top_format_features(line, sizeof(line), model, width))
		put_line(2, line, width, 0);
	else
		put_line(2, "", width, 0);
	top_format_header(line, sizeof(line), model, width);
	/* The header spans the width, so the reverse bar reads as one. */
	snprintf(line + strlen(line), sizeof(line) - strlen(line), "%*s",
		 width > (int)strlen(line) ? width - (int)strlen(line) : 0, "");
	put_line(3, line, width,
		 scr->color ? COLOR_PAIR(PAIR_HEADER) : A_REVERSE);

	/* Keep the selection on screen: count the lines above it. */
	position = selected_position(scr, shown, count);
	if (position >= 0)
		select_position(scr, shown, count, position);
	if (position < scr->scroll)
		scr->scroll = position < 0 ? 0 : position;
	for (;;) {
		line_of_selected = 0;
		for (int i = scr->scroll; i < position; i++)
			line_of_selected +=
				1 +
				(is_expanded(scr, &model->guests[shown[i]]) ?
					 (int)model->guests[shown[i]].vcpus_len :
					 0);
		if (line_of_selected < rows || scr->scroll >= position)
			break;
		scr->scroll++;
	}

	y = first_row;
	for (size_t i = (size_t)scr->scroll; i < count && y < height - 1; i++) {
		struct top_guest *guest = &model->guests[shown[i]];
		attr_t attr = 0;

		if (scr->color && guest->steal_pct >= 20)
			attr = COLOR_PAIR(PAIR_HOT) | A_BOLD;
		else if (scr->color && guest->steal_pct >= 5)
			attr = COLOR_PAIR(PAIR_WARM);
		if ((int)i == position)
			attr = A_REVERSE;
		top_format_guest(line, sizeof(line), guest, width);
		put_line(y++, line, width, attr);
		if (!is_expanded(scr, guest))
			continue;
		fill_cpus(guest);
		for (size_t v = 0; v < guest->vcpus_len && y < height - 1;
		     v++) {
			top_format_vcpu(line, sizeof(line), &guest->vcpus[v],
					width);
			put_line(y++, line, width, 0);
		}
	}
	if (!count)
		put_line(first_row,
			 model->filter[0] ? "  (no guest matches the filter)" :
					    "  (no guests found yet)",
			 width, 0);
	/* The last column of the last line would scroll some terminals. */
	put_line(height - 1,
		 "q quit  h help  <> sort  R rev  / filter  Enter expand  "
		 "p pause  d delay",
		 width - 1, A_DIM);
	refresh();
}

/* A one-line prompt on the message line; false when cancelled (Esc). */
static bool prompt(struct screen *scr, const char *label, char *out,
		   size_t size)
{
	char text[TOP_NAME_LEN] = "";
	size_t len = 0;
	int key;

	timeout(-1);
	curs_set(1);
	for (;;) {
		snprintf(scr->message, sizeof(scr->message), "%s%s", label,
			 text);
		put_line(2, scr->message, COLS, A_BOLD);
		refresh();
		key = getch();
		if (key == '\n' || key == '\r' || key == KEY_ENTER)
			break;
		if (key == 27 || stop_requested) {
			curs_set(0);
			scr->message[0] = '\0';
			return false;
		}
		if ((key == KEY_BACKSPACE || key == 127 || key == 8) && len)
			text[--len] = '\0';
		else if (key >= 32 && key < 127 && len + 1 < sizeof(text) &&
			 len + 1 < size)
			text[len++] = (char)key, text[len] = '\0';
	}
	curs_set(0);
	scr->message[0] = '\0';
	snprintf(out, size, "%s", text);
	return true;
}

static void set_sort(struct screen *scr, int column)
{
	scr->model->sort =
		(enum top_column)((column + TOP_COL_COUNT) % TOP_COL_COUNT);
	top_model_sort(scr->model);
}

/* Returns false to quit. */
static bool handle_key(struct screen *scr, int key)
{
	struct top_model *model = scr->model;
	size_t shown[4096];
	size_t count = visible_guests(scr, shown, 4096);
	int position = selected_position(scr, shown, count);
	char text[TOP_NAME_LEN];

	if (scr->help) {
		if (key != KEY_RESIZE)
			scr->help = false;
		return true;
	}
	switch (key) {
	case 'q':
	case 'Q':
		return false;
	case 'h':
	case '?':
		scr->help = true;
		break;
	case 'p':
	case ' ':
		scr->paused = !scr->paused;
		break;
	case '<':
	case ',':
		set_sort(scr, (int)model->sort - 1);
		break;
	case '>':
	case '.':
	case 'o':
	case KEY_F(6):
		set_sort(scr, (int)model->sort + 1);
		break;
	case 'S':
		set_sort(scr, TOP_COL_STEAL);
		break;
	case 'N':
		set_sort(scr, TOP_COL_NAME);
		break;
	case 'W':
		set_sort(scr, TOP_COL_WAIT_P99);
		break;
	case 'R':
		model->reverse = !model->reverse;
		top_model_sort(model);
		break;
	case '/':
	case 'f':
		if (prompt(scr, "filter by name: ", text, sizeof(text)))
			snprintf(model->filter, sizeof(model->filter), "%s",
				 text);
		scr->scroll = 0;
		break;
	case 'd':
	case 's': {
		char *end;
		double seconds;

		if (!prompt(scr, "interval in seconds: ", text, sizeof(text)))
			break;
		seconds = strtod(text, &end);
		if (end == text || *end || !isfinite(seconds) ||
		    seconds < MIN_DELAY_S || seconds > MAX_DELAY_S)
			snprintf(scr->message, sizeof(scr->message),
				 "interval: %.1f to %.0f seconds, not '%s'",
				 MIN_DELAY_S, MAX_DELAY_S, text);
		else
			scr->delay_s = seconds;
		break;
	}
	case '\n':
	case '\r':
	case KEY_ENTER:
	case 'e':
		if (position >= 0)
			toggle_expanded(scr, &model->guests[shown[position]]);
		break;
	case 'E':
		scr->expanded_count = 0;
		break;
	case KEY_UP:
	case 'k':
		select_position(scr, shown, count, position - 1);
		break;
	case KEY_DOWN:
	case 'j':
		select_position(scr, shown, count, position + 1);
		break;
	case KEY_PPAGE:
		select_position(scr, shown, count, position - (LINES - 5));
		break;
	case KEY_NPAGE:
		select_position(scr, shown, count, position + (LINES - 5));
		break;
	case KEY_HOME:
		select_position(scr, shown, count, 0);
		break;
	case KEY_END:
		select_position(scr, shown, count, (int)count - 1);
		break;
	case 12: /* Ctrl-L */
		clearok(curscr, TRUE);
		break;
	default:
		break; /* KEY_RESIZE included: the redraw uses LINES/COLS */
	}
	return true;
}

static void start_screen(struct screen *scr)
{
	initscr();
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	scr->color = has_colors();
	if (scr->color) {
		start_color();
		use_default_colors();
		init_pair(PAIR_HEADER, COLOR_BLACK, COLOR_CYAN);
		init_pair(PAIR_HOT, COLOR_RED, -1);
		init_pair(PAIR_WARM, COLOR_YELLOW, -1);
		init_pair(PAIR_TITLE, COLOR_CYAN, -1);
	}
}

static int run_screen(struct top_source *src, struct top_model *model,
		      const struct top_options *opts)
{
	struct screen scr = { .model = model,
			      .src = src,
			      .delay_s = opts->delay_s };
	uint64_t next_ms = now_ms();
	long frames = 0;
	char why[256];

	/* In-process, the first window needs time to span. */
	if (!src->agent) {
		next_ms += (uint64_t)(scr.delay_s * 1000);
		snprintf(scr.message, sizeof(scr.message),
			 "no agent on %s: measuring in-process...",
			 src->socket_path);
	}
	start_screen(&scr);
	while (!stop_requested) {
		uint64_t now = now_ms();
		int key, wait_ms;

		if (!scr.paused && now >= next_ms) {
			struct json_object *doc =
				source_fetch(src, why, sizeof(why));

			if (!doc)
				snprintf(scr.message, sizeof(scr.message), "%s",
					 why);
			else if (top_model_ingest(model, doc, monotonic_ns()))
				snprintf(scr.message, sizeof(scr.message),
					 "window not readable");
			else
				scr.message[0] = '\0';
			json_object_put(doc);
			frames++;
			next_ms = now + (uint64_t)(scr.delay_s * 1000);
		}
		draw(&scr);
		if (opts->iterations && frames >= opts->iterations)
			break;
		now = now_ms();
		wait_ms = scr.paused || next_ms <= now ?
				  (scr.paused ? 1000 : 0) :
				  (int)(next_ms - now);
		timeout(wait_ms > 1000 ? 1000 : wait_ms);
		key = getch();
		if (key == ERR)
			continue;
		if (!handle_key(&scr, key))
			break;
		/* A new interval applies from now. */
		if (!scr.paused &&
		    next_ms > now_ms() + (uint64_t)(scr.delay_s * 1000))
			next_ms = now_ms() + (uint64_t)(scr.delay_s * 1000);
	}
	endwin();
	return 0;
}

int cmd_top(int argc, char **argv)
{
	struct top_options opts;
	struct top_source src;
	struct top_model model;
	struct sigaction stop = { .sa_handler = on_stop };
	int code;

	code = parse_top_options(argc, argv, &opts);
	if (code)
		return code < 0 ? 0 : code;
	if (!isatty(STDOUT_FILENO))
		opts.batch = true;
	code = source_open(&src, opts.socket_path, opts.local, opts.agent_only,
			   false);
	if (code)
		return code;
	top_model_init(&model);
	model.sort = opts.sort;
	model.reverse = opts.reverse;
	snprintf(model.filter, sizeof(model.filter), "%s", opts.filter);
	/* No SA_RESTART: a signal ends a sleep or getch at once. */
	sigaction(SIGINT, &stop, NULL);
	sigaction(SIGTERM, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);
	code = opts.batch ? run_batch(&src, &model, &opts) :
			    run_screen(&src, &model, &opts);
	top_model_free(&model);
	source_close(&src);
	return code;
}

/* ------------------------------------------------------------ status */
