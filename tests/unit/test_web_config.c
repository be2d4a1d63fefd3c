// SPDX-License-Identifier: GPL-2.0-only
/*
 * web.yml parsing: what is accepted, every rejection naming line and key,
 * relative certificate paths, and bcrypt password checks.
 */
#include <crypt.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "config/web_config.h"

static char alice_hash[128];

static int make_hash(void **state)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data data;
	const char *hash;

	memset(&data, 0, sizeof(data));
	if (!crypt_gensalt_rn("$2y$", 4, NULL, 0, salt, sizeof(salt)))
		return -1;
	hash = crypt_r("pa:ss \"word\"", salt, &data);
	if (!hash || strlen(hash) != 60)
		return -1;
	strcpy(alice_hash, hash);
	return 0;
}

static int parse(struct web_config *config, const char *source,
		 const char *yaml, char *errors, size_t size)
{
	return web_config_parse(config, yaml, strlen(yaml), source, errors,
				size);
}

static void full_file_is_read(void **state)
{
	struct web_config config;
	char yaml[512], errors[512];

	snprintf(yaml, sizeof(yaml),
		 "# like Prometheus's web.yml\n"
		 "tls_server_config:\n"
		 "  cert_file: tls/cert.pem\n"
		 "  key_file: /abs/key.pem\n"
		 "basic_auth_users:\n"
		 "  alice: %s\n"
		 "  bob: '%s'\n",
		 alice_hash, alice_hash);
	assert_int_equal(parse(&config, "/etc/kvmwarden/web.yml", yaml, errors,
			       sizeof(errors)),
			 0);
	assert_true(config.tls);
	assert_string_equal(config.cert_file, "/etc/kvmwarden/tls/cert.pem");
	assert_string_equal(config.key_file, "/abs/key.pem");
	assert_int_equal(config.user_count, 2);
	assert_string_equal(config.users[1].name, "bob");
	assert_string_equal(config.users[0].hash, alice_hash);
}

static void empty_file_means_no_tls_no_auth(void **state)
{
	struct web_config config;
	char errors[256];

	memset(&config, 0xff, sizeof(config));
	assert_int_equal(parse(&config, "web.yml", "# nothing\n", errors,
			       sizeof(errors)),
			 0);
	assert_false(config.tls);
	assert_int_equal(config.user_count, 0);
	/* No users: nobody gets in through the password check. */
	assert_false(web_config_check_password(&config, "", ""));
}

static void every_error_names_line_and_key(void **state)
{
	struct web_config config = { .user_count = 7 };
	char yaml[1024], errors[2048];

	snprintf(yaml, sizeof(yaml),
		 "tls_server_config:\n"
		 "  cert_file: c.pem\n"
		 "  client_ca_file: ca.pem\n"
		 "basic_auth_users:\n"
		 "  alice: $2y$10$short\n"
		 "  bob: plaintext\n"
		 "  'a:b': %s\n"
		 "  carol: %s\n"
		 "  carol: %s\n"
		 "http_server_config:\n"
		 "  http2: false\n"
		 "bogus: 1\n",
		 alice_hash, alice_hash, alice_hash);
	assert_int_equal(parse(&config, "w.yml", yaml, errors, sizeof(errors)),
			 -EINVAL);
	assert_non_null(
		strstr(errors, "w.yml:3: client_ca_file: not supported"));
	assert_non_null(
		strstr(errors, "w.yml:1: tls_server_config: needs both"));
	assert_non_null(
		strstr(errors, "w.yml:5: alice: expected a bcrypt hash"));
	assert_non_null(strstr(errors, "w.yml:6: bob: expected a bcrypt hash"));
	assert_non_null(
		strstr(errors, "w.yml:7: basic_auth_users: user names"));
	assert_non_null(strstr(errors, "w.yml:9: carol: listed twice"));
	assert_non_null(strstr(errors, "w.yml:10: http_server_config: not "
				       "supported"));
	assert_non_null(strstr(errors, "w.yml:12: bogus: unknown key"));
	/* A refused file changes nothing. */
	assert_int_equal(config.user_count, 7);
}

