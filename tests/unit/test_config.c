// SPDX-License-Identifier: GPL-2.0-only
/* Configuration parsing: defaults, the shipped file, and every rejection
 * naming source, line and key. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config/config.h"

static int parse(struct config *config, const char *yaml, char *errors,
		 size_t size)
{
	return config_parse(config, yaml, strlen(yaml), "test.conf", errors,
			    size);
}

static void empty_file_means_defaults(void **state)
{
	struct config config;
	char errors[256];

	memset(&config, 0xff, sizeof(config));
	assert_int_equal(parse(&config, "# only a comment\n", errors,
			       sizeof(errors)),
			 0);
	assert_int_equal(config.mode, CONFIG_MODE_MONITOR);
	assert_int_equal(config.interval_ms, 1000);
	assert_int_equal(config.discover_interval_ms, 500);
	assert_string_equal(config.listen_address, "127.0.0.1:19857");
	assert_string_equal(config.web_config, "");
	assert_false(config.per_vcpu_metrics);
}

static void shipped_config_is_valid_and_monitors(void **state)
{
	struct config config;
	char errors[1024];

	assert_int_equal(config_load(&config, "configs/kvmwarden.conf", errors,
				     sizeof(errors)),
			 0);
	/* A first run on a production host must change nothing. */
	assert_int_equal(config.mode, CONFIG_MODE_MONITOR);
}

/* Its comments must not tell the operator that enforce mode does not
 * exist (issue 14): it does, and the file is where they look. */
static void shipped_config_offers_enforce_mode(void **state)
{
	char *text, errors[256];
	size_t len;

	assert_int_equal(config_yaml_read_text("configs/kvmwarden.conf", &text,
					       &len, errors, sizeof(errors)),
			 0);
	text[len] = '\0';
	assert_null(strstr(text, "not yet"));
	assert_non_null(strstr(text, "enforce: hold the budgets"));
	free(text);
}

static void values_are_read(void **state)
{
	struct config config;
	char errors[256];

	assert_int_equal(
		parse(&config,
		      "mode: enforce\ninterval_ms: 2000\n"
		      "discover_interval_ms: 250\nsummary_interval_s: 0\n",
		      errors, sizeof(errors)),
		0);
	assert_int_equal(config.mode, CONFIG_MODE_ENFORCE);
	assert_int_equal(config.interval_ms, 2000);
	assert_int_equal(config.discover_interval_ms, 250);
	assert_int_equal(config.summary_interval_s, 0);
}

static void every_error_names_line_and_key(void **state)
{
	struct config config = { .interval_ms = 1234 };
	char errors[1024];

	assert_int_equal(parse(&config,
			       "mode: enforc\ninterval_ms: -5\nbogus: 1\n",
			       errors, sizeof(errors)),
			 -EINVAL);
	assert_non_null(strstr(errors, "test.conf:1: mode: "));
	assert_non_null(strstr(errors, "test.conf:2: interval_ms: "));
	assert_non_null(strstr(errors, "test.conf:3: bogus: unknown key"));
	/* A rejected file leaves the previous configuration untouched. */
	assert_int_equal(config.interval_ms, 1234);
}

static void broken_yaml_is_refused(void **state)
{
	struct config config;
	char errors[256];

	assert_int_equal(parse(&config, "mode: [monitor\n", errors,
			       sizeof(errors)),
			 -EINVAL);
	assert_non_null(strstr(errors, "not valid YAML"));
	assert_int_equal(parse(&config, "- a\n- b\n", errors, sizeof(errors)),
			 -EINVAL);
	assert_non_null(strstr(errors, "mapping"));
	assert_int_equal(parse(&config, "interval_ms: {a: 1}\n", errors,
			       sizeof(errors)),
			 -EINVAL);
}

static void discovery_slower_than_interval_is_refused(void **state)
{
	struct config config;
	char errors[256];

	assert_int_equal(parse(&config,
			       "interval_ms: 200\ndiscover_interval_ms: 500\n",
			       errors, sizeof(errors)),
			 -EINVAL);
	assert_non_null(strstr(errors, "discover_interval_ms"));
}

static void tiny_error_buffer_is_safe(void **state)
{
	struct config config;
	char errors[8];

	assert_int_equal(parse(&config, "a: 1\nb: 2\nc: 3\n", errors,
			       sizeof(errors)),
			 -EINVAL);
	assert_true(strlen(errors) < sizeof(errors));
}

