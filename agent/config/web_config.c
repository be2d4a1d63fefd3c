// SPDX-License-Identifier: GPL-2.0-only
/*
 * web.yml parsing (libyaml, problems reported like config.c's) and basic
 * auth password checks with libcrypt's bcrypt. Only what kvmwarden applies
 * is accepted: a key Prometheus knows but kvmwarden ignores is refused.
 */
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "config/config_yaml.h"
#include "config/web_config.h"

/* "$2b$10$" then 53 characters of bcrypt's base64 (22 of salt, 31 of hash):
 * exactly what htpasswd -B and Prometheus's docs produce. */
static bool is_bcrypt_hash(const char *hash)
{
	static const char alphabet[] = "./ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "abcdefghijklmnopqrstuvwxyz0123456789";
	int cost;

	if (strlen(hash) != 60 || strncmp(hash, "$2", 2) ||
	    !strchr("aby", hash[2]) || hash[3] != '$' || hash[6] != '$')
		return false;
	if (hash[4] < '0' || hash[4] > '9' || hash[5] < '0' || hash[5] > '9')
		return false;
	cost = (hash[4] - '0') * 10 + (hash[5] - '0');
	return cost >= 4 && cost <= 31 && strspn(hash + 7, alphabet) == 53;
}

static int bcrypt_cost(const char *hash)
{
	return (hash[4] - '0') * 10 + (hash[5] - '0');
}

/* Debian's libxcrypt checks bcrypt; a libcrypt built without it would turn
 * every login into a failure, so say so when the file is read instead. */
static bool libcrypt_has_bcrypt(void)
{
	struct crypt_data *data = calloc(1, sizeof(*data));
	const char *result;
	bool ok;

	if (!data)
		return false;
	result = crypt_r("probe", "$2b$04$abcdefghijklmnopqrstuu", data);
	ok = result && !strncmp(result, "$2b$04$", 7);
	free(data);
	return ok;
}

static void set_path(struct config_problems *p, yaml_node_t *node,
		     const char *key, char *out)
{
	const char *text = config_yaml_scalar(node),
		   *slash = strrchr(p->source, '/');
	int dir_len = slash ? (int)(slash - p->source) : 0;
	int n;

	if (!text || !text[0]) {
		config_yaml_complain(p, config_yaml_line_of(node), key,
				     "expected a file path");
		return;
	}
	if (text[0] == '/' || !slash)
		n = snprintf(out, WEB_CONFIG_PATH_LEN, "%s", text);
	else
		n = snprintf(out, WEB_CONFIG_PATH_LEN, "%.*s/%s", dir_len,
			     p->source, text);
	if (n < 0 || n >= WEB_CONFIG_PATH_LEN)
		config_yaml_complain(p, config_yaml_line_of(node), key,
				     "path too long");
}

static void parse_tls(struct config_problems *p, yaml_document_t *doc,
		      size_t line, yaml_node_t *node, struct web_config *out)
{
	yaml_node_t *key_node, *value;
	yaml_node_pair_t *pair = NULL;
	const char *key;

	if (node->type != YAML_MAPPING_NODE) {
		config_yaml_complain(p, line, "tls_server_config",
				     "expected cert_file and key_file");
		return;
	}
	out->tls = true;
	while ((key = config_yaml_next(p, doc, node, NULL, &pair, &key_node,
				       &value))) {
		if (!strcmp(key, "cert_file"))
			set_path(p, value, key, out->cert_file);
		else if (!strcmp(key, "key_file"))
			set_path(p, value, key, out->key_file);
		else
			config_yaml_complain(p, config_yaml_line_of(key_node),
					     key,
					     "not supported (kvmwarden reads "
					     "cert_file and key_file only)");
	}
	if (!out->cert_file[0] || !out->key_file[0])
		config_yaml_complain(p, line, "tls_server_config",
				     "needs both cert_file and key_file");
}

static void add_user(struct config_problems *p, yaml_node_t *key_node,
		     yaml_node_t *value, struct web_config *out)
{
	const char *name = config_yaml_scalar(key_node),
		   *hash = config_yaml_scalar(value);
	struct web_user *user;

	if (!name || !name[0] || strchr(name, ':') ||
	    strlen(name) >= WEB_CONFIG_NAME_LEN) {
		config_yaml_complain(p, config_yaml_line_of(key_node),
				     "basic_auth_users",
				     "user names must be plain, without ':', "
				     "under %d characters",
				     WEB_CONFIG_NAME_LEN);
		return;
	}
	/* A name listed twice is config_yaml_check_repeated_keys' to refuse. */
	for (size_t i = 0; i < out->user_count; i++)
		if (!strcmp(out->users[i].name, name))
			return;
	if (!hash || !is_bcrypt_hash(hash)) {
		config_yaml_complain(p, config_yaml_line_of(value), name,
				     "expected a bcrypt hash ($2b$..., 60 "
				     "characters, as htpasswd -nB makes)");
		return;
	}
	/* Each step doubles the work: cost 12 takes about 200 ms here, 31
	 * would take days, and the endpoint has one thread. */
	if (bcrypt_cost(hash) > WEB_CONFIG_MAX_BCRYPT_COST) {
		config_yaml_complain(
			p, config_yaml_line_of(value), name,
			"bcrypt cost %d: at most %d is accepted (each "
			"check costs 2^cost rounds; htpasswd -nBC 10 "
			"makes cost 10)",
			bcrypt_cost(hash), WEB_CONFIG_MAX_BCRYPT_COST);
		return;
	}
	if (out->user_count == WEB_CONFIG_MAX_USERS) {
		config_yaml_complain(p, config_yaml_line_of(key_node), name,
				     "more than %d users",
				     WEB_CONFIG_MAX_USERS);
		return;
	}
	user = &out->users[out->user_count++];
	snprintf(user->name, sizeof(user->name), "%s", name);
	snprintf(user->hash, sizeof(user->hash), "%s", hash);
}

