// SPDX-License-Identifier: GPL-2.0-only
/*
 * top's options (see top_options.h): getopt_long, one line on stderr for
 * each mistake, and the socket from the configuration unless --socket
 * names one.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "base/paths.h"
#include "top/top_format.h"
#include "top/top_model.h"
#include "top/top_options.h"
#include "top/top_source.h"

#define DEFAULT_DELAY_S 1.0

static int parse_column(const char *text, enum top_column *out)
{
	for (int i = 0; i < TOP_COL_COUNT; i++) {
		const char *name = top_model_column_name(i);

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
	      "  -o, --sort        NAME VCPU STEAL% 1MIN% WAIT99 CULPRIT "
	      "HIDDEN% IOPS MB/s QWAIT BUDGET\n"
	      "  -R, --reverse     reverse the order\n"
	      "  -f, --filter      only guests whose name contains TEXT\n"
	      "  -e, --expand      list each guest's hidden steal and vCPUs "
	      "(batch)\n"
	      "  -w, --width       batch line width (80 to 400, default 80)\n"
	      "      --socket      the agent's socket (default: socket_path "
	      "of the configuration)\n"
	      "      --local       measure in-process even if an agent runs\n"
	      "      --agent       fail unless the agent answers\n",
	      out);
}

int top_options_parse(int argc, char **argv, struct top_options *opts)
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
				log_say("top: -n wants a count "
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
			    opts->delay_s < TOP_MIN_DELAY_S ||
			    opts->delay_s > TOP_MAX_DELAY_S) {
				log_say("top: -d wants seconds "
					"from %.1f to %.0f, got '%s'\n",
					TOP_MIN_DELAY_S, TOP_MAX_DELAY_S,
					optarg);
				return 2;
			}
			break;
		case 'o':
			if (parse_column(optarg, &opts->sort)) {
				log_say("top: --sort wants a "
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
				log_say("top: -w wants 80 to 400 "
					"columns, got '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 's':
			if (strlen(optarg) >= sizeof(opts->socket_path) ||
			    !optarg[0]) {
				log_say("top: --socket: empty or "
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
			log_say("top: unknown option or missing "
				"value: '%s' (see kvmwarden top --help)\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		log_say("top: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (opts->local && opts->agent_only) {
		log_say("top: --local and --agent exclude each other\n");
		return 2;
	}
	if (!socket_given &&
	    top_source_socket_from_config(config_path, config_given,
					  opts->socket_path,
					  sizeof(opts->socket_path)))
		return 2;
	return 0;
}
