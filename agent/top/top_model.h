/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What `kvmwarden top` shows, as plain data: rows built from a window
 * document (snapshot.h), a minute of history per guest, sorting and
 * filtering; top_format.h turns them into text lines. No terminal and no
 * I/O here, so the unit tests check the math; the screen and the batch
 * frames only draw lines.
 */
#ifndef KVMWARDEN_TOP_MODEL_H
#define KVMWARDEN_TOP_MODEL_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOP_NAME_LEN 64
#define TOP_HISTORY 256 /* windows kept per guest: >= 60 s at 0.25 s */
#define TOP_MINUTE_NS 60000000000ULL

enum top_column {
	TOP_COL_NAME,
	TOP_COL_VCPUS,
	TOP_COL_STEAL,
	TOP_COL_STEAL_MIN,
	TOP_COL_WAIT_P99,
	TOP_COL_CULPRIT,
	TOP_COL_HIDDEN,
	TOP_COL_IOPS,
	TOP_COL_MBPS,
	TOP_COL_QWAIT,
	TOP_COL_BUDGET,
	TOP_COL_COUNT,
};

struct top_vcpu {
	int index;
	int tid;
	int cpu; /* last CPU it ran on, -1: unknown */
	double steal_pct; /* of the window */
	double oncpu_pct;
	double hidden_pct; /* interrupt time while current, of the window */
};

struct top_guest {
	char name[TOP_NAME_LEN];
	int pid;
	int vcpu_count;
	double steal_pct; /* per vCPU: steal / (window x vCPUs) */
	double steal_min_pct; /* the same over the last minute */
	uint64_t wait_p99_ns;
	char culprit[TOP_NAME_LEN]; /* "" when nothing stole */
	double culprit_share; /* of the guest's steal, 0..1 */
	/* Hidden steal: hardirq and softirq time taken on its vCPUs while
	 * they were current, per vCPU like steal_pct; has_hidden is false
	 * when the document has none (not measured: "-", not 0). */
	bool has_hidden;
	double hidden_pct;
	double hidden_irq_pct;
	double hidden_softirq_pct;
	char hidden_culprit[TOP_NAME_LEN]; /* the largest, "" when none */
	char hidden_culprit_kind[8]; /* "guest", "device" or "irq" */
	double hidden_culprit_share; /* of the guest's hidden time, 0..1 */
	bool has_io;
	double io_ops_per_s;
	double io_mb_per_s;
	uint64_t io_qwait_ns; /* queue wait: p99 when given, else the mean */
	char budget[24]; /* "state/action", "" until enforcement reports */
	struct top_vcpu *vcpus;
	size_t vcpus_len;
};

/* A minute of one guest's windows, for STEAL 1m. */
struct top_history {
	char name[TOP_NAME_LEN];
	int pid;
	uint64_t seen_seq;
	size_t next;
	size_t used;
	uint64_t at_ns[TOP_HISTORY];
	uint64_t steal_ns[TOP_HISTORY];
	uint64_t capacity_ns[TOP_HISTORY]; /* window x vCPUs */
};

struct top_host {
	uint64_t seq;
	uint64_t duration_ns;
	int online_cpus;
	size_t guests_running;
	size_t vcpus;
	double steal_pct; /* every guest's steal over every vCPU's time */
	bool bpf_known; /* kernel.bpf_stats_enabled was on */
	double bpf_cpu_pct;
	uint64_t errors_total; /* lost or failed BPF events, cumulative */
	bool features_known; /* the document has "features" */
	char features_off[128]; /* the unavailable ones, ", "-separated */
};

struct top_model {
	struct top_host host;
	struct top_guest *guests;
	size_t guest_count;
	struct top_history *history;
	size_t history_count;
	/* view state */
	enum top_column sort;
	bool reverse;
	char filter[TOP_NAME_LEN];
};

void top_model_init(struct top_model *model);
void top_model_free(struct top_model *model);

struct json_object;
/* Replaces the rows with the window in `doc` (a snapshot document: the
 * dump --json fields plus "seq" and "host"), adds it to the history
 * unless its seq was seen already, and sorts. 0 or -EINVAL/-ENOMEM. */
int top_model_ingest(struct top_model *model, struct json_object *doc,
		     uint64_t now_ns);

/* Orders the rows by model->sort (numbers largest first, names A to Z;
 * model->reverse flips it). */
void top_model_sort(struct top_model *model);
/* Lines an expanded guest shows under its row: its hidden steal's, when
 * measured, and one per vCPU. */
size_t top_model_detail_lines(const struct top_guest *guest);
/* Case-insensitive substring of the name; "" matches every guest. */
bool top_model_guest_matches(const struct top_guest *guest, const char *filter);

const char *top_model_column_name(enum top_column column);
/* 100 x part / whole, 0 when whole is 0. */
double top_model_percent(uint64_t part, uint64_t whole);

#endif
