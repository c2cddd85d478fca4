/*
 * clientjwt: private_key_jwt client assertions.  See clientjwt.h.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clientjwt.h"
#include "db.h"
#include "json.h"
#include "jwksfetch.h"
#include "log.h"

/* How often (seconds) this process deletes a client's expired jti rows. */
#define CLIENTJWT_PURGE_GAP	60

/*
 * Parsed inline key sets, per process.  Building and checking a public key
 * (EVP_PKEY_fromdata, EVP_PKEY_public_check) costs about as much as one
 * ES384 verification, so a client's registered jwks is parsed once and
 * found again by SHA-256 of its client id and JSON text: a re-registered
 * jwks has another digest and is parsed afresh.
 */
#define CLIENTJWT_SET_SLOTS	32

struct clientjwt_set_slot {
	unsigned char	 digest[32];
	struct jwk_set	*set;		/* NULL: free */
	unsigned long	 used;
};

static struct clientjwt_set_slot clientjwt_sets[CLIENTJWT_SET_SLOTS];
static unsigned long clientjwt_clock;

/* Borrowed parsed set of c->jwks (valid until the next call), or NULL. */
static const struct jwk_set *
clientjwt_inline_set(const struct client *c)
{
	struct clientjwt_set_slot *s, *victim = NULL;
	unsigned char digest[32];
	EVP_MD_CTX *ctx;
	char *text;
	size_t i;
	int ok;

	if ((text = json_print(c->jwks)) == NULL || (ctx = EVP_MD_CTX_new()) == NULL) {
		free(text);
		log_err("out of memory");
		return NULL;
	}
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, c->id, strlen(c->id) + 1) == 1 &&
	    EVP_DigestUpdate(ctx, text, strlen(text)) == 1 &&
	    EVP_DigestFinal_ex(ctx, digest, NULL) == 1;
	EVP_MD_CTX_free(ctx);
	free(text);
	if (!ok) {
		log_openssl("EVP_Digest");
		return NULL;
	}
	for (i = 0; i < CLIENTJWT_SET_SLOTS; i++) {
		s = &clientjwt_sets[i];
		if (s->set != NULL && memcmp(s->digest, digest, 32) == 0) {
			s->used = ++clientjwt_clock;
			return s->set;
		}
		if (victim == NULL || (victim->set != NULL && (s->set == NULL || s->used < victim->used)))
			victim = s;
	}
	jwk_set_free(victim->set);
	victim->set = NULL;
	if ((victim->set = jwk_set_parse(c->jwks)) == NULL)
		return NULL;
	memcpy(victim->digest, digest, 32);
	victim->used = ++clientjwt_clock;
	return victim->set;
}

struct jwt *
clientjwt_parse(const char *type, const char *assertion, const char *body_client_id,
    const char **client_id, const char **why)
{
	struct jwt *jwt = NULL;
	const char *typ, *iss, *sub;

	*client_id = NULL;
	/* RFC 7523 §2.2: the type names the JWT bearer profile, exactly. */
	if (type == NULL) {
		*why = "client_assertion_type is missing";
		return NULL;
	}
	if (strcmp(type, CLIENTJWT_TYPE) != 0) {
		*why = "client_assertion_type must be "
		    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
		return NULL;
	}
	if (assertion == NULL || *assertion == '\0') {
		*why = "client_assertion is missing";
		return NULL;
	}
	if ((jwt = jwt_parse(assertion, strlen(assertion))) == NULL) {
		*why = "client_assertion is not a well-formed signed JWT";
		return NULL;
	}
	/* Only the asymmetric algorithms: never none, HMAC or PSS (SMART 2.2
	 * Backend Services: RS384 or ES384 SHALL, others MAY). */
	if (jwk_alg_lookup(jwt->alg, NULL, NULL, NULL) == -1) {
		*why = "client assertion alg must be one of RS256, RS384, RS512, ES256, ES384, ES512";
		goto fail;
	}
	if ((typ = json_get_str(jwt->header, "typ")) != NULL && strcasecmp(typ, "JWT") != 0) {
		*why = "client assertion typ must be JWT";
		goto fail;
	}
	/* RFC 7523 §3: iss and sub are both the client_id. */
	if ((iss = json_get_str(jwt->claims, "iss")) == NULL || *iss == '\0') {
		*why = "client assertion iss is missing";
		goto fail;
	}
	if ((sub = json_get_str(jwt->claims, "sub")) == NULL || *sub == '\0') {
		*why = "client assertion sub is missing";
		goto fail;
	}
	if (strcmp(iss, sub) != 0) {
		*why = "client assertion iss and sub must both be the client id";
		goto fail;
	}
	if (body_client_id != NULL && strcmp(body_client_id, iss) != 0) {
		*why = "client_id differs from the client assertion's iss";
		goto fail;
	}
	*client_id = iss;
	return jwt;
fail:
	jwt_free(jwt);
	return NULL;
}

