/*
 * client_test: the per-process cache of verified client secrets in front
 * of bcrypt: a repeated correct secret hits, a wrong secret never does
 * (and is refused), a changed secret (new stored hash) misses and the old
 * secret stops working at once, clients never share entries, and a
 * secret differing only after bcrypt's 72 bytes behaves as bcrypt does.
 */
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "crypto.h"
#include "log.h"
#include "t.h"

/* Owned bcrypt hash (cost 4) of secret, as pgcrypto would store it. */
static char *
bcrypt(const char *secret)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data cd;
	char *h;

	memset(&cd, 0, sizeof(cd));
	if (crypt_gensalt_rn("$2b$", 4, NULL, 0, salt, sizeof(salt)) == NULL ||
	    (h = crypt_rn(secret, salt, &cd, (int)sizeof(cd))) == NULL || h[0] == '*')
		return NULL;
	return strdup(h);
}

static void
test_secret_cache(void)
{
	char *h1 = bcrypt("first-secret-0123"), *h2 = bcrypt("second-secret-4567");
	char long_a[100], long_b[100];
	char *hl;
	struct client a, b;
	unsigned long hits;

	if (h1 == NULL || h2 == NULL) {
		T_OK(0, "bcrypt hashes made");
		return;
	}
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.id = "client-a";
	a.secret_hash = h1;
	b.id = "client-b";
	b.secret_hash = h1;		/* same hash, another client */

	hits = client_secret_cache_hits();
	T_EQ_INT(client_secret_ok(&a, "first-secret-0123"), 1, "first check passes (bcrypt)");
	T_EQ_INT(client_secret_cache_hits(), hits, "first check is a miss");
	T_EQ_INT(client_secret_ok(&a, "first-secret-0123"), 1, "second check passes");
	T_EQ_INT(client_secret_cache_hits(), hits + 1, "second check is a hit");
	T_EQ_INT(client_secret_ok(&a, "first-secret-0124"), 0, "wrong secret refused");
	T_EQ_INT(client_secret_ok(&a, "first-secret-012"), 0, "prefix of the secret refused");
	T_EQ_INT(client_secret_ok(&a, ""), 0, "empty secret refused");
	T_EQ_INT(client_secret_cache_hits(), hits + 1, "wrong secrets never hit");
	T_EQ_INT(client_secret_ok(&a, "first-secret-0123"), 1, "right secret still passes");
	T_EQ_INT(client_secret_cache_hits(), hits + 2, "and hits again");

	/* Another client with the same stored hash has its own entry. */
	T_EQ_INT(client_secret_ok(&b, "first-secret-0123"), 1, "other client passes");
	T_EQ_INT(client_secret_cache_hits(), hits + 2, "other client misses first");

	/* The DBA changes the secret: the stored hash changes. */
	a.secret_hash = h2;
	T_EQ_INT(client_secret_ok(&a, "first-secret-0123"), 0, "old secret refused after change");
	T_EQ_INT(client_secret_cache_hits(), hits + 2, "old secret does not hit after change");
	T_EQ_INT(client_secret_ok(&a, "second-secret-4567"), 1, "new secret passes");
	T_EQ_INT(client_secret_ok(&a, "second-secret-4567"), 1, "new secret passes again");
	T_EQ_INT(client_secret_cache_hits(), hits + 3, "new secret hits");
	a.secret_hash = h1;
	T_EQ_INT(client_secret_ok(&a, "second-secret-4567"), 0, "new secret refused under the old hash");

	/* bcrypt reads 72 bytes: the cache must not change what passes. */
	memset(long_a, 'x', 80);
	long_a[80] = '\0';
	memcpy(long_b, long_a, 81);
	long_b[79] = 'y';
	if ((hl = bcrypt(long_a)) != NULL) {
		a.secret_hash = hl;
		T_EQ_INT(client_secret_ok(&a, long_a), 1, "long secret passes");
		T_EQ_INT(client_secret_ok(&a, long_b), 1,
		    "long secret differing after 72 bytes passes, as with bcrypt alone");
		free(hl);
	}

	a.secret_hash = NULL;
	T_EQ_INT(client_secret_ok(&a, "first-secret-0123"), 0, "client without a secret refused");
	a.secret_hash = h1;
	T_EQ_INT(client_secret_ok(&a, NULL), 0, "NULL secret refused");
	a.id = NULL;
	T_EQ_INT(client_secret_ok(&a, "first-secret-0123"), 0, "client without id refused");
	free(h1);
	free(h2);
}

static void
test_many_clients(void)
{
	char *h = bcrypt("shared"), id[32];
	struct client c;
	unsigned long hits;
	int i, ok = 1;

	if (h == NULL) {
		T_OK(0, "bcrypt hash made");
		return;
	}
	memset(&c, 0, sizeof(c));
	c.secret_hash = h;
	c.id = id;
	/* More clients than slots: entries are replaced, answers stay right. */
	for (i = 0; i < 100; i++) {
		snprintf(id, sizeof(id), "many-%d", i);
		ok &= client_secret_ok(&c, "shared") == 1;
		ok &= client_secret_ok(&c, "not-shared") == 0;
	}
	T_OK(ok, "100 clients: right secrets pass, wrong ones fail");
	hits = client_secret_cache_hits();
	snprintf(id, sizeof(id), "many-%d", 99);
	T_EQ_INT(client_secret_ok(&c, "shared"), 1, "most recent client passes");
	T_EQ_INT(client_secret_cache_hits(), hits + 1, "most recent client hits");
	free(h);
}

/* The id a refused request claims, for the audit trail. */
static void
test_claimed_id(void)
{
	static const char *const claims = "{\"iss\":\"jwt-client\",\"sub\":\"jwt-client\"}";
	char *env_basic[] = { "HTTP_AUTHORIZATION=Basic YmFzaWMtY2xpZW50OnNlY3JldA==", NULL };
	char *env_none[] = { NULL };
	char body[512], *hb, *cb, *id;
	struct req r;

	hb = b64url_encode("{\"alg\":\"ES384\"}", 15);
	cb = b64url_encode(claims, strlen(claims));
	memset(&r, 0, sizeof(r));
	r.envp = env_none;
	snprintf(body, sizeof(body), "client_assertion=%s.%s.AAAA&grant_type=x", hb, cb);
	form_parse(&r.fparams, body, strlen(body));
	id = client_claimed_id(&r);
	T_EQ_STR(id, "jwt-client", "claimed id: assertion iss");
	free(id);
	r.envp = env_basic;
	id = client_claimed_id(&r);
	T_EQ_STR(id, "basic-client", "claimed id: Basic before assertion");
	free(id);
	form_clear(&r.fparams);
	snprintf(body, sizeof(body), "client_id=body-client&client_assertion=%s.%s.AAAA", hb, cb);
	form_parse(&r.fparams, body, strlen(body));
	id = client_claimed_id(&r);
	T_EQ_STR(id, "body-client", "claimed id: body client_id first");
	free(id);
	form_clear(&r.fparams);
	r.envp = env_none;
	form_parse(&r.fparams, "client_assertion=garbage", 24);
	T_OK(client_claimed_id(&r) == NULL, "claimed id: none from a garbage assertion");
	form_clear(&r.fparams);
	free(hb);
	free(cb);
}

int main(void);

int
main(void)
{
	log_set_level(LOGL_ERROR);
	test_secret_cache();
	test_many_clients();
	test_claimed_id();
	return t_done();
}
