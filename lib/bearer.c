/*
 * bearer: access-token verification for resource servers.  See bearer.h.
 *
 * The order of the checks matters: nothing in a token is believed before
 * its signature has been verified with a key chosen by "kid" from the
 * server's own set (never from the token), and the database is asked only
 * about tokens that passed every offline check, so a flood of forged
 * tokens costs no database round trip.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "bearer.h"
#include "bearer_cache.h"
#include "db.h"
#include "json.h"
#include "log.h"

const char *
bearer_strerror(enum bearer_error e)
{
	switch (e) {
	case BEARER_OK:			return "valid";
	case BEARER_MISSING:		return "bearer token required";
	case BEARER_MALFORMED:		return "malformed access token";
	case BEARER_BAD_SIGNATURE:	return "access token signature not valid";
	case BEARER_EXPIRED:		return "access token expired";
	case BEARER_WRONG_AUDIENCE:	return "access token not issued for this server";
	case BEARER_REVOKED:		return "access token revoked or unknown";
	case BEARER_DB_UNAVAILABLE:	return "database unavailable";
	case BEARER_INTERNAL:		return "internal error";
	}
	return "invalid access token";
}

int
bearer_status(enum bearer_error e)
{
	switch (e) {
	case BEARER_OK:			return 200;
	case BEARER_DB_UNAVAILABLE:	return 503;
	case BEARER_INTERNAL:		return 500;
	default:			return 401;
	}
}

int
bearer_challenge(enum bearer_error e, char *out, size_t outsz)
{
	int n;

	/* RFC 6750 §3.1: no error code when no credentials were presented. */
	if (e == BEARER_MISSING)
		n = snprintf(out, outsz, "Bearer realm=\"smartauth\"");
	else
		n = snprintf(out, outsz,
		    "Bearer realm=\"smartauth\", error=\"invalid_token\", error_description=\"%s\"",
		    bearer_strerror(e));
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

int
bearer_is_bearer(const char *authorization)
{
	return authorization != NULL && strncasecmp(authorization, "Bearer", 6) == 0 &&
	    (authorization[6] == ' ' || authorization[6] == '\t' || authorization[6] == '\0');
}

/* [A-Za-z0-9-_.] (strspn with a 65-byte set builds its table on every call). */
static int
bearer_jws_char(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	    ch == '-' || ch == '_' || ch == '.';
}

enum bearer_error
bearer_parse_header(const char *authorization, const char **token, size_t *len)
{
	const char *p;
	size_t n;

	*token = NULL;
	*len = 0;
	if (authorization == NULL || *authorization == '\0' || !bearer_is_bearer(authorization))
		return BEARER_MISSING;
	p = authorization + 6;
	if (*p != ' ')
		return BEARER_MALFORMED;
	while (*p == ' ')
		p++;
	/* JWS compact serialisation: base64url parts joined by dots. */
	for (n = 0; bearer_jws_char(p[n]); n++)
		;
	if (n == 0 || p[n] != '\0' || n > JWT_MAX_LEN)
		return BEARER_MALFORMED;
	*token = p;
	*len = n;
	return BEARER_OK;
}

/* RFC 9068 §4: typ must be "at+jwt" or "application/at+jwt" (media types are case-insensitive). */
static int
bearer_typ_ok(const struct jwt *jwt)
{
	const char *typ = json_get_str(jwt->header, "typ");

	return typ != NULL && (strcasecmp(typ, "at+jwt") == 0 ||
	    strcasecmp(typ, "application/at+jwt") == 0);
}

/* Maps jwt_check_claims' reason onto our error kinds. */
static enum bearer_error
bearer_claims_error(const char *why)
{
	if (why == NULL)
		return BEARER_MALFORMED;
	if (strcmp(why, "iss mismatch") == 0 || strncmp(why, "aud ", 4) == 0)
		return BEARER_WRONG_AUDIENCE;
	if (strcmp(why, "exp in the past") == 0 || strcmp(why, "nbf in the future") == 0)
		return BEARER_EXPIRED;
	return BEARER_MALFORMED;
}

