// SPDX-License-Identifier: GPL-2.0-only
/*
 * top's text layout (see top_format.h): fixed-width lines from the rows
 * that top_model.c builds. Pure formatting: no JSON, no terminal, so the
 * unit tests check every line at every width.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "top/top_format.h"
#include "top/top_model.h"

/* The layout at 80 columns: widths of every column but the name, which
 * takes what a wider terminal adds, up to NAME_MAX_WIDTH. */
#define NAME_WIDTH 12
#define NAME_MAX_WIDTH 40
/* Cut from 12 to 9 to make room for HIDDEN% within 80 columns (with
 * 1MIN%, IOPS and QWAIT at the width of their widest values); the
 * expanded view and `dump` keep the whole name. */
#define CULPRIT_WIDTH 9

void top_format_duration(char *buf, size_t size, uint64_t ns)
{
	if (ns < 1000)
		snprintf(buf, size, "%uns", (unsigned)ns);
	else if (ns < 1000000)
		snprintf(buf, size, "%uus", (unsigned)(ns / 1000));
	else if (ns < 10000000)
		snprintf(buf, size, "%.1fms", (double)ns / 1e6);
	else if (ns < 1000000000)
		snprintf(buf, size, "%ums", (unsigned)(ns / 1000000));
	else if (ns < 100000000000ULL)
		snprintf(buf, size, "%.1fs", (double)ns / 1e9);
	else
		snprintf(buf, size, "%us", (unsigned)(ns / 1000000000ULL));
}

static int name_width(int width)
{
	int name = NAME_WIDTH +
		   (width > TOP_MIN_WIDTH ? width - TOP_MIN_WIDTH : 0);

	return name > NAME_MAX_WIDTH ? NAME_MAX_WIDTH : name;
}

/* Writes `text` cut to `width` characters; returns the length. */
static size_t finish_line(char *buf, size_t size, const char *text, int width)
{
	size_t len = strlen(text);

	if (width >= 0 && len > (size_t)width)
		len = (size_t)width;
	if (len >= size)
		len = size ? size - 1 : 0;
	if (size) {
		memcpy(buf, text, len);
		buf[len] = '\0';
	}
	/* Trailing blanks would make a cut line look padded. */
	while (len && buf[len - 1] == ' ')
		buf[--len] = '\0';
	return len;
}

/* A field cut to its column: long names keep their start. */
static void fit(char *out, size_t size, const char *text, int width)
{
	snprintf(out, size, "%-*.*s", width, width, text[0] ? text : "-");
}

size_t top_format_host(char *buf, size_t size, const struct top_model *model,
		       const char *source, double interval_s, int width)
{
	const struct top_host *host = &model->host;
	char line[512], bpf[24];

	if (host->bpf_known)
		snprintf(bpf, sizeof(bpf), "%.2f%%", host->bpf_cpu_pct);
	else
		snprintf(bpf, sizeof(bpf), "n/a");
	snprintf(line, sizeof(line),
		 "guests %zu  vCPUs %zu  steal %.1f%%  bpf cpu %s  lost %llu"
		 "  [%s %.1fs]",
		 host->guests_running, host->vcpus, host->steal_pct, bpf,
		 (unsigned long long)host->errors_total, source, interval_s);
	return finish_line(buf, size, line, width);
}

size_t top_format_features(char *buf, size_t size,
			   const struct top_model *model, int width)
{
	const struct top_host *host = &model->host;
	char line[256];

	if (!host->features_known)
		line[0] = '\0';
	else if (!host->features_off[0])
		snprintf(line, sizeof(line), "features: all available");
	else
		snprintf(line, sizeof(line), "features off: %s  (see status)",
			 host->features_off);
	return finish_line(buf, size, line, width);
}

size_t top_format_header(char *buf, size_t size, const struct top_model *model,
			 int width)
{
	char line[512];

	snprintf(line, sizeof(line),
		 "%-*s %4s %6s %5s %6s %-*s %7s %5s %5s %5s %-6s",
		 name_width(width), "NAME", "VCPU", "STEAL%", "1MIN%", "WAIT99",
		 CULPRIT_WIDTH, "CULPRIT", "HIDDEN%", "IOPS", "MB/s", "QWAIT",
		 "BUDGET");
	return finish_line(buf, size, line, width);
}

