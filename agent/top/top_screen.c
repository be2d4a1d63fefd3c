// SPDX-License-Identifier: GPL-2.0-only
/*
 * top's screen (see top_screen.h). Lines come from top_format.h; this file
 * decides where they go, what is selected and expanded, and what a key
 * does. The selection follows a guest by name and pid, so re-sorting and
 * new windows do not move it to another guest.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curses.h>
#include <json-c/json.h>

#include "base/units.h"
#include "top/top_format.h"
#include "top/top_model.h"
#include "top/top_options.h"
#include "top/top_screen.h"
#include "top/top_source.h"

#define MAX_EXPANDED 64

static uint64_t now_ms(void)
{
	return monotonic_ns() / 1000000ULL;
}

enum { PAIR_HEADER = 1, PAIR_HOT, PAIR_WARM, PAIR_TITLE };

struct guest_key {
	char name[TOP_NAME_LEN];
	int pid;
};

struct screen {
	struct top_model *model;
	struct top_source *src;
	const volatile sig_atomic_t *stop; /* set by SIGINT or SIGTERM */
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
		if (top_model_guest_matches(&scr->model->guests[i],
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
		"took most of the steal, HIDDEN% host interrupt time on its",
		"vCPUs per vCPU, IOPS MB/s QWAIT the guest's I/O, BUDGET its",
		"budget state (\"-\" until the agent reports them).",
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
		 stamp, top_model_column_name(model->sort),
		 model->reverse ? " R" : "",
		 model->filter[0] ? "  filter: " : "", model->filter,
		 scr->paused ? "  [paused]" : "");
	put_line(0, line, width,
		 A_BOLD | (scr->color ? COLOR_PAIR(PAIR_TITLE) : 0));
	top_format_host(line, sizeof(line), model, top_source_label(scr->src),
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
					 (int)top_model_detail_lines(
						 &model->guests[shown[i]]) :
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
		top_source_fill_cpus(guest);
		if (guest->has_hidden && y < height - 1) {
			top_format_hidden(line, sizeof(line), guest, width);
			put_line(y++, line, width, 0);
		}
		for (size_t v = 0; v < guest->vcpus_len && y < height - 1;
		     v++) {
			top_format_vcpu(line, sizeof(line), &guest->vcpus[v],
					guest->has_hidden, width);
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
		if (key == 27 || *scr->stop) {
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
		    seconds < TOP_MIN_DELAY_S || seconds > TOP_MAX_DELAY_S)
			snprintf(scr->message, sizeof(scr->message),
				 "interval: %.1f to %.0f seconds, not '%s'",
				 TOP_MIN_DELAY_S, TOP_MAX_DELAY_S, text);
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

int top_screen_run(struct top_source *src, struct top_model *model,
		   const struct top_options *opts,
		   const volatile sig_atomic_t *stop)
{
	struct screen scr = { .model = model,
			      .src = src,
			      .stop = stop,
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
	while (!*scr.stop) {
		uint64_t now = now_ms();
		int key, wait_ms;

		if (!scr.paused && now >= next_ms) {
			struct json_object *doc =
				top_source_fetch(src, why, sizeof(why));

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
