/*
 * revoke: RFC 7009 revocation.  See revoke.h.
 *
 * Each revocation is one UPDATE (a family: a row lock, then one statement
 * of CTEs) plus its audit row, in one transaction; a statement that fails
 * is followed by ROLLBACK.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "bearer.h"
#include "crypto.h"
#include "db.h"
#include "json.h"
#include "jwt.h"
#include "log.h"
#include "revoke.h"

/* Revokes the access token with this jti when client_id owns it. */
static PGresult *
revoke_access(const char *jti, const char *client_id)
{
	static const char sql[] =
	    "WITH a AS (UPDATE smart.access_tokens SET revoked_at = now() "
	    "WHERE jti = $1 AND client_id = $2 AND revoked_at IS NULL RETURNING user_id) "
	    "SELECT (SELECT min(user_id) FROM a), (SELECT count(*) FROM a), 0";
	const char *params[2] = { jti, client_id };

	return db_exec(sql, 2, params);
}

/*
 * Revokes the family of the refresh token with this hash when client_id owns it.
 * The family's refresh token rows are first locked in one fixed order, as
 * grant_revoke_family (lib/grant.c) does: two revocations of one family at
 * once (here, or a replay caught by the token grant) would otherwise lock
 * the same rows in different orders and deadlock.
 */
static PGresult *
revoke_family(const char *hash, const char *client_id)
{
	static const char lock_sql[] =
	    "SELECT 1 FROM smart.refresh_tokens WHERE family_id = "
	    "(SELECT family_id FROM smart.refresh_tokens WHERE token_hash = $1 AND client_id = $2) "
	    "ORDER BY token_hash FOR UPDATE";
	static const char sql[] =
	    "WITH r AS (SELECT family_id, user_id FROM smart.refresh_tokens "
	    "WHERE token_hash = $1 AND client_id = $2), "
	    "a AS (UPDATE smart.access_tokens SET revoked_at = now() "
	    "WHERE family_id = (SELECT family_id FROM r) AND revoked_at IS NULL RETURNING 1), "
	    "f AS (UPDATE smart.refresh_tokens SET revoked_at = now() "
	    "WHERE family_id = (SELECT family_id FROM r) AND revoked_at IS NULL RETURNING 1) "
	    "SELECT (SELECT user_id FROM r), (SELECT count(*) FROM a), (SELECT count(*) FROM f)";
	const char *params[2] = { hash, client_id };
	PGresult *res;

	if ((res = db_exec(lock_sql, 2, params)) == NULL)
		return NULL;
	PQclear(res);
	return db_exec(sql, 2, params);
}

int
revoke_token(const struct config *cfg, const struct jwk_set *keys, const char *client_id,
    const char *token, const char *address, time_t now, struct revoke_outcome *o)
{
	size_t len = token != NULL ? strlen(token) : 0;
	struct jwt *jwt = NULL;
	PGresult *res = NULL;
	cJSON *d = NULL;
	char *hash = NULL;
	const char *user;
	int rc = -1;

	memset(o, 0, sizeof(*o));
	o->access = token != NULL && strchr(token, '.') != NULL;
	if (len == 0 || len > JWT_MAX_LEN)
		return 0;
	/*
	 * Only a token this server signed names a jti worth looking up; an
	 * expired one no longer works anywhere, so there is nothing to do.
	 */
	if (o->access &&
	    bearer_verify_jwt(keys, cfg->fhir_base, token, len, now, &jwt) != BEARER_OK)
		jwt = NULL;
	if (!o->access && (hash = crypto_sha256_hex(token)) == NULL) {
		log_err("out of memory");
		return -1;
	}
	if (db_begin() == -1)
		goto out;
	if (o->access && jwt == NULL)
		res = NULL;
	else if ((res = o->access ? revoke_access(json_get_str(jwt->claims, "jti"), client_id) :
	    revoke_family(hash, client_id)) == NULL) {
		db_rollback();
		goto out;
	}
	user = res != NULL && !PQgetisnull(res, 0, 0) ? PQgetvalue(res, 0, 0) : NULL;
	if (res != NULL) {
		o->access_revoked = strtol(PQgetvalue(res, 0, 1), NULL, 10);
		o->refresh_revoked = strtol(PQgetvalue(res, 0, 2), NULL, 10);
	}
	if ((d = cJSON_CreateObject()) != NULL) {
		cJSON_AddStringToObject(d, "token_type", o->access ? "access_token" : "refresh_token");
		cJSON_AddNumberToObject(d, "revoked_access_tokens", (double)o->access_revoked);
		cJSON_AddNumberToObject(d, "revoked_refresh_tokens", (double)o->refresh_revoked);
	}
	/*
	 * "success" when something of this client's was revoked; "failure"
	 * when nothing was (unknown, foreign, expired or already revoked).
	 */
	if (audit_event("revoke", o->access_revoked + o->refresh_revoked > 0 ? "success" :
	    "failure", user, client_id, address, d) == -1 || db_commit() == -1) {
		db_rollback();
		goto out;
	}
	if (o->access_revoked + o->refresh_revoked > 0)
		log_info("revoked for client %s: %ld access, %ld refresh tokens", client_id,
		    o->access_revoked, o->refresh_revoked);
	rc = 0;
out:
	cJSON_Delete(d);
	PQclear(res);
	jwt_free(jwt);
	free(hash);
	return rc;
}