/* Step 3: the claims of a verified token, at time now. */
static enum bearer_error
bearer_check_claims(cJSON *claims, const char *fhir_base, time_t now)
{
	struct jwt_expect ex;
	struct jwt view;
	const char *why = NULL;

	memset(&view, 0, sizeof(view));
	view.claims = claims;
	memset(&ex, 0, sizeof(ex));
	ex.iss = fhir_base;
	ex.aud = fhir_base;
	ex.now = now;
	ex.skew = BEARER_SKEW;
	ex.require_exp = 1;
	ex.require_jti = 1;
	if (jwt_check_claims(&view, &ex, &why) != 0) {
		log_info("access token refused: %s", why != NULL ? why : "claims");
		return bearer_claims_error(why);
	}
	if (json_get_str(claims, "sub") == NULL ||
	    json_get_str(claims, "client_id") == NULL ||
	    (cJSON_GetObjectItemCaseSensitive(claims, "scope") != NULL &&
	    json_get_str(claims, "scope") == NULL)) {
		log_info("access token refused: sub, client_id or scope missing or not a string");
		return BEARER_MALFORMED;
	}
	return BEARER_OK;
}

enum bearer_error
bearer_verify_jwt(const struct jwk_set *keys, const char *fhir_base, const char *token,
    size_t len, time_t now, struct jwt **out)
{
	const struct jwk *key;
	struct jwt *jwt = NULL;
	enum bearer_error e;
	int ambiguous;

	*out = NULL;
	if (keys == NULL || fhir_base == NULL || token == NULL)
		return BEARER_INTERNAL;
	if ((jwt = jwt_parse(token, len)) == NULL)
		return BEARER_MALFORMED;
	/* Our access tokens are RS256 (ES256 allowed for an EC-only key set). */
	if (strcmp(jwt->alg, "RS256") != 0 && strcmp(jwt->alg, "ES256") != 0) {
		log_info("access token refused: algorithm not accepted");
		e = BEARER_BAD_SIGNATURE;
		goto fail;
	}
	if (jwt->kid == NULL ||
	    (key = jwk_set_find(keys, jwt->kid, jwt->alg, &ambiguous)) == NULL) {
		log_info("access token refused: no server key for its kid");
		e = BEARER_BAD_SIGNATURE;
		goto fail;
	}
	if (jwt_verify(jwt, key) != 0) {
		log_info("access token refused: signature does not verify");
		e = BEARER_BAD_SIGNATURE;
		goto fail;
	}
	/* Signed by us: from here on the content is ours, but still checked. */
	if (!bearer_typ_ok(jwt)) {
		log_info("access token refused: typ is not at+jwt");
		e = BEARER_MALFORMED;
		goto fail;
	}
	if ((e = bearer_check_claims(jwt->claims, fhir_base, now)) != BEARER_OK)
		goto fail;
	*out = jwt;
	return BEARER_OK;
fail:
	jwt_free(jwt);
	return e;
}

void
bearer_free(struct bearer *b)
{
	if (b == NULL)
		return;
	free(b->jti);
	free(b->client_id);
	free(b->user_id);
	free(b->scope);
	cJSON_Delete(b->launch_context);
	cJSON_Delete(b->claims);
	free(b);
}

static int
bearer_col_true(PGresult *res, int col)
{
	return !PQgetisnull(res, 0, col) && strcmp(PQgetvalue(res, 0, col), "t") == 0;
}

/* Step 4's statement: the token's row, its client and its user. */
static const char bearer_row_sql[] =
    "SELECT " BEARER_ROW_COLUMNS " FROM " BEARER_ROW_FROM " WHERE t.jti = $1";

/*
 * Step 4 on the row statement's result (borrowed).  Fills b's client_id,
 * user_id, scope and launch_context from the database (the authority),
 * after checking that they agree with the token's own claims.
 */
