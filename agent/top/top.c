// SPDX-License-Identifier: GPL-2.0-only
/*
 * top's frames (see top.h). Interactive mode needs a terminal on stdout
 * (top_screen.c); otherwise, or with -b or --json, frames go to stdout as
 * plain text or one JSON document each. SIGINT and SIGTERM end either.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include <json-c/json.h>

#include "base/log.h"
#include "base/units.h"
#include "top/top.h"
#include "top/top_format.h"
#include "top/top_model.h"
#include "top/top_options.h"
#include "top/top_screen.h"
#include "top/top_source.h"

static volatile sig_atomic_t stop_requested;

static void on_stop(int signo)
{
	stop_requested = 1;
}

static void print_frame(const struct top_model *model,
			const struct top_options *opts, const char *source)
{
	char line[512], stamp[16];
	time_t now = time(NULL);
	struct tm local;

	localtime_r(&now, &local);
	strftime(stamp, sizeof(stamp), "%H:%M:%S", &local);
	printf("kvmwarden top - %s  sort %s%s%s%s\n", stamp,
	       top_model_column_name(model->sort),
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

		if (!top_model_guest_matches(guest, model->filter))
			continue;
		top_format_guest(line, sizeof(line), guest, opts->width);
		puts(line);
		if (!opts->expand_all)
			continue;
		top_source_fill_cpus(guest);
		if (guest->has_hidden) {
			top_format_hidden(line, sizeof(line), guest,
					  opts->width);
			puts(line);
		}
		for (size_t v = 0; v < guest->vcpus_len; v++) {
			top_format_vcpu(line, sizeof(line), &guest->vcpus[v],
					guest->has_hidden, opts->width);
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
		struct json_object *doc =
			top_source_fetch(src, why, sizeof(why));

		if (!doc) {
			log_say("top: %s\n", why);
			failures++;
		} else if (opts->json) {
			puts(json_object_to_json_string_ext(
				doc, JSON_C_TO_STRING_PLAIN));
		} else if (top_model_ingest(model, doc, monotonic_ns())) {
			log_say("top: window not readable\n");
			failures++;
		} else {
			print_frame(model, opts, top_source_label(src));
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

int top_run(struct top_source *src, const struct top_options *opts)
{
	struct top_model model;
	struct sigaction stop = { .sa_handler = on_stop };
	int code;

	top_model_init(&model);
	model.sort = opts->sort;
	model.reverse = opts->reverse;
	snprintf(model.filter, sizeof(model.filter), "%s", opts->filter);
	/* No SA_RESTART: a signal ends a sleep or getch at once. */
	sigaction(SIGINT, &stop, NULL);
	sigaction(SIGTERM, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);
	code = opts->batch ? run_batch(src, &model, opts) :
			     top_screen_run(src, &model, opts, &stop_requested);
	top_model_free(&model);
	return code;
}
