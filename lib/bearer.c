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

#include "bearer.h"
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
	n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.");
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

enum bearer_error
bearer_verify_jwt(const struct jwk_set *keys, const char *fhir_base, const char *token,
    size_t len, time_t now, struct jwt **out)
{
	struct jwt_expect ex;
	const struct jwk *key;
	struct jwt *jwt = NULL;
	const char *why = NULL;
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
	memset(&ex, 0, sizeof(ex));
	ex.iss = fhir_base;
	ex.aud = fhir_base;
	ex.now = now;
	ex.skew = BEARER_SKEW;
	ex.require_exp = 1;
	ex.require_jti = 1;
	if (jwt_check_claims(jwt, &ex, &why) != 0) {
		log_info("access token refused: %s", why != NULL ? why : "claims");
		e = bearer_claims_error(why);
		goto fail;
	}
	if (json_get_str(jwt->claims, "sub") == NULL ||
	    json_get_str(jwt->claims, "client_id") == NULL ||
	    (cJSON_GetObjectItemCaseSensitive(jwt->claims, "scope") != NULL &&
	    json_get_str(jwt->claims, "scope") == NULL)) {
		log_info("access token refused: sub, client_id or scope missing or not a string");
		e = BEARER_MALFORMED;
		goto fail;
	}
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

/*
 * Step 4: the token's row.  Fills b's client_id, user_id, scope and
 * launch_context from the database (the authority), after checking that
 * they agree with the token's own claims.
 */
static enum bearer_error
bearer_check_row(struct bearer *b, const cJSON *claims)
{
	static const char sql[] =
	    "SELECT t.client_id, t.user_id, t.scope, t.launch_context::text, "
	    "t.revoked_at IS NOT NULL, t.expires_at <= now(), c.active, "
	    "coalesce(u.active, t.user_id IS NULL) "
	    "FROM smart.access_tokens t "
	    "JOIN smart.clients c ON c.id = t.client_id "
	    "LEFT JOIN smart.users u ON u.id = t.user_id "
	    "WHERE t.jti = $1";
	const char *params[1] = { b->jti };
	const char *sub = json_get_str(claims, "sub");
	const char *cid = json_get_str(claims, "client_id");
	const char *lc;
	enum bearer_error e = BEARER_INTERNAL;
	PGresult *res;

	if ((res = db_exec(sql, 1, params)) == NULL)
		return db_unavailable() ? BEARER_DB_UNAVAILABLE : BEARER_INTERNAL;
	if (PQntuples(res) != 1) {
		log_info("access token refused: not recorded (client %s)", cid);
		e = BEARER_REVOKED;
		goto out;
	}
	if (bearer_col_true(res, 4)) {
		log_info("access token refused: revoked (client %s)", cid);
		e = BEARER_REVOKED;
		goto out;
	}
	if (bearer_col_true(res, 5)) {
		log_info("access token refused: expired (client %s)", cid);
		e = BEARER_EXPIRED;
		goto out;
	}
	if (!bearer_col_true(res, 6) || !bearer_col_true(res, 7)) {
		log_info("access token refused: client or user no longer active (client %s)", cid);
		e = BEARER_REVOKED;
		goto out;
	}
	/* The row and the signed claims must tell the same story. */
	if (strcmp(PQgetvalue(res, 0, 0), cid) != 0 ||
	    strcmp(PQgetisnull(res, 0, 1) ? PQgetvalue(res, 0, 0) : PQgetvalue(res, 0, 1), sub) != 0) {
		log_warn("access token refused: claims disagree with its record (client %s)", cid);
		e = BEARER_REVOKED;
		goto out;
	}
	lc = PQgetvalue(res, 0, 3);
	if ((b->client_id = strdup(PQgetvalue(res, 0, 0))) == NULL ||
	    (!PQgetisnull(res, 0, 1) && (b->user_id = strdup(PQgetvalue(res, 0, 1))) == NULL) ||
	    (b->scope = strdup(PQgetvalue(res, 0, 2))) == NULL) {
		log_err("out of memory");
		goto out;
	}
	if ((b->launch_context = json_parse_strict(lc, strlen(lc), NULL)) == NULL ||
	    !cJSON_IsObject(b->launch_context)) {
		log_err("access token row: launch_context is not a JSON object (client %s)", cid);
		goto out;
	}
	e = BEARER_OK;
out:
	PQclear(res);
	return e;
}

enum bearer_error
bearer_authenticate(const char *authorization, const struct jwk_set *keys,
    const char *fhir_base, time_t now, struct bearer **out)
{
	struct bearer *b = NULL;
	struct jwt *jwt = NULL;
	const char *token;
	enum bearer_error e;
	size_t len;

	*out = NULL;
	if ((e = bearer_parse_header(authorization, &token, &len)) != BEARER_OK)
		return e;
	if ((e = bearer_verify_jwt(keys, fhir_base, token, len, now, &jwt)) != BEARER_OK)
		return e;
	e = BEARER_INTERNAL;
	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (b->jti = strdup(json_get_str(jwt->claims, "jti"))) == NULL) {
		log_err("out of memory");
		goto out;
	}
	if ((e = bearer_check_row(b, jwt->claims)) != BEARER_OK)
		goto out;
	b->claims = jwt->claims;
	jwt->claims = NULL;
	*out = b;
	b = NULL;
out:
	jwt_free(jwt);
	bearer_free(b);
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