static void metrics_endpoint_keys_are_read(void **state)
{
	struct config config;
	char errors[256];

	assert_int_equal(parse(&config,
			       "listen_address: '[::1]:9999'\n"
			       "web_config: /etc/kvmwarden/web.yml\n"
			       "per_vcpu_metrics: true\n",
			       errors, sizeof(errors)),
			 0);
	assert_string_equal(config.listen_address, "[::1]:9999");
	assert_string_equal(config.web_config, "/etc/kvmwarden/web.yml");
	assert_true(config.per_vcpu_metrics);
	/* An empty address turns the endpoint off. */
	assert_int_equal(parse(&config, "listen_address: ''\n", errors,
			       sizeof(errors)),
			 0);
	assert_string_equal(config.listen_address, "");
	assert_int_equal(parse(&config, "listen_address: ':19857'\n", errors,
			       sizeof(errors)),
			 0);
}

static void bad_endpoint_keys_are_refused(void **state)
{
	struct config config;
	char errors[1024];

	assert_int_equal(parse(&config,
			       "listen_address: localhost:9100\n"
			       "per_vcpu_metrics: yes please\n"
			       "web_config: [a, b]\n",
			       errors, sizeof(errors)),
			 -EINVAL);
	assert_non_null(strstr(errors, "test.conf:1: listen_address: expected "
				       "IPv4:PORT"));
	assert_non_null(strstr(errors, "test.conf:2: per_vcpu_metrics: "
				       "expected true or false"));
	assert_non_null(strstr(errors, "test.conf:3: web_config: expected a "
				       "string"));
	/* Port 0 would leave Prometheus nothing to scrape. */
	assert_int_equal(parse(&config, "listen_address: 127.0.0.1:0\n", errors,
			       sizeof(errors)),
			 -EINVAL);
}

static void missing_file_is_an_error(void **state)
{
	struct config config;
	char errors[256];

	assert_int_equal(config_load(&config, "/nonexistent/kvmwarden.conf",
				     errors, sizeof(errors)),
			 -ENOENT);
	assert_non_null(strstr(errors, "cannot open"));
}

/* `kvmwarden run` by hand, nothing configured: no file at the default
 * path runs on the defaults; the same path named with --config does not. */
static void missing_default_file_means_defaults(void **state)
{
	const char *path = "/nonexistent/kvmwarden.conf";
	struct config config;
	bool defaulted = false;
	char errors[256];

	memset(&config, 0xff, sizeof(config));
	assert_int_equal(config_load_or_defaults(&config, path, false,
						 &defaulted, errors,
						 sizeof(errors)),
			 0);
	assert_true(defaulted);
	assert_int_equal(config.mode, CONFIG_MODE_MONITOR);
	assert_string_equal(config.listen_address, "127.0.0.1:19857");
	assert_int_equal(config.interval_ms, 1000);

	defaulted = true;
	assert_int_equal(config_load_or_defaults(&config, path, true,
						 &defaulted, errors,
						 sizeof(errors)),
			 -ENOENT);
	assert_false(defaulted);
	assert_non_null(strstr(errors, "cannot open"));
}

/* Something at the default path is read, and when it cannot be read (a
 * directory here: root reads any file) that is an error, not defaults. */
static void present_default_file_is_used_or_refused(void **state)
{
	char dir[] = "/tmp/kvmw-config-XXXXXX", file[64], errors[256];
	struct config config;
	bool defaulted = true;
	FILE *out;

	assert_non_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/kvmwarden.conf", dir);
	out = fopen(file, "w");
	assert_non_null(out);
	fputs("mode: enforce\ninterval_ms: 2000\n", out);
	fclose(out);
	assert_int_equal(config_load_or_defaults(&config, file, false,
						 &defaulted, errors,
						 sizeof(errors)),
			 0);
	assert_false(defaulted);
	assert_int_equal(config.mode, CONFIG_MODE_ENFORCE);
	assert_int_equal(config.interval_ms, 2000);
	assert_int_equal(unlink(file), 0);

	assert_int_equal(mkdir(file, 0700), 0);
	assert_int_not_equal(config_load_or_defaults(&config, file, false,
						     &defaulted, errors,
						     sizeof(errors)),
			     0);
	assert_false(defaulted);
	assert_int_equal(rmdir(file), 0);
	assert_int_equal(rmdir(dir), 0);
}

