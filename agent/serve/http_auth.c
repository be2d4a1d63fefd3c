// SPDX-License-Identifier: GPL-2.0-only
/*
 * Basic auth's cache and meters (http_auth.h). SHA-256 comes from GnuTLS,
 * which libmicrohttpd links for TLS anyway; bcrypt stays web_config.c's.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <gnutls/crypto.h>

#include "base/units.h"
#include "serve/http_auth.h"

int http_auth_init(struct http_auth *auth, uint64_t now_ns)
{
	memset(auth, 0, sizeof(*auth));
	if (getrandom(auth->salt, sizeof(auth->salt), 0) !=
	    (ssize_t)sizeof(auth->salt))
		return -EIO;
	auth->total.tokens_ns = (int64_t)HTTP_AUTH_TOTAL_BURST_NS;
	auth->total.updated_ns = now_ns;
	return 0;
}

static void refill(struct http_auth_bucket *bucket, uint64_t permille,
		   uint64_t burst_ns, uint64_t now_ns)
{
	uint64_t elapsed =
		now_ns > bucket->updated_ns ? now_ns - bucket->updated_ns : 0;
	/* Capped before multiplying: an idle hour must not overflow. */
	uint64_t earned =
		(elapsed > burst_ns * 1000 ? burst_ns * 1000 : elapsed) *
		permille / 1000;

	bucket->tokens_ns += (int64_t)earned;
	if (bucket->tokens_ns > (int64_t)burst_ns)
		bucket->tokens_ns = (int64_t)burst_ns;
	bucket->updated_ns = now_ns;
}

/* An IPv6 client is metered by its /64: a host gets a whole /64 and could
 * otherwise take a fresh address, and a fresh share, per request. */
static size_t client_key(const struct sockaddr *addr, unsigned char *key)
{
	if (addr && addr->sa_family == AF_INET) {
		memcpy(key, &((const struct sockaddr_in *)addr)->sin_addr, 4);
		return 4;
	}
	if (addr && addr->sa_family == AF_INET6) {
		memcpy(key, &((const struct sockaddr_in6 *)addr)->sin6_addr, 8);
		return 8;
	}
	key[0] = 0;
	return 1;
}

static struct http_auth_client *
client_for(struct http_auth *auth, const struct sockaddr *addr, uint64_t now_ns)
{
	struct http_auth_client *oldest = &auth->clients[0];
	unsigned char key[16];
	size_t len = client_key(addr, key);

	for (size_t i = 0; i < HTTP_AUTH_CLIENTS; i++) {
		struct http_auth_client *c = &auth->clients[i];

		if (c->addr_len == len && !memcmp(c->addr, key, len))
			return c;
		if (!c->addr_len ||
		    (oldest->addr_len && c->last_ns < oldest->last_ns))
			oldest = c;
	}
	/* The least recently seen goes; the total meter still bounds what
	 * many addresses can do together. */
	memset(oldest, 0, sizeof(*oldest));
	memcpy(oldest->addr, key, len);
	oldest->addr_len = len;
	oldest->bucket.tokens_ns = (int64_t)HTTP_AUTH_CLIENT_BURST_NS;
	oldest->bucket.updated_ns = now_ns;
	return oldest;
}

static int cache_key(const struct http_auth *auth, const char *user,
		     const char *password, unsigned char key[32])
{
	size_t user_len = strlen(user), password_len = strlen(password);
	size_t len = sizeof(auth->salt) + user_len + 1 + password_len;
	unsigned char buf[sizeof(auth->salt) + 1024];
	int err;

	if (len > sizeof(buf))
		return -E2BIG; /* never remembered: checked each time */
	memcpy(buf, auth->salt, sizeof(auth->salt));
	memcpy(buf + sizeof(auth->salt), user, user_len + 1);
	memcpy(buf + sizeof(auth->salt) + user_len + 1, password, password_len);
	err = gnutls_hash_fast(GNUTLS_DIG_SHA256, buf, len, key);
	explicit_bzero(buf, len);
	return err ? -EINVAL : 0;
}

static bool same_key(const unsigned char *a, const unsigned char *b)
{
	unsigned char diff = 0;

	for (size_t i = 0; i < 32; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}

static bool cache_hit(const struct http_auth *auth, const unsigned char key[32],
		      uint64_t now_ns)
{
	for (size_t i = 0; i < HTTP_AUTH_CACHE_ENTRIES; i++)
		if (auth->cache[i].expires_ns > now_ns &&
		    same_key(auth->cache[i].key, key))
			return true;
	return false;
}

static void cache_add(struct http_auth *auth, const unsigned char key[32],
		      uint64_t now_ns)
{
	struct http_auth_cached *slot = &auth->cache[0];

	/* The free or soonest-expiring slot. */
	for (size_t i = 1; i < HTTP_AUTH_CACHE_ENTRIES; i++)
		if (auth->cache[i].expires_ns < slot->expires_ns)
			slot = &auth->cache[i];
	memcpy(slot->key, key, 32);
	slot->expires_ns = now_ns + HTTP_AUTH_CACHE_TTL_NS;
}

enum http_auth_result http_auth_check(struct http_auth *auth,
				      const struct web_config *web,
				      const char *user, const char *password,
				      const struct sockaddr *addr,
				      uint64_t now_ns)
{
	struct http_auth_client *client;
	unsigned char key[32];
	bool keyed, match;
	uint64_t started, spent;

	keyed = cache_key(auth, user, password, key) == 0;
	if (keyed && cache_hit(auth, key, now_ns))
		return HTTP_AUTH_OK;
	client = client_for(auth, addr, now_ns);
	client->last_ns = now_ns;
	refill(&client->bucket, HTTP_AUTH_CLIENT_PERMILLE,
	       HTTP_AUTH_CLIENT_BURST_NS, now_ns);
	refill(&auth->total, HTTP_AUTH_TOTAL_PERMILLE, HTTP_AUTH_TOTAL_BURST_NS,
	       now_ns);
	if (client->bucket.tokens_ns <= 0 || auth->total.tokens_ns <= 0) {
		auth->busy_refusals++;
		explicit_bzero(key, sizeof(key));
		return HTTP_AUTH_BUSY;
	}
	/* Charged what it really took, after the fact: the cost is in the
	 * hash, so the first run at a new cost is the measurement. */
	started = monotonic_ns();
	match = web_config_check_password(web, user, password);
	spent = monotonic_ns() - started;
	auth->bcrypt_runs++;
	client->bucket.tokens_ns -= (int64_t)spent;
	auth->total.tokens_ns -= (int64_t)spent;
	if (match && keyed)
		cache_add(auth, key, now_ns);
	explicit_bzero(key, sizeof(key));
	return match ? HTTP_AUTH_OK : HTTP_AUTH_DENIED;
}
