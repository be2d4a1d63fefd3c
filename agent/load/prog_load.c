// SPDX-License-Identifier: GPL-2.0-only
/*
 * Verifier logs kept per program, so that a refusal is reported as the
 * program's name and the kernel's words rather than an errno, and the
 * per-program check behind `kvmwarden check-kernel`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "base/log.h"
#include "load/prog_load.h"
#include "model/health.h"

/* libbpf asks for the log only after a failed load, and then retries with
 * it; kernels from 6.4 on keep its tail when it overflows (the part with
 * the reason), older ones its head and fail with ENOSPC. */
#define PROG_LOG_SIZE (256 * 1024)

/* A refused program's verifier log, a line each (it runs to hundreds of
 * lines, past what one log line holds). */
static void log_verifier(const char *program, const char *text)
{
	log_line(LOG_PRIO_DEBUG, "verifier log of %s:", program);
	while (*text) {
		const char *end = strchr(text, '\n');
		int len = end ? (int)(end - text) : (int)strlen(text);

		log_line(LOG_PRIO_DEBUG, "%.*s", len, text);
		text += len + (end ? 1 : 0);
	}
	log_line(LOG_PRIO_DEBUG, "end of the log");
}

/* Copies line [start, end) into out, without a trailing '.' or spaces. */
static void copy_line(const char *start, const char *end, char *out,
		      size_t size)
{
	while (end > start && (end[-1] == ' ' || end[-1] == '.' ||
			       end[-1] == '\n' || end[-1] == '\r'))
		end--;
	snprintf(out, size, "%.*s", (int)(end - start), start);
}

void prog_log_reason(const char *log, int err, char *out, size_t size)
{
	const char *summary = NULL, *at, *line_start, *prev_start = NULL;
	unsigned long processed = 0, limit = 0;
	char error_line[200] = "";

	if (size == 0)
		return;
	/* The verifier ends with "processed N insns (limit M) ...", and
	 * the line before it says why it gave up. */
	for (at = log ? strstr(log, "processed ") : NULL; at;
	     at = strstr(at + 1, "processed ")) {
		if (at == log || at[-1] == '\n')
			summary = at;
	}
	if (!summary) {
		if (err == -ENOSPC)
			snprintf(out, size,
				 "rejected by the verifier, its log too long "
				 "to keep (%s)",
				 strerror(-err));
		else
			snprintf(out, size, "%s",
				 strerror(err < 0 ? -err : err));
		return;
	}
	sscanf(summary, "processed %lu insns (limit %lu)", &processed, &limit);
	/* The last non-empty line before the summary. */
	for (line_start = log; line_start < summary;) {
		const char *end = strchr(line_start, '\n');

		if (!end || end > summary)
			end = summary;
		if (end > line_start + 1)
			prev_start = line_start;
		line_start = end + 1;
	}
	if (prev_start) {
		const char *end = strchr(prev_start, '\n');
		/* "BPF program is too large. Processed 1000001 insn" says
		 * the count twice: keep the words. */
		const char *dup = strstr(prev_start, ". Processed ");

		if (!end || end > summary)
			end = summary;
		if (dup && dup < end)
			end = dup;
		copy_line(prev_start, end, error_line, sizeof(error_line));
	}
	if (!error_line[0])
		snprintf(error_line, sizeof(error_line), "%s",
			 strerror(err < 0 ? -err : err));
	if (limit)
		snprintf(out, size,
			 "%s (%lu instructions processed, limit %lu)",
			 error_line, processed, limit);
	else
		snprintf(out, size, "%s", error_line);
}