const struct jwk *
clientjwt_select_key(const struct jwk_set *set, const char *kid, const char *alg,
    int *unknown_kid, const char **why)
{
	const struct jwk *found = NULL;
	size_t i, n = 0;

	*unknown_kid = 0;
	if (kid != NULL) {
		for (i = 0; i < set->n; i++)
			if (strcmp(set->keys[i]->kid, kid) == 0) {
				found = set->keys[i];
				n++;
			}
		if (n == 0) {
			*unknown_kid = 1;
			*why = "client assertion kid names no registered key";
			return NULL;
		}
		if (n > 1) {
			*why = "client assertion kid names more than one registered key";
			return NULL;
		}
		if (!jwk_alg_fits(found, alg)) {
			*why = "the key named by the client assertion kid does not fit its alg";
			return NULL;
		}
		return found;
	}
	/* No kid: acceptable only when exactly one registered key fits alg. */
	for (i = 0; i < set->n; i++)
		if (jwk_alg_fits(set->keys[i], alg)) {
			found = set->keys[i];
			n++;
		}
	if (n == 0) {
		*why = "no registered key fits the client assertion alg";
		return NULL;
	}
	if (n > 1) {
		*why = "client assertion kid is required: several registered keys fit its alg";
		return NULL;
	}
	return found;
}

/* error_description for a jwt_check_claims failure. */
static const char *
clientjwt_claims_why(const char *w)
{
	static const struct {
		const char *check, *why;
	} map[] = {
		{ "aud missing", "client assertion aud is missing" },
		{ "aud mismatch", "client assertion aud must be the token endpoint URL" },
		{ "aud malformed", "client assertion aud is malformed" },
		{ "exp missing", "client assertion exp is missing" },
		{ "exp not a number", "client assertion exp is not a number" },
		{ "exp in the past", "client assertion has expired" },
		{ "exp too far in the future", "client assertion exp is more than 5 minutes ahead" },
		{ "nbf not a number", "client assertion nbf is not a number" },
		{ "nbf in the future", "client assertion is not valid yet (nbf)" },
		{ "iat not a number", "client assertion iat is not a number" },
		{ "jti missing", "client assertion jti is missing" },
		{ "jti not a string", "client assertion jti is not a string" },
	};
	size_t i;

	for (i = 0; w != NULL && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(w, map[i].check) == 0)
			return map[i].why;
	return "client assertion iss, sub or claims are invalid";
}

