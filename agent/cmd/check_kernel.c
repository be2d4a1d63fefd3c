// SPDX-License-Identifier: GPL-2.0-only
/*
 * `kvmwarden check-kernel [--json]`: loads every program of every BPF
 * object on the running kernel, each alone and attached to nothing, and
 * says which the agent needs here, whether each loads and how much of the
 * verifier's budget it used. Operators run it before rolling the agent out
 * to a new kernel; the tests run it on every kernel of the matrix.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <json-c/json.h>

#include "base/log.h"
#include "cmd/commands.h"
#include "load/loader.h"
#include "load/block_loader.h"
#include "load/irq_loader.h"
#include "load/kvm_loader.h"
#include "load/prog_load.h"

/* Every program of the four objects, with room to spare. */
#define CHECK_MAX_ROWS 80

static void print_json(const char *kernel, const struct prog_check *rows,
		       size_t count)
{
	struct json_object *doc = json_object_new_object();
	struct json_object *programs = json_object_new_array();

	json_object_object_add(doc, "kernel", json_object_new_string(kernel));
	for (size_t i = 0; i < count; i++) {
		const struct prog_check *row = &rows[i];
		struct json_object *entry = json_object_new_object();

		json_object_object_add(entry, "name",
				       json_object_new_string(row->name));
		json_object_object_add(entry, "object",
				       json_object_new_string(row->object));
		json_object_object_add(entry, "needed",
				       json_object_new_boolean(row->needed));
		json_object_object_add(entry, "loaded",
				       json_object_new_boolean(row->loaded));
		json_object_object_add(
			entry, "verified_insns",
			json_object_new_int64(row->verified_insns));
		json_object_object_add(
			entry, "budget",
			json_object_new_int64(PROG_VERIFIER_BUDGET));
		json_object_object_add(
			entry, "limit",
			json_object_new_int64(PROG_VERIFIER_LIMIT));
		json_object_object_add(entry, "error",
				       json_object_new_string(row->error));
		json_object_array_add(programs, entry);
	}
	json_object_object_add(doc, "programs", programs);
	puts(json_object_to_json_string_ext(
		doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(doc);
}

static void print_table(const char *kernel, const struct prog_check *rows,
			size_t count)
{
	printf("kernel %s\nbudget %d verified instructions a program "
	       "(limit %d)\n\n",
	       kernel, PROG_VERIFIER_BUDGET, PROG_VERIFIER_LIMIT);
	printf("%-7s %-26s %-6s %-6s %9s %9s  %s\n", "object", "program",
	       "needed", "loaded", "insns", "margin", "verdict");
	for (size_t i = 0; i < count; i++) {
		const struct prog_check *row = &rows[i];
		const char *verdict = "ok";

		if (!row->loaded)
			verdict = row->needed ? "FAIL" : "not needed here";
		else if (!prog_check_passes(row))
			verdict = "OVER BUDGET";
		char insns[16] = "-", margin[16] = "-";

		if (row->loaded) {
			snprintf(insns, sizeof(insns), "%u",
				 row->verified_insns);
			snprintf(margin, sizeof(margin), "%ld",
				 (long)PROG_VERIFIER_BUDGET -
					 (long)row->verified_insns);
		}
		printf("%-7s %-26s %-6s %-6s %9s %9s  %s%s%s\n", row->object,
		       row->name, row->needed ? "yes" : "no",
		       row->loaded ? "yes" : "no", insns, margin, verdict,
		       row->error[0] ? ": " : "", row->error);
	}
}

int cmd_check_kernel(int argc, char **argv)
{
	struct prog_check rows[CHECK_MAX_ROWS];
	char kernel[2 * sizeof(((struct utsname *)0)->release) + 2];
	struct utsname names;
	bool json = false, pass = true;
	size_t count = 0;
	char why[256] = "";
	int got;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else {
			log_say("check-kernel: unknown option '%s' "
				"(usage: kvmwarden check-kernel [--json])\n",
				argv[i]);
			return 2;
		}
	}
	if (uname(&names) == 0)
		snprintf(kernel, sizeof(kernel), "%s %s", names.release,
			 names.version);
	else
		snprintf(kernel, sizeof(kernel), "unknown");

	got = loader_check(rows, CHECK_MAX_ROWS, why, sizeof(why));
	if (got < 0) {
		if ((got == -EPERM || got == -EACCES) && geteuid() != 0)
			log_say("check-kernel must run as "
				"root (CAP_BPF and CAP_PERFMON)\n");
		else
			log_say("check-kernel: %s\n", why);
		return 1;
	}
	count += (size_t)got;
	got = block_loader_check(rows + count, CHECK_MAX_ROWS - count);
	if (got >= 0)
		count += (size_t)got;
	else
		log_say("check-kernel: block object: %s\n", strerror(-got));
	got = kvm_loader_check(rows + count, CHECK_MAX_ROWS - count);
	if (got >= 0)
		count += (size_t)got;
	else
		log_say("check-kernel: KVM object: %s\n", strerror(-got));
	/* An optional object that cannot even open fails the check too. */
	pass = got >= 0;
	got = irq_loader_check(rows + count, CHECK_MAX_ROWS - count);
	if (got >= 0)
		count += (size_t)got;
	else
		log_say("check-kernel: interrupt object: %s\n", strerror(-got));

	for (size_t i = 0; i < count; i++)
		pass = pass && prog_check_passes(&rows[i]);
	if (json)
		print_json(kernel, rows, count);
	else
		print_table(kernel, rows, count);
	return pass && got >= 0 ? 0 : 1;
}