int prog_load_object(struct bpf_object *obj, prog_skel_load_fn load, void *skel,
		     char *why, size_t why_size)
{
	struct bpf_program *prog;
	size_t count = 0, i = 0;
	char **logs = NULL;
	int err;

	bpf_object__for_each_program (prog, obj)
		count++;
	logs = calloc(count ? count : 1, sizeof(*logs));
	if (!logs) {
		snprintf(why, why_size, "out of memory");
		return -ENOMEM;
	}
	bpf_object__for_each_program (prog, obj) {
		if (bpf_program__autoload(prog)) {
			logs[i] = calloc(1, PROG_LOG_SIZE);
			if (logs[i])
				bpf_program__set_log_buf(prog, logs[i],
							 PROG_LOG_SIZE);
		}
		i++;
	}
	err = load(skel);
	if (err) {
		snprintf(why, why_size, "%s", strerror(-err));
		i = 0;
		/* Only a refused program has anything in its log. */
		bpf_object__for_each_program (prog, obj) {
			if (logs[i] && logs[i][0]) {
				char reason[200];

				/* libbpf prints only the logs it allocates;
				 * developers still want this one. */
				if (getenv("KVMWARDEN_DEBUG"))
					log_verifier(bpf_program__name(prog),
						     logs[i]);
				prog_log_reason(logs[i], err, reason,
						sizeof(reason));
				snprintf(why, why_size, "cannot load %s: %s",
					 bpf_program__name(prog), reason);
				break;
			}
			i++;
		}
	}
	i = 0;
	bpf_object__for_each_program (prog, obj) {
		/* libbpf keeps the pointer; the buffer is ours to free. */
		bpf_program__set_log_buf(prog, NULL, 0);
		free(logs[i++]);
	}
	free(logs);
	return err;
}

static void check_one(const struct prog_check_target *target, size_t index,
		      struct prog_check *row)
{
	struct bpf_program *prog, *chosen = NULL;
	struct bpf_prog_info info;
	__u32 info_len = sizeof(info);
	char why[256];
	void *skel = NULL;
	struct bpf_object *obj;
	size_t i = 0;
	int err;

	obj = target->open(target->ctx, &skel);
	if (!obj) {
		snprintf(row->error, sizeof(row->error), "cannot open: %s",
			 strerror(errno));
		return;
	}
	bpf_object__for_each_program (prog, obj) {
		bpf_program__set_autoload(prog, i == index);
		if (i == index)
			chosen = prog;
		i++;
	}
	if (!chosen)
		goto cleanup;
	err = prog_load_object(obj, target->load, skel, why, sizeof(why));
	if (err) {
		char prefix[96];
		size_t len;

		/* The row names the program already. */
		len = (size_t)snprintf(prefix, sizeof(prefix),
				       "cannot load %s: ", row->name);
		snprintf(row->error, sizeof(row->error), "%s",
			 strncmp(why, prefix, len) == 0 ? why + len : why);
		goto cleanup;
	}
	row->loaded = true;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(bpf_program__fd(chosen), &info, &info_len) ==
	    0)
		row->verified_insns = info.verified_insns;
cleanup:
	target->close(skel);
}

int prog_check_target(const struct prog_check_target *target,
		      struct prog_check *rows, size_t max)
{
	struct bpf_program *prog;
	struct bpf_object *obj;
	void *skel = NULL;
	size_t count = 0;

	/* One copy to learn the programs and which the agent would load. */
	obj = target->open(target->ctx, &skel);
	if (!obj)
		return -errno;
	bpf_object__for_each_program (prog, obj) {
		struct prog_check *row;

		if (count == max)
			break;
		row = &rows[count++];
		memset(row, 0, sizeof(*row));
		snprintf(row->name, sizeof(row->name), "%s",
			 bpf_program__name(prog));
		snprintf(row->object, sizeof(row->object), "%s",
			 target->object);
		row->needed = bpf_program__autoload(prog);
	}
	target->close(skel);
	for (size_t i = 0; i < count; i++)
		check_one(target, i, &rows[i]);
	return (int)count;
}

bool prog_check_passes(const struct prog_check *row)
{
	if (!row->needed)
		return true;
	return row->loaded && row->verified_insns <= PROG_VERIFIER_BUDGET;
}

int prog_read_stats(struct bpf_program *const *programs, size_t count,
		    struct loader_program_stats *out, size_t max)
{
	size_t filled = 0;

	for (size_t i = 0; i < count && filled < max; i++) {
		struct bpf_prog_info info;
		__u32 info_len = sizeof(info);
		int fd = bpf_program__fd(programs[i]);

		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &info_len))
			return -errno;
		out[filled].name = bpf_program__name(programs[i]);
		out[filled].run_time_ns = info.run_time_ns;
		out[filled].run_count = info.run_cnt;
		filled++;
	}
	return (int)filled;
}