static void socket_keys_are_read_and_checked(void **state)
{
	struct config config;
	char errors[512];

	assert_int_equal(
		parse(&config, "mode: monitor\n", errors, sizeof(errors)), 0);
	assert_string_equal(config.socket_path,
			    "/run/kvmwarden/kvmwarden.sock");
	assert_string_equal(config.socket_group, "");
	assert_int_equal(parse(&config,
			       "socket_path: /tmp/x.sock\n"
			       "socket_group: kvmops\n",
			       errors, sizeof(errors)),
			 0);
	assert_string_equal(config.socket_path, "/tmp/x.sock");
	assert_string_equal(config.socket_group, "kvmops");
	assert_int_equal(
		parse(&config, "socket_path: ''\n", errors, sizeof(errors)), 0);
	assert_string_equal(config.socket_path, "");
	assert_int_equal(parse(&config, "socket_path: run/k.sock\n", errors,
			       sizeof(errors)),
			 -EINVAL);
	assert_non_null(strstr(errors, "test.conf:1: socket_path: expected "
				       "an absolute path"));
	/* Longer than a Unix socket address holds. */
	assert_int_equal(
		parse(&config,
		      "socket_path: /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		      errors, sizeof(errors)),
		-EINVAL);
	assert_non_null(strstr(errors, "socket_path: longer than 107"));
}

/* The last of two would win silently: both lines are named instead. */
static void repeated_keys_are_refused_with_both_lines(void **state)
{
	struct config config;
	char errors[1024];

	assert_int_equal(parse(&config, "mode: enforce\nmode: monitor\n",
			       errors, sizeof(errors)),
			 -EINVAL);
	assert_non_null(strstr(errors, "test.conf:2: mode: listed twice "
				       "(lines 1 and 2)"));
	assert_int_equal(parse(&config,
			       "budgets:\n  - match: a\n    class: high\n"
			       "    max_steal_percent: 5\n"
			       "    max_steal_percent: 6\nbudgets: []\n",
			       errors, sizeof(errors)),
			 -EINVAL);
	assert_non_null(strstr(errors, "max_steal_percent: listed twice "
				       "(lines 4 and 5)"));
	assert_non_null(strstr(errors, "budgets: listed twice (lines 1 "
				       "and 6)"));
}

/* A newline in a path or name would forge log lines; the message says
 * where, without echoing it. */
static void control_characters_are_refused(void **state)
{
	struct config config;
	char errors[1024];

	assert_int_equal(parse(&config, "roots: [\"/kw/a\\nb\"]\n", errors,
			       sizeof(errors)),
			 -EINVAL);
	assert_non_null(strstr(errors, "test.conf:1: roots: control "
				       "character (0x0a) at offset 5"));
	assert_null(strchr(errors, '\n') == errors + strlen(errors) - 1 ?
			    NULL :
			    "more than one line");
	assert_int_equal(parse(&config,
			       "cgroup_guests:\n  - name: \"db\\x1b[2J\"\n"
			       "    cgroup: /kw/db\n",
			       errors, sizeof(errors)),
			 -EINVAL);
	assert_non_null(strstr(errors, "control character (0x1b)"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(empty_file_means_defaults),
		cmocka_unit_test(shipped_config_is_valid_and_monitors),
		cmocka_unit_test(shipped_config_offers_enforce_mode),
		cmocka_unit_test(values_are_read),
		cmocka_unit_test(every_error_names_line_and_key),
		cmocka_unit_test(broken_yaml_is_refused),
		cmocka_unit_test(discovery_slower_than_interval_is_refused),
		cmocka_unit_test(tiny_error_buffer_is_safe),
		cmocka_unit_test(metrics_endpoint_keys_are_read),
		cmocka_unit_test(bad_endpoint_keys_are_refused),
		cmocka_unit_test(missing_file_is_an_error),
		cmocka_unit_test(missing_default_file_means_defaults),
		cmocka_unit_test(present_default_file_is_used_or_refused),
		cmocka_unit_test(socket_keys_are_read_and_checked),
		cmocka_unit_test(repeated_keys_are_refused_with_both_lines),
		cmocka_unit_test(control_characters_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