size_t top_format_guest(char *buf, size_t size, const struct top_guest *guest,
			int width)
{
	char line[512], name[NAME_MAX_WIDTH + 1], culprit[CULPRIT_WIDTH + 1];
	char budget[7], wait[16], hidden[16], iops[16], mbps[16], qwait[16];
	int name_w = name_width(width);

	fit(name, sizeof(name), guest->name, name_w);
	fit(culprit, sizeof(culprit), guest->culprit, CULPRIT_WIDTH);
	fit(budget, sizeof(budget), guest->budget, 6);
	if (guest->wait_p99_ns)
		top_format_duration(wait, sizeof(wait), guest->wait_p99_ns);
	else
		snprintf(wait, sizeof(wait), "-");
	if (guest->has_hidden)
		snprintf(hidden, sizeof(hidden), "%.1f", guest->hidden_pct);
	else
		snprintf(hidden, sizeof(hidden), "-");
	if (guest->has_io) {
		if (guest->io_ops_per_s < 99999.5)
			snprintf(iops, sizeof(iops), "%.0f",
				 guest->io_ops_per_s);
		else if (guest->io_ops_per_s < 9999499.5)
			snprintf(iops, sizeof(iops), "%.0fk",
				 guest->io_ops_per_s / 1000);
		else
			snprintf(iops, sizeof(iops), "%.0fM",
				 guest->io_ops_per_s / 1000000);
		snprintf(mbps, sizeof(mbps), "%.1f", guest->io_mb_per_s);
		if (guest->io_mb_per_s >= 1000)
			snprintf(mbps, sizeof(mbps), "%.0f",
				 guest->io_mb_per_s);
		if (guest->io_qwait_ns)
			top_format_duration(qwait, sizeof(qwait),
					    guest->io_qwait_ns);
		else
			snprintf(qwait, sizeof(qwait), "0");
	} else {
		snprintf(iops, sizeof(iops), "-");
		snprintf(mbps, sizeof(mbps), "-");
		snprintf(qwait, sizeof(qwait), "-");
	}
	snprintf(line, sizeof(line),
		 "%s %4d %6.1f %5.1f %6.6s %s %7.7s %5.5s %5.5s %5.5s %s", name,
		 guest->vcpu_count, guest->steal_pct, guest->steal_min_pct,
		 wait, culprit, hidden, iops, mbps, qwait, budget);
	return finish_line(buf, size, line, width);
}

size_t top_format_vcpu(char *buf, size_t size, const struct top_vcpu *vcpu,
		       bool has_hidden, int width)
{
	char line[256], cpu[16];

	if (vcpu->cpu >= 0)
		snprintf(cpu, sizeof(cpu), "%d", vcpu->cpu);
	else
		snprintf(cpu, sizeof(cpu), "-");
	snprintf(line, sizeof(line),
		 "  vcpu%-3d tid %-7d cpu %-3s steal %5.1f%%  on-cpu %5.1f%%",
		 vcpu->index, vcpu->tid, cpu, vcpu->steal_pct, vcpu->oncpu_pct);
	if (has_hidden)
		snprintf(line + strlen(line), sizeof(line) - strlen(line),
			 "  hidden %5.1f%%", vcpu->hidden_pct);
	return finish_line(buf, size, line, width);
}

size_t top_format_hidden(char *buf, size_t size, const struct top_guest *guest,
			 int width)
{
	char line[256];
	int used;

	if (!guest->has_hidden)
		return finish_line(buf, size, "", width);
	used = snprintf(line, sizeof(line),
			"  hidden  irq %5.1f%%  softirq %5.1f%%",
			guest->hidden_irq_pct, guest->hidden_softirq_pct);
	if (guest->hidden_culprit[0] && used > 0 && (size_t)used < sizeof(line))
		snprintf(line + used, sizeof(line) - (size_t)used,
			 "  by %s %s (%.0f%%)", guest->hidden_culprit_kind,
			 guest->hidden_culprit,
			 100.0 * guest->hidden_culprit_share);
	return finish_line(buf, size, line, width);
}
