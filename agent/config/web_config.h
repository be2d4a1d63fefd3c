/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The web configuration file, in the format of Prometheus's own web.yml:
 * TLS certificate and key, and basic-auth users with bcrypt hashes. This
 * module owns parsing and password checks; http.c applies them.
 */
#ifndef KVMWARDEN_WEB_CONFIG_H
#define KVMWARDEN_WEB_CONFIG_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>

#define WEB_CONFIG_PATH_LEN 512
#define WEB_CONFIG_MAX_USERS 64
#define WEB_CONFIG_NAME_LEN 128
#define WEB_CONFIG_HASH_LEN 64 /* a bcrypt hash is 60 characters */
/* The highest bcrypt cost accepted (http_auth.h says why it matters). */
#define WEB_CONFIG_MAX_BCRYPT_COST 12

struct web_user {
	char name[WEB_CONFIG_NAME_LEN];
	char hash[WEB_CONFIG_HASH_LEN];
};

struct web_config {
	bool tls;
	/* Relative paths are taken from the web config file's directory. */
	char cert_file[WEB_CONFIG_PATH_LEN];
	char key_file[WEB_CONFIG_PATH_LEN];
	struct web_user users[WEB_CONFIG_MAX_USERS];
	size_t user_count; /* 0: no authentication */
};

/* Parses YAML text; `source` names it in errors and its directory anchors
 * relative paths. Returns 0, or -EINVAL with one line per problem in
 * `errors`, or -ENOMEM. */
int web_config_parse(struct web_config *out, const char *text, size_t len,
		     const char *source, char *errors, size_t errors_size);
int web_config_load(struct web_config *out, const char *path, char *errors,
		    size_t errors_size);

/* True when `user` is configured and `password` matches its hash. Takes
 * as long for an unknown user as for a wrong password, and compares in
 * constant time, so timing tells an attacker nothing. */
bool web_config_check_password(const struct web_config *config,
			       const char *user, const char *password);

#endif