static enum bearer_error
bearer_check_row(struct bearer *b, const cJSON *claims, PGresult *res)
{
	const char *sub = json_get_str(claims, "sub");
	const char *cid = json_get_str(claims, "client_id");
	const char *lc;

	if (PQnfields(res) < BEARER_ROW_NCOLS) {
		log_err("access token row: the statement has too few columns");
		return BEARER_INTERNAL;
	}
	/* No row, or a NULL client (the LEFT JOIN form of bearer.h): no record. */
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
		log_info("access token refused: not recorded (client %s)", cid);
		return BEARER_REVOKED;
	}
	if (bearer_col_true(res, 4)) {
		log_info("access token refused: revoked (client %s)", cid);
		return BEARER_REVOKED;
	}
	if (bearer_col_true(res, 5)) {
		log_info("access token refused: expired (client %s)", cid);
		return BEARER_EXPIRED;
	}
	if (!bearer_col_true(res, 6) || !bearer_col_true(res, 7)) {
		log_info("access token refused: client or user no longer active (client %s)", cid);
		return BEARER_REVOKED;
	}
	/* The row and the signed claims must tell the same story. */
	if (strcmp(PQgetvalue(res, 0, 0), cid) != 0 ||
	    strcmp(PQgetisnull(res, 0, 1) ? PQgetvalue(res, 0, 0) : PQgetvalue(res, 0, 1), sub) != 0) {
		log_warn("access token refused: claims disagree with its record (client %s)", cid);
		return BEARER_REVOKED;
	}
	lc = PQgetvalue(res, 0, 3);
	if ((b->client_id = strdup(PQgetvalue(res, 0, 0))) == NULL ||
	    (!PQgetisnull(res, 0, 1) && (b->user_id = strdup(PQgetvalue(res, 0, 1))) == NULL) ||
	    (b->scope = strdup(PQgetvalue(res, 0, 2))) == NULL) {
		log_err("out of memory");
		return BEARER_INTERNAL;
	}
	if ((b->launch_context = json_parse_strict(lc, strlen(lc), NULL)) == NULL ||
	    !cJSON_IsObject(b->launch_context)) {
		log_err("access token row: launch_context is not a JSON object (client %s)", cid);
		return BEARER_INTERNAL;
	}
	return BEARER_OK;
}

/* ---- verified signatures, remembered (bearer_cache.h) ---- */

static struct bearer_cache	*bearer_vc;
static const struct jwk_set	*bearer_vc_keys;
static char			*bearer_vc_base;
static size_t			 bearer_vc_hits;

/*
 * The cache for this key set and FHIR base; a different key set or base
 * (never in a program, which loads its keys once) starts afresh, so an
 * entry never outlives the keys that verified it.  NULL: run uncached.
 */
static struct bearer_cache *
bearer_vc_for(const struct jwk_set *keys, const char *fhir_base)
{
	if (bearer_vc != NULL && bearer_vc_keys == keys && strcmp(bearer_vc_base, fhir_base) == 0)
		return bearer_vc;
	bearer_cache_free(bearer_vc);
	free(bearer_vc_base);
	bearer_vc_keys = NULL;
	if ((bearer_vc_base = strdup(fhir_base)) == NULL ||
	    (bearer_vc = bearer_cache_new(BEARER_CACHE_N)) == NULL) {
		free(bearer_vc_base);
		bearer_vc_base = NULL;
		bearer_vc = NULL;
		return NULL;
	}
	bearer_vc_keys = keys;
	return bearer_vc;
}

/*
 * SHA-256 of the token, with the algorithm fetched once per process
 * (EVP_sha256() in EVP_Digest looks the implementation up on every call).
 * 0, or -1 (logged).
 */