static void parse_users(struct config_problems *p, yaml_document_t *doc,
			size_t line, yaml_node_t *node, struct web_config *out)
{
	yaml_node_pair_t *pair;

	if (node->type != YAML_MAPPING_NODE) {
		config_yaml_complain(p, line, "basic_auth_users",
				     "expected USER: BCRYPT_HASH pairs");
		return;
	}
	/* An empty map would turn authentication off without a word. */
	if (node->data.mapping.pairs.start == node->data.mapping.pairs.top) {
		config_yaml_complain(
			p, line, "basic_auth_users",
			"no users: remove the key to serve without "
			"authentication");
		return;
	}
	for (pair = node->data.mapping.pairs.start;
	     pair < node->data.mapping.pairs.top; pair++)
		add_user(p, yaml_document_get_node(doc, pair->key),
			 yaml_document_get_node(doc, pair->value), out);
	if (out->user_count && !libcrypt_has_bcrypt())
		config_yaml_complain(
			p, line, "basic_auth_users",
			"this system's libcrypt cannot check bcrypt "
			"hashes");
}

static void parse_top(struct config_problems *p, yaml_document_t *doc,
		      yaml_node_t *root, struct web_config *out)
{
	yaml_node_t *key_node, *value;
	yaml_node_pair_t *pair = NULL;
	const char *key;

	while ((key = config_yaml_next(p, doc, root, NULL, &pair, &key_node,
				       &value))) {
		if (!strcmp(key, "tls_server_config"))
			parse_tls(p, doc, config_yaml_line_of(key_node), value,
				  out);
		else if (!strcmp(key, "basic_auth_users"))
			parse_users(p, doc, config_yaml_line_of(key_node),
				    value, out);
		else if (!strcmp(key, "http_server_config"))
			config_yaml_complain(p, config_yaml_line_of(key_node),
					     key, "not supported by kvmwarden");
		else
			config_yaml_complain(p, config_yaml_line_of(key_node),
					     key, "unknown key");
	}
}

int web_config_parse(struct web_config *out, const char *text, size_t len,
		     const char *source, char *errors, size_t errors_size)
{
	struct config_yaml_doc yd;
	struct web_config *parsed;
	yaml_node_t *root;
	int err;

	parsed = calloc(1, sizeof(*parsed));
	if (!parsed) {
		if (errors_size)
			errors[0] = '\0';
		return -ENOMEM;
	}
	err = config_yaml_open(&yd, text, len, source, errors, errors_size,
			       &root);
	if (err) {
		free(parsed);
		return err;
	}
	if (root)
		parse_top(&yd.problems, &yd.doc, root, parsed);
	config_yaml_close(&yd);
	if (!yd.problems.count)
		*out = *parsed;
	free(parsed);
	return yd.problems.count ? -EINVAL : 0;
}

static int parse_into(void *out, const char *text, size_t len,
		      const char *source, char *errors, size_t errors_size)
{
	return web_config_parse(out, text, len, source, errors, errors_size);
}

int web_config_load(struct web_config *out, const char *path, char *errors,
		    size_t errors_size)
{
	return config_yaml_load(path, parse_into, out, errors, errors_size);
}

bool web_config_check_password(const struct web_config *config,
			       const char *user, const char *password)
{
	const struct web_user *found = NULL;
	struct crypt_data *data;
	const char *hash, *result;
	unsigned char diff = 0;
	bool match = false;
	size_t len;

	if (!config->user_count)
		return false;
	for (size_t i = 0; i < config->user_count; i++)
		if (!strcmp(config->users[i].name, user))
			found = &config->users[i];
	/* An unknown user costs one bcrypt run too, against a real hash. */
	hash = found ? found->hash : config->users[0].hash;
	/* struct crypt_data is 32 KiB: too much for a server thread's stack. */
	data = calloc(1, sizeof(*data));
	if (!data)
		return false;
	result = crypt_r(password, hash, data);
	len = strlen(hash);
	if (result && result[0] != '*' && strlen(result) == len) {
		for (size_t i = 0; i < len; i++)
			diff |= (unsigned char)(result[i] ^ hash[i]);
		match = found && diff == 0;
	}
	explicit_bzero(data, sizeof(*data));
	free(data);
	return match;
}
