// SPDX-License-Identifier: GPL-2.0-only
/*
 * Which VMM a command line runs and which guest it names: QEMU's -name and
 * -uuid, Firecracker's --id. The parser takes a buffer and never trusts
 * it; procfs_read_cmdline (procfs.c) reads the file.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "collect/procfs_cmdline.h"
#include "model/text_fields.h"

/* One argument of a cmdline buffer; text is not NUL-terminated. */
struct cmdline_arg {
	const char *text;
	size_t len;
};

static bool cmdline_next(const char *buf, size_t len, size_t *offset,
			 struct cmdline_arg *arg)
{
	const char *nul;

	if (*offset >= len)
		return false;
	arg->text = buf + *offset;
	nul = memchr(arg->text, '\0', len - *offset);
	arg->len = nul ? (size_t)(nul - arg->text) : len - *offset;
	*offset += arg->len + 1;
	return true;
}

static bool arg_is(const struct cmdline_arg *arg, const char *word)
{
	return arg->len == strlen(word) &&
	       memcmp(arg->text, word, arg->len) == 0;
}

/* Copies what fits: a shortened guest name still tells guests apart better
 * than none, and is what the operator sees first. */
static void copy_truncated(char *out, size_t size, const char *in, size_t len)
{
	if (len >= size)
		len = size - 1;
	memcpy(out, in, len);
	out[len] = '\0';
}

static enum vmm_kind vmm_kind_from_argv0(const struct cmdline_arg *argv0)
{
	static const char qemu_prefix[] = "qemu-system-";
	const char *slash = memrchr(argv0->text, '/', argv0->len);
	struct cmdline_arg base = *argv0;

	if (slash) {
		base.text = slash + 1;
		base.len = argv0->len - (size_t)(base.text - argv0->text);
	}
	if (base.len > sizeof(qemu_prefix) - 1 &&
	    memcmp(base.text, qemu_prefix, sizeof(qemu_prefix) - 1) == 0)
		return VMM_QEMU;
	if (arg_is(&base, "qemu-kvm"))
		return VMM_QEMU;
	if (arg_is(&base, "firecracker"))
		return VMM_FIRECRACKER;
	if (arg_is(&base, "cloud-hypervisor"))
		return VMM_CLOUD_HYPERVISOR;
	if (arg_is(&base, "crosvm"))
		return VMM_CROSVM;
	return VMM_UNKNOWN;
}

/* Reads a QEMU option value starting at *pos up to a single ',' (",," is a
 * literal comma), into out when out is not NULL. Leaves *pos past the ','. */
static void qemu_opt_value(const char *opts, size_t len, size_t *pos, char *out,
			   size_t size)
{
	size_t used = 0, p = *pos;

	while (p < len) {
		char c = opts[p];

		if (c == ',' && (p + 1 >= len || opts[p + 1] != ',')) {
			p++;
			break;
		}
		p += c == ',' ? 2 : 1;
		if (out && used + 1 < size)
			out[used++] = c;
	}
	if (out)
		out[used] = '\0';
	*pos = p;
}

/* "-name" takes "guest=NAME,debug-threads=on" or an implied "NAME,k=v",
 * exactly as QEMU's option parser splits it (the first element without '='
 * is the value of the implied key "guest"). */
static void qemu_name_from_opts(const struct cmdline_arg *opts, char *name,
				size_t size)
{
	size_t pos = 0;
	bool first = true;

	while (pos < opts->len) {
		size_t key_len = 0;
		bool has_value, is_guest;

		while (pos + key_len < opts->len &&
		       opts->text[pos + key_len] != '=' &&
		       opts->text[pos + key_len] != ',')
			key_len++;
		has_value = pos + key_len < opts->len &&
			    opts->text[pos + key_len] == '=';
		if (first && !has_value) {
			is_guest = true;
		} else if (has_value) {
			is_guest = key_len == 5 &&
				   memcmp(opts->text + pos, "guest", 5) == 0;
			pos += key_len + 1;
		} else {
			/* A bare flag such as "debug-threads": no value. */
			pos += key_len + 1;
			first = false;
			continue;
		}
		qemu_opt_value(opts->text, opts->len, &pos,
			       is_guest ? name : NULL, size);
		first = false;
	}
}

/* QEMU accepts only the canonical 8-4-4-4-12 hex form. */
static bool is_canonical_uuid(const struct cmdline_arg *arg)
{
	if (arg->len != 36)
		return false;
	for (size_t i = 0; i < arg->len; i++) {
		char c = arg->text[i];
		bool dash_slot = i == 8 || i == 13 || i == 18 || i == 23;
		bool hex = text_is_digit(c) || (c >= 'a' && c <= 'f') ||
			   (c >= 'A' && c <= 'F');

		if (dash_slot ? c != '-' : !hex)
			return false;
	}
	return true;
}

/* Which identity field an option fills with the argument after it. */
enum cmdline_field { FIELD_NONE, FIELD_QEMU_NAME, FIELD_UUID, FIELD_ID };

static enum cmdline_field cmdline_option(enum vmm_kind kind,
					 const struct cmdline_arg *arg)
{
	/* QEMU accepts every option with one dash or two. */
	if (kind == VMM_QEMU && (arg_is(arg, "-name") || arg_is(arg, "--name")))
		return FIELD_QEMU_NAME;
	if (kind == VMM_QEMU && (arg_is(arg, "-uuid") || arg_is(arg, "--uuid")))
		return FIELD_UUID;
	if (kind == VMM_FIRECRACKER && arg_is(arg, "--id"))
		return FIELD_ID;
	return FIELD_NONE;
}

int procfs_cmdline_parse(const char *buf, size_t len, struct vmm_identity *out)
{
	struct cmdline_arg arg, value;
	enum cmdline_field field;
	size_t offset = 0;

	memset(out, 0, sizeof(*out));
	if (!buf || !cmdline_next(buf, len, &offset, &arg))
		return -EINVAL;
	out->kind = vmm_kind_from_argv0(&arg);
	while (cmdline_next(buf, len, &offset, &arg)) {
		if (out->kind == VMM_FIRECRACKER && arg.len >= 5 &&
		    memcmp(arg.text, "--id=", 5) == 0) {
			copy_truncated(out->name, sizeof(out->name),
				       arg.text + 5, arg.len - 5);
			continue;
		}
		field = cmdline_option(out->kind, &arg);
		if (field == FIELD_NONE)
			continue;
		/* A trailing option without its value names nothing. */
		if (!cmdline_next(buf, len, &offset, &value))
			break;
		if (field == FIELD_QEMU_NAME)
			qemu_name_from_opts(&value, out->name,
					    sizeof(out->name));
		else if (field == FIELD_ID)
			copy_truncated(out->name, sizeof(out->name), value.text,
				       value.len);
		else if (is_canonical_uuid(&value))
			copy_truncated(out->uuid, sizeof(out->uuid), value.text,
				       value.len);
	}
	return 0;
}