static int
bearer_digest(const char *token, size_t len, unsigned char digest[BEARER_CACHE_KEYLEN])
{
	static EVP_MD *sha256;
	unsigned int n = 0;

	if (sha256 == NULL && (sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL) {
		log_err("EVP_MD_fetch SHA256 failed");
		return -1;
	}
	if (EVP_Digest(token, len, digest, &n, sha256, NULL) != 1 || n != BEARER_CACHE_KEYLEN) {
		log_err("EVP_Digest failed");
		return -1;
	}
	return 0;
}

/* When a verified token leaves the cache: exp plus the skew (bounded). */
static time_t
bearer_vc_expiry(const cJSON *claims, time_t now)
{
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(claims, "exp");
	double t = cJSON_IsNumber(exp) ? exp->valuedouble : 0;

	if (!(t > (double)now))
		return now;
	if (t > (double)now + 366.0 * 86400)
		t = (double)now + 366.0 * 86400;
	return (time_t)t + BEARER_SKEW;
}

size_t
bearer_cache_hits(void)
{
	return bearer_vc_hits;
}

void
bearer_cache_reset(void)
{
	bearer_cache_free(bearer_vc);
	bearer_vc = NULL;
	free(bearer_vc_base);
	bearer_vc_base = NULL;
	bearer_vc_keys = NULL;
	bearer_vc_hits = 0;
}

void
bearer_pending_clear(struct bearer_pending *pd)
{
	if (pd == NULL)
		return;
	cJSON_Delete(pd->claims);
	memset(pd, 0, sizeof(*pd));
}

enum bearer_error
bearer_check_offline(const char *authorization, const struct jwk_set *keys,
    const char *fhir_base, time_t now, struct bearer_pending *pd)
{
	unsigned char digest[BEARER_CACHE_KEYLEN];
	struct bearer_cache *vc = NULL;
	const cJSON *hit = NULL;
	struct jwt *jwt = NULL;
	const char *token;
	cJSON *claims, *copy;
	enum bearer_error e;
	size_t len;

	memset(pd, 0, sizeof(*pd));
	if ((e = bearer_parse_header(authorization, &token, &len)) != BEARER_OK)
		return e;
	if (keys == NULL || fhir_base == NULL)
		return BEARER_INTERNAL;
	/* No digest, no cache: a failed hash must never look like a hit. */
	if (bearer_digest(token, len, digest) == 0)
		vc = bearer_vc_for(keys, fhir_base);
	if (vc != NULL && (hit = bearer_cache_get(vc, digest, now)) != NULL) {
		/* The same bytes verified before: only the clock can have moved. */
		if ((claims = cJSON_Duplicate(hit, 1)) == NULL) {
			log_err("out of memory");
			return BEARER_INTERNAL;
		}
		if ((e = bearer_check_claims(claims, fhir_base, now)) != BEARER_OK) {
			cJSON_Delete(claims);
			return e;
		}
		bearer_vc_hits++;
	} else {
		if ((e = bearer_verify_jwt(keys, fhir_base, token, len, now, &jwt)) != BEARER_OK)
			return e;
		claims = jwt->claims;
		jwt->claims = NULL;
		jwt_free(jwt);
		/* A failure to remember costs the next request a verification only. */
		if (vc != NULL && (copy = cJSON_Duplicate(claims, 1)) != NULL)
			bearer_cache_put(vc, digest, copy, bearer_vc_expiry(claims, now));
	}
	pd->claims = claims;
	pd->params[0] = json_get_str(claims, "jti");
	return BEARER_OK;
}

void
bearer_row_stmt(struct bearer_pending *pd, struct db_stmt *s)
{
	s->sql = bearer_row_sql;
	s->nparams = 1;
	s->params = pd->params;
	s->res = NULL;
}

enum bearer_error
bearer_check_result(struct bearer_pending *pd, PGresult *res, struct bearer **out)
{
	struct bearer *b = NULL;
	enum bearer_error e = BEARER_INTERNAL;

	*out = NULL;
	if (pd->claims == NULL)
		return BEARER_INTERNAL;
	if (res == NULL)
		return db_unavailable() ? BEARER_DB_UNAVAILABLE : BEARER_INTERNAL;
	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (b->jti = strdup(pd->params[0])) == NULL) {
		log_err("out of memory");
		goto out;
	}
	if ((e = bearer_check_row(b, pd->claims, res)) != BEARER_OK)
		goto out;
	b->claims = pd->claims;
	pd->claims = NULL;
	*out = b;
	b = NULL;
out:
	bearer_free(b);
	return e;
}

enum bearer_error
bearer_authenticate(const char *authorization, const struct jwk_set *keys,
    const char *fhir_base, time_t now, struct bearer **out)
{
	struct bearer_pending pd;
	struct db_stmt st;
	enum bearer_error e;

	*out = NULL;
	if ((e = bearer_check_offline(authorization, keys, fhir_base, now, &pd)) != BEARER_OK)
		return e;
	bearer_row_stmt(&pd, &st);
	st.res = db_exec(st.sql, st.nparams, st.params);
	e = bearer_check_result(&pd, st.res, out);
	PQclear(st.res);
	bearer_pending_clear(&pd);
	return e;
}

struct jwk_set *
bearer_keys_load(const char *key_dir)
{
	struct jwk_set *priv, *pub = NULL;
	cJSON *jwks = NULL;

	if ((priv = jwk_set_load_dir(key_dir)) == NULL)
		return NULL;		/* logged, naming the file */
	if ((jwks = jwk_set_public_json(priv)) == NULL ||
	    (pub = jwk_set_parse(jwks)) == NULL)
		log_err("cannot derive the public verification keys");
	else if (pub->n != priv->n) {
		log_err("public verification keys: %zu of %zu keys usable", pub->n, priv->n);
		jwk_set_free(pub);
		pub = NULL;
	}
	cJSON_Delete(jwks);
	jwk_set_free(priv);
	return pub;
}