static void malformed_files_are_refused(void **state)
{
	struct web_config config;
	char errors[512];

	assert_int_equal(parse(&config, "w.yml", "basic_auth_users: [a\n",
			       errors, sizeof(errors)),
			 -EINVAL);
	assert_non_null(strstr(errors, "not valid YAML"));
	assert_int_equal(parse(&config, "w.yml", "- a\n", errors,
			       sizeof(errors)),
			 -EINVAL);
	assert_non_null(strstr(errors, "mapping"));
	assert_int_equal(parse(&config, "w.yml", "basic_auth_users: alice\n",
			       errors, sizeof(errors)),
			 -EINVAL);
	assert_non_null(strstr(errors, "USER: BCRYPT_HASH"));
	assert_int_equal(parse(&config, "w.yml", "tls_server_config:\n", errors,
			       sizeof(errors)),
			 -EINVAL);
	assert_non_null(strstr(errors, "w.yml:1: tls_server_config"));
}

static void passwords_are_checked(void **state)
{
	struct web_config config;
	char yaml[256], errors[256];

	snprintf(yaml, sizeof(yaml), "basic_auth_users:\n  alice: %s\n",
		 alice_hash);
	assert_int_equal(parse(&config, "w.yml", yaml, errors, sizeof(errors)),
			 0);
	assert_true(
		web_config_check_password(&config, "alice", "pa:ss \"word\""));
	assert_false(
		web_config_check_password(&config, "alice", "pa:ss \"word\" "));
	assert_false(web_config_check_password(&config, "alice", ""));
	assert_false(
		web_config_check_password(&config, "Alice", "pa:ss \"word\""));
	assert_false(
		web_config_check_password(&config, "bob", "pa:ss \"word\""));
}

static void missing_file_is_an_error(void **state)
{
	struct web_config config;
	char errors[256];

	assert_int_equal(web_config_load(&config, "/nonexistent/web.yml",
					 errors, sizeof(errors)),
			 -ENOENT);
	assert_non_null(strstr(errors, "/nonexistent/web.yml: cannot open"));
}

/* Issue 14: what turned auth off or changed it silently, and a cost that
 * makes one request take hours, are refused. */
static void unsafe_auth_settings_are_refused(void **state)
{
	struct web_config config;
	char yaml[1024], errors[2048], hash[128];

	assert_int_equal(parse(&config, "w.yml", "basic_auth_users: {}\n",
			       errors, sizeof(errors)),
			 -EINVAL);
	assert_non_null(strstr(errors, "w.yml:1: basic_auth_users: no users"));
	snprintf(yaml, sizeof(yaml),
		 "basic_auth_users:\n  alice: %s\n"
		 "tls_server_config:\n  cert_file: a.pem\n  key_file: a.key\n"
		 "basic_auth_users:\n  bob: %s\n"
		 "tls_server_config:\n  cert_file: b.pem\n  key_file: b.key\n",
		 alice_hash, alice_hash);
	assert_int_equal(parse(&config, "w.yml", yaml, errors, sizeof(errors)),
			 -EINVAL);
	assert_non_null(strstr(errors, "w.yml:6: basic_auth_users: listed "
				       "twice (lines 1 and 6)"));
	assert_non_null(strstr(errors, "w.yml:8: tls_server_config: listed "
				       "twice (lines 3 and 8)"));
	/* Cost 13 is refused, 12 taken (the hash is only parsed here). */
	snprintf(hash, sizeof(hash), "%s", alice_hash);
	memcpy(hash + 4, "13", 2);
	snprintf(yaml, sizeof(yaml), "basic_auth_users:\n  alice: %s\n", hash);
	assert_int_equal(parse(&config, "w.yml", yaml, errors, sizeof(errors)),
			 -EINVAL);
	assert_non_null(strstr(errors, "w.yml:2: alice: bcrypt cost 13: at "
				       "most 12"));
	memcpy(hash + 4, "12", 2);
	snprintf(yaml, sizeof(yaml), "basic_auth_users:\n  alice: %s\n", hash);
	assert_int_equal(parse(&config, "w.yml", yaml, errors, sizeof(errors)),
			 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(full_file_is_read),
		cmocka_unit_test(empty_file_means_no_tls_no_auth),
		cmocka_unit_test(every_error_names_line_and_key),
		cmocka_unit_test(unsafe_auth_settings_are_refused),
		cmocka_unit_test(malformed_files_are_refused),
		cmocka_unit_test(passwords_are_checked),
		cmocka_unit_test(missing_file_is_an_error),
	};

	return cmocka_run_group_tests(tests, make_hash, NULL);
}