enum oauth_error
clientjwt_verify(const struct jwt *jwt, const struct client *c, const char *token_url,
    time_t now, const char **why)
{
	const struct jwk_set *set;
	const struct jwk *key;
	const cJSON *jku;
	struct jwt_expect e;
	const char *w = NULL, *fw;
	enum oauth_error rc = OAUTH_INVALID_CLIENT;
	int unknown, from_uri = 0;

	/* The key never comes from the token; a jku is tolerated only when it
	 * names what the client registered (SMART 2.2 Backend Services). */
	if ((jku = cJSON_GetObjectItemCaseSensitive(jwt->header, "jku")) != NULL &&
	    (!cJSON_IsString(jku) || c->jwks_uri == NULL ||
	    strcmp(jku->valuestring, c->jwks_uri) != 0)) {
		*why = "client assertion jku is not the client's registered jwks_uri";
		goto out;
	}
	if (c->jwks != NULL) {
		if ((set = clientjwt_inline_set(c)) == NULL) {
			log_warn("client %s: registered jwks is not a JWKS", c->id);
			*why = "the client's registered jwks is invalid";
			goto out;
		}
	} else if (c->jwks_uri != NULL) {
		if ((set = jwksfetch_get(c->jwks_uri, 0, now, why)) == NULL)
			goto out;
		from_uri = 1;
	} else {
		*why = "the client has no registered keys (jwks or jwks_uri)";
		goto out;
	}
	if ((key = clientjwt_select_key(set, jwt->kid, jwt->alg, &unknown, &w)) == NULL &&
	    unknown && from_uri) {
		/* Perhaps the client rotated its keys: refetch (rate-limited). */
		if ((set = jwksfetch_get(c->jwks_uri, 1, now, &fw)) != NULL)
			key = clientjwt_select_key(set, jwt->kid, jwt->alg, &unknown, &w);
	}
	if (key == NULL) {
		*why = w;
		goto out;
	}
	if (jwt_verify(jwt, key) == -1) {
		*why = "client assertion signature is invalid";
		goto out;
	}
	memset(&e, 0, sizeof(e));
	e.iss = c->id;
	e.sub = c->id;
	e.aud = token_url;
	e.now = now;
	e.skew = CLIENTJWT_SKEW;
	e.max_future_exp = CLIENTJWT_MAX_EXP;
	e.require_exp = 1;
	e.require_jti = 1;
	if (jwt_check_claims(jwt, &e, &w) == -1) {
		*why = clientjwt_claims_why(w);
		goto out;
	}
	if (strlen(json_get_str(jwt->claims, "jti")) > CLIENTJWT_MAX_JTI) {
		*why = "client assertion jti is longer than 255 bytes";
		goto out;
	}
	rc = OAUTH_OK;
out:
	return rc;
}

int
clientjwt_jti_of(const struct jwt *jwt, const char **jti, long long *until, const char **why)
{
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(jwt->claims, "exp");
	long long t;

	*jti = json_get_str(jwt->claims, "jti");
	if (*jti == NULL || !cJSON_IsNumber(exp) || !isfinite(exp->valuedouble)) {
		*why = "client assertion jti or exp is missing";	/* verified before */
		return -1;
	}
	/* Kept while the assertion could still be accepted: exp plus the skew. */
	t = (long long)exp->valuedouble;	/* bounded: verified to be near now */
	if ((double)t < exp->valuedouble)
		t++;
	*until = t + CLIENTJWT_SKEW;
	return 0;
}

void
clientjwt_purge_maybe(const char *client_id, time_t now)
{
	static const char purge_sql[] =
	    "DELETE FROM smart.jwt_ids WHERE client_id = $1 AND expires_at < now()";
	static time_t last_purge;
	const char *params[1];
	PGresult *res;

	if (now >= last_purge && now - last_purge < CLIENTJWT_PURGE_GAP)
		return;
	last_purge = now;
	params[0] = client_id;
	if ((res = db_exec(purge_sql, 1, params)) != NULL)
		PQclear(res);
}

enum oauth_error
clientjwt_record(const char *client_id, const char *jti, long long until, const char **why)
{
	static const char insert_sql[] =
	    "INSERT INTO smart.jwt_ids (client_id, jti, expires_at) "
	    "VALUES ($1, $2, to_timestamp($3::bigint)) ON CONFLICT DO NOTHING";
	const char *params[3];
	char buf[32];
	PGresult *res;
	enum oauth_error rc;

	snprintf(buf, sizeof(buf), "%lld", until);
	params[0] = client_id;
	params[1] = jti;
	params[2] = buf;
	if ((res = db_exec(insert_sql, 3, params)) == NULL) {
		*why = "database unavailable";
		return db_unavailable() ? OAUTH_TEMPORARILY_UNAVAILABLE : OAUTH_SERVER_ERROR;
	}
	/* RFC 7523 §3 item 7: a jti already seen is a replay. */
	if (strcmp(PQcmdTuples(res), "1") == 0)
		rc = OAUTH_OK;
	else {
		log_warn("client %s: client assertion jti replayed", client_id);
		*why = CLIENTJWT_REPLAY_WHY;
		rc = OAUTH_INVALID_CLIENT;
	}
	PQclear(res);
	return rc;
}

enum oauth_error
clientjwt_record_jti(const struct jwt *jwt, const char *client_id, time_t now,
    const char **why)
{
	const char *jti;
	long long until;

	if (clientjwt_jti_of(jwt, &jti, &until, why) == -1)
		return OAUTH_INVALID_CLIENT;
	clientjwt_purge_maybe(client_id, now);
	return clientjwt_record(client_id, jti, until, why);
}
