/*
 * grant: authorization_code, refresh_token and client_credentials grants.
 * See grant.h.
 *
 * The common case, a code or refresh token that is redeemable, takes two
 * round trips and one write transaction (READ COMMITTED):
 *
 *   SELECT ... WHERE hash = $1 AND <redeemable>   -- read, no lock
 *   checks on the row; sign
 *   WITH c AS (UPDATE ... SET used_at = now() WHERE hash = $1
 *                AND <redeemable> RETURNING 1),    -- the atomic consume
 *        INSERT access token, refresh token, audit row ... FROM c
 *   SELECT counts                                 -- one statement: one
 *                                                 -- implicit transaction
 *
 * (lib/issue.c issue_commit).  The consume re-checks the conditions on the
 * locked row, so of two concurrent requests exactly one writes anything;
 * the response exists only after that statement committed.  Everything
 * else takes the transactional path, unchanged:
 *
 *   BEGIN
 *   UPDATE ... SET used_at = now() WHERE hash = $1 AND used_at IS NULL ...
 *       RETURNING ...
 *   (0 rows: find out why; a used code or refresh token is reuse, so the
 *    whole family is revoked and the revocation committed)
 *   checks that need the row; a failure commits the burn and its audit row
 *   sign, INSERT access_tokens (+ refresh_tokens), audit row
 *   COMMIT
 *
 * which a fast path also falls back to when its consume matched nothing
 * (a concurrent request won, or the grant changed after the read): its
 * minted tokens are dropped unsent.  A statement that fails inside the
 * transaction is followed by ROLLBACK, never COMMIT (PostgreSQL would turn
 * that COMMIT into a silent rollback).  client_credentials writes its
 * token row and audit row in one statement as well.
 *
 * Owns nothing between requests.  Never logs or audits a code, token,
 * verifier, nonce or secret: ids, scopes and reasons only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "clientjwt.h"
#include "crypto.h"
#include "db.h"
#include "grant.h"
#include "introspect.h"
#include "issue.h"
#include "json.h"
#include "log.h"

static void	grant_code(const struct grant_req *, struct grant_result *);
static void	grant_refresh(const struct grant_req *, struct grant_result *);
static void	grant_backend(const struct grant_req *, struct grant_result *);
static PGresult	*grant_prefetched(const struct grant_req *, const char *, const char *);

static int
grant_client_has_code(const struct client *c)
{
	return client_has_grant(c, "authorization_code");
}

static int
grant_client_has_backend(const struct client *c)
{
	return client_has_grant(c, "client_credentials");
}

static const struct grant_type grant_types[] = {
	{ "authorization_code", grant_client_has_code, grant_code },
	{ "refresh_token", issue_client_may_refresh, grant_refresh },
	{ "client_credentials", grant_client_has_backend, grant_backend },
};

const char *const grant_type_names[] = {
	"authorization_code", "refresh_token", "client_credentials", NULL
};

const char *const grant_single_params[] = {
	"grant_type", "code", "redirect_uri", "code_verifier", "refresh_token", "scope",
	"client_id", "client_secret", "client_assertion", "client_assertion_type", NULL
};

const struct grant_type *
grant_type_lookup(const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < sizeof(grant_types) / sizeof(grant_types[0]); i++)
		if (strcmp(grant_types[i].name, name) == 0)
			return &grant_types[i];
	return NULL;
}

/* ---- outcomes and the audit trail ------------------------------------ */

static void
grant_fail(struct grant_result *res, enum oauth_error e, const char *why)
{
	res->error = e;
	res->why = why;
}

/* The answer to a failed statement: 503 when the database is down (as
 * found before any ROLLBACK), else 500. */
static void
grant_db_answer(struct grant_result *res, int down)
{
	if (down)
		grant_fail(res, OAUTH_TEMPORARILY_UNAVAILABLE, "the database is unavailable");
	else
		grant_fail(res, OAUTH_SERVER_ERROR, "internal error");
}

/* A database failure outside a transaction. */
static void
grant_db_error(struct grant_result *res)
{
	grant_db_answer(res, db_unavailable());
}

/* A database failure inside the transaction: ROLLBACK, then as above. */
static void
grant_db_fail(struct grant_result *res)
{
	int down = db_unavailable();

	db_rollback();
	grant_db_answer(res, down);
}

/* Owned audit detail {grant_type, error, reason}; NULL on OOM (still audited). */
static cJSON *
grant_detail(const char *grant_type, enum oauth_error e, const char *why)
{
	cJSON *d = cJSON_CreateObject();

	if (d == NULL)
		return NULL;
	if (grant_type != NULL)
		cJSON_AddStringToObject(d, "grant_type", grant_type);
	if (e != OAUTH_OK)
		cJSON_AddStringToObject(d, "error", oauth_error_name(e));
	if (why != NULL)
		cJSON_AddStringToObject(d, "reason", why);
	return d;
}

void
grant_audit_failure(const char *grant_type, const char *client_id, const char *address,
    enum oauth_error e, const char *why)
{
	char id[129];
	cJSON *d;

	if (client_id != NULL)
		snprintf(id, sizeof(id), "%s", client_id);
	d = grant_detail(grant_type, e, why);
	audit_event("token", "failure", NULL, client_id != NULL ? id : NULL, address, d);
	cJSON_Delete(d);
}

/*
 * Ends a transaction whose request failed a check after the code or
 * token was consumed: the burn and the audit row are committed, then the
 * error is reported.
 */
static void
grant_commit_failure(const struct grant_req *q, struct grant_result *res,
    const char *grant_type, const char *user_id, enum oauth_error e, const char *why)
{
	cJSON *d = grant_detail(grant_type, e, why);
	int rc;

	rc = audit_event("token", "failure", user_id, q->client->id, q->address, d);
	cJSON_Delete(d);
	if (rc == -1 || db_commit() == -1) {
		grant_db_fail(res);
		return;
	}
	grant_fail(res, e, why);
}

/* Audits a failure found before any transaction and reports it. */
static void
grant_refuse(const struct grant_req *q, struct grant_result *res, const char *grant_type,
    enum oauth_error e, const char *why)
{
	grant_audit_failure(grant_type, q->client->id, q->address, e, why);
	grant_fail(res, e, why);
}

/*
 * Revokes every access and refresh token of a grant family (RFC 9700
 * §4.2.4, §4.14.2), inside the caller's transaction.  The numbers revoked
 * go to *na and *nr.  0, or -1.
 *
 * Parallel replays of one token revoke the same family at once.  Their
 * UPDATEs would lock the family's rows in scan order, which differs between
 * plans (a HOT-updated row sits elsewhere in the heap than its index entry)
 * and deadlocks; so the family's refresh token rows are first locked in one
 * fixed order, and a second revoker waits for the first before touching
 * anything.
 */
static int
grant_revoke_family(const char *family_id, long *na, long *nr)
{
	static const char lock_sql[] =
	    "SELECT 1 FROM smart.refresh_tokens WHERE family_id = $1::uuid "
	    "ORDER BY token_hash FOR UPDATE";
	static const char sql[] =
	    "WITH a AS (UPDATE smart.access_tokens SET revoked_at = now() "
	    "WHERE family_id = $1::uuid AND revoked_at IS NULL RETURNING 1), "
	    "r AS (UPDATE smart.refresh_tokens SET revoked_at = now() "
	    "WHERE family_id = $1::uuid AND revoked_at IS NULL RETURNING 1) "
	    "SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM r)";
	const char *params[1] = { family_id };
	PGresult *res;

	if ((res = db_exec(lock_sql, 1, params)) == NULL)
		return -1;
	PQclear(res);
	if ((res = db_exec(sql, 1, params)) == NULL)
		return -1;
	*na = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	*nr = strtol(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	return 0;
}

/*
 * Reuse of a consumed code or refresh token: revokes the family, audits
 * event (code_reuse / refresh_reuse) and commits; reports invalid_grant.
 */
static void
grant_reuse(const struct grant_req *q, struct grant_result *res, const char *event,
    const char *grant_type, const char *family_id, const char *owner_client,
    const char *user_id, const char *why)
{
	long na = 0, nr = 0;
	cJSON *d;
	int rc;

	/*
	 * Revoke in a transaction of its own.  A consume that waited for the
	 * request that won still holds the row lock its READ COMMITTED re-check
	 * took on the token, outside the family's lock order: keeping it here
	 * deadlocks with a revoker that came later (grant_revoke_family).  The
	 * consume changed nothing, so there is nothing to keep.
	 */
	db_rollback();
	if (db_begin() == -1 || grant_revoke_family(family_id, &na, &nr) == -1) {
		grant_db_fail(res);
		return;
	}
	d = grant_detail(grant_type, OAUTH_INVALID_GRANT, why);
	if (d != NULL) {
		cJSON_AddStringToObject(d, "family_id", family_id);
		cJSON_AddStringToObject(d, "presented_by", q->client->id);
		cJSON_AddNumberToObject(d, "revoked_access_tokens", (double)na);
		cJSON_AddNumberToObject(d, "revoked_refresh_tokens", (double)nr);
	}
	rc = audit_event(event, "failure", user_id, owner_client, q->address, d);
	cJSON_Delete(d);
	if (rc == -1 || db_commit() == -1) {
		grant_db_fail(res);
		return;
	}
	log_warn("%s: family %s revoked (%ld access, %ld refresh tokens)", event, family_id, na, nr);
	grant_fail(res, OAUTH_INVALID_GRANT, why);
}

/*
 * Mints, records, audits and commits a grant; on success res->body holds
 * the response.  Called inside the transaction; ends it either way.
 */
static void
grant_finish(const struct grant_req *q, const struct issue_grant *g0, struct issue_tokens *t,
    const char *event, const char *grant_type, struct grant_result *res)
{
	const struct config *cfg = q->env->cfg;
	cJSON *body = NULL, *d = NULL;
	struct issue_grant gj = *g0, *g = &gj;
	enum oauth_error seen;
	const char *why;

	gj.assertion_jti = res->jti_recorded ? NULL : q->client->assertion_jti;
	gj.assertion_until = q->client->assertion_until;
	if (issue_mint(cfg, q->env->signer, g, t) == -1) {
		db_rollback();
		grant_fail(res, OAUTH_SERVER_ERROR, "could not issue the tokens");
		return;
	}
	/* RFC 7523 §3 item 7, in the grant's own transaction. */
	if (g->assertion_jti != NULL &&
	    (seen = clientjwt_record(g->client_id, g->assertion_jti, g->assertion_until,
	    &why)) != OAUTH_OK) {
		if (seen != OAUTH_INVALID_CLIENT)
			goto dbfail;
		db_rollback();
		res->jti_recorded = 1;
		grant_refuse(q, res, grant_type, OAUTH_INVALID_CLIENT, why);
		return;
	}
	if (issue_record(g, t) == -1)
		goto dbfail;
	if ((d = grant_detail(grant_type, OAUTH_OK, NULL)) != NULL) {
		cJSON_AddStringToObject(d, "scope", g->scope);
		cJSON_AddStringToObject(d, "jti", t->jti);
		if (g->family_id != NULL)
			cJSON_AddStringToObject(d, "family_id", g->family_id);
		cJSON_AddBoolToObject(d, "refresh_token", t->refresh_token != NULL);
		cJSON_AddBoolToObject(d, "id_token", t->id_token != NULL);
	}
	if (audit_event(event, "success", g->user_id, g->client_id, q->address, d) == -1)
		goto dbfail;
	if ((body = issue_response(cfg, g, t)) == NULL) {
		db_rollback();
		grant_fail(res, OAUTH_SERVER_ERROR, "could not build the response");
		goto out;
	}
	/* No token leaves unless its rows are committed. */
	if (db_commit() == -1) {
		cJSON_Delete(body);
		body = NULL;
		goto dbfail;
	}
	res->error = OAUTH_OK;
	res->body = body;
	if (g->assertion_jti != NULL)
		res->jti_recorded = 1;
	goto out;
dbfail:
	grant_db_fail(res);
out:
	cJSON_Delete(d);
}

/*
 * The fast path of a grant whose code or refresh token was read and found
 * redeemable: mints, then writes everything in ONE statement outside any
 * explicit transaction (issue_commit: consume, token rows and audit row
 * commit together or not at all).  Sets *fallback when the consume matched
 * nothing any more (a concurrent request won, or the grant changed since
 * it was read): nothing was written, and the caller runs the grant's
 * transactional path, which finds out why (reuse included).
 */
static void
grant_finish_fast(const struct grant_req *q, const struct issue_grant *g0,
    struct issue_tokens *t, enum issue_consume kind, const char *consume_hash,
    const char *event, const char *grant_type, struct grant_result *res, int *fallback)
{
	const struct config *cfg = q->env->cfg;
	cJSON *body = NULL, *d = NULL;
	char *dtext = NULL;
	struct issue_grant gj = *g0, *g = &gj;
	int outcome = 0;

	*fallback = 0;
	/* The assertion's jti is recorded by the same statement (one write
	 * transaction per token response). */
	gj.assertion_jti = res->jti_recorded ? NULL : q->client->assertion_jti;
	gj.assertion_until = q->client->assertion_until;
	if (issue_mint(cfg, q->env->signer, g, t) == -1) {
		grant_fail(res, OAUTH_SERVER_ERROR, "could not issue the tokens");
		return;
	}
	if ((d = grant_detail(grant_type, OAUTH_OK, NULL)) != NULL) {
		cJSON_AddStringToObject(d, "scope", g->scope);
		cJSON_AddStringToObject(d, "jti", t->jti);
		if (g->family_id != NULL)
			cJSON_AddStringToObject(d, "family_id", g->family_id);
		cJSON_AddBoolToObject(d, "refresh_token", t->refresh_token != NULL);
		cJSON_AddBoolToObject(d, "id_token", t->id_token != NULL);
		dtext = cJSON_PrintUnformatted(d);
	}
	/* Built before the write, so that nothing is committed without it. */
	if ((body = issue_response(cfg, g, t)) == NULL) {
		grant_fail(res, OAUTH_SERVER_ERROR, "could not build the response");
		goto out;
	}
	if (issue_commit(kind, consume_hash, g, t, event, q->address, dtext, &outcome) == -1) {
		grant_db_error(res);
		goto out;
	}
	if (outcome & (ISSUE_WROTE_JTI | ISSUE_JTI_REPLAYED))
		res->jti_recorded = 1;
	if (outcome & ISSUE_JTI_REPLAYED) {
		log_warn("client %s: client assertion jti replayed", g->client_id);
		grant_refuse(q, res, grant_type, OAUTH_INVALID_CLIENT, CLIENTJWT_REPLAY_WHY);
		goto out;
	}
	if (!(outcome & ISSUE_WROTE_GRANT)) {
		*fallback = 1;
		goto out;
	}
	audit_log(event, "success", g->user_id, g->client_id, q->address);
	res->error = OAUTH_OK;
	res->body = body;
	body = NULL;
out:
	cJSON_Delete(body);
	cJSON_free(dtext);
	cJSON_Delete(d);
}

/* Borrowed column value, NULL for SQL NULL. */
static const char *
grant_col(const PGresult *row, int col)
{
	return PQgetisnull(row, 0, col) ? NULL : PQgetvalue(row, 0, col);
}

static int
grant_col_true(const PGresult *row, int col)
{
	const char *v = grant_col(row, col);

	return v != NULL && strcmp(v, "t") == 0;
}

/* The stored launch context (a JSON object); NULL when unreadable. */
static cJSON *
grant_context(const char *text)
{
	cJSON *ctx;

	if (text == NULL)
		return cJSON_CreateObject();
	if ((ctx = json_parse_strict(text, strlen(text), NULL)) == NULL || !cJSON_IsObject(ctx)) {
		log_err("stored launch context is not a JSON object");
		cJSON_Delete(ctx);
		return NULL;
	}
	return ctx;
}

/* ---- authorization_code ---------------------------------------------- */

const char *
grant_pkce_check(const char *challenge, const char *method, const char *verifier)
{
	if (challenge == NULL || *challenge == '\0') {
		/* RFC 9700 §2.1.1: a verifier without a challenge is a downgrade. */
		if (verifier != NULL && *verifier != '\0')
			return "code_verifier sent, but the authorization request had no code_challenge";
		return NULL;
	}
	if (method == NULL || strcmp(method, "S256") != 0)
		return "the authorization request used an unsupported code_challenge_method";
	if (verifier == NULL)
		return "code_verifier is missing";
	if (*verifier == '\0')
		return "code_verifier is empty";
	/* The challenge is public: sending it back is the "plain" downgrade. */
	if (crypto_ct_streq(verifier, challenge))
		return "code_verifier must not equal the code_challenge";
	if (!crypto_pkce_s256_check(verifier, challenge))
		return "code_verifier does not match the code_challenge";
	return NULL;
}

/* The code was not consumable: unknown, or used before (reuse). */
static void
grant_code_refused(const struct grant_req *q, struct grant_result *res, const char *hash)
{
	static const char sql[] =
	    "SELECT family_id::text, client_id, user_id, used_at IS NOT NULL "
	    "FROM smart.authorization_codes WHERE code_hash = $1";
	const char *params[1] = { hash };
	PGresult *row;

	if ((row = db_exec(sql, 1, params)) == NULL) {
		grant_db_fail(res);
		return;
	}
	if (PQntuples(row) == 1 && grant_col_true(row, 3))
		grant_reuse(q, res, "code_reuse", "authorization_code", grant_col(row, 0),
		    grant_col(row, 1), grant_col(row, 2),
		    "the authorization code was already used; the tokens issued from it are revoked");
	else
		grant_commit_failure(q, res, "authorization_code", NULL, OAUTH_INVALID_GRANT,
		    "unknown authorization code");
	PQclear(row);
}

/* Columns of a code row, as both the read and the consume return them. */
#define GRANT_CODE_COLS \
	"family_id::text, client_id, user_id, redirect_uri, scope, " \
	"launch_context::text, nonce, code_challenge, code_challenge_method, " \
	"coalesce(extract(epoch FROM auth_time)::bigint, 0), expires_at <= now(), " \
	"session_hash, online_only, " \
	"EXISTS (SELECT 1 FROM smart.users u WHERE u.id = c.user_id AND u.active)"
enum { C_FAMILY, C_CLIENT, C_USER, C_REDIRECT, C_SCOPE, C_CONTEXT, C_NONCE,
    C_CHALLENGE, C_METHOD, C_AUTH_TIME, C_EXPIRED, C_SESSION, C_ONLINE, C_USER_OK };

/* The fast path's read of a code ($1 its hash). */
static const char grant_code_read_sql[] =
    "SELECT " GRANT_CODE_COLS " FROM smart.authorization_codes c "
    "WHERE code_hash = $1 AND used_at IS NULL";

/* RFC 6749 §4.1.3 and RFC 7636 §4.6: why the code row may not be redeemed
 * by this request, or NULL. */
static const char *
grant_code_why(const struct grant_req *q, const PGresult *row)
{
	const char *redirect_uri = form_get(q->params, "redirect_uri");

	if (strcmp(grant_col(row, C_CLIENT), q->client->id) != 0)
		return "the authorization code was issued to another client";
	if (grant_col_true(row, C_EXPIRED))
		return "the authorization code has expired";
	if (!grant_col_true(row, C_USER_OK))
		return "the user account is disabled";
	if (redirect_uri == NULL || *redirect_uri == '\0')
		return "redirect_uri is missing; it must equal the one of the authorization request";
	if (strcmp(redirect_uri, grant_col(row, C_REDIRECT)) != 0)
		return "redirect_uri does not match the authorization request";
	return grant_pkce_check(grant_col(row, C_CHALLENGE), grant_col(row, C_METHOD),
	    form_get(q->params, "code_verifier"));
}

/*
 * Fills g from a redeemable code row; *ctx, *set and *scope are owned by
 * the caller (freed whatever the outcome).  0, or -1 when the stored grant
 * is unreadable.
 */
static int
grant_code_fill(const struct grant_req *q, const PGresult *row, struct issue_grant *g,
    cJSON **ctx, struct scope_set **set, char **scope)
{
	const struct config *cfg = q->env->cfg;

	if ((*ctx = grant_context(grant_col(row, C_CONTEXT))) == NULL ||
	    (*set = scope_parse(grant_col(row, C_SCOPE), NULL)) == NULL ||
	    (*scope = scope_set_format(*set)) == NULL)
		return -1;
	memset(g, 0, sizeof(*g));
	g->client_id = q->client->id;
	g->user_id = grant_col(row, C_USER);
	g->family_id = grant_col(row, C_FAMILY);
	g->scope = *scope;
	g->launch_context = *ctx;
	g->session_hash = grant_col(row, C_SESSION);
	g->now = q->now;
	g->lifetime = issue_access_lifetime(cfg, q->client);
	issue_grant_from_scope(g, *set, issue_client_may_refresh(q->client));
	g->online_only = g->online_only || grant_col_true(row, C_ONLINE);
	g->auth_time = strtoll(grant_col(row, C_AUTH_TIME), NULL, 10);
	g->nonce = grant_col(row, C_NONCE);
	g->refresh_scope = *scope;
	g->refresh_expires_at = (long long)q->now + issue_refresh_lifetime(cfg, q->client);
	g->refresh_nonce = g->nonce;
	return 0;
}

/*
 * The transactional path: consume, then check (every failure burns the
 * code), then issue; also finds out why a code cannot be redeemed.
 */
static void
grant_code_tx(const struct grant_req *q, struct grant_result *res)
{
	static const char consume_sql[] =
	    "UPDATE smart.authorization_codes c SET used_at = now() "
	    "WHERE code_hash = $1 AND used_at IS NULL RETURNING " GRANT_CODE_COLS;
	const char *code = form_get_nonempty(q->params, "code");
	const char *params[1], *why;
	struct issue_tokens t = { 0 };
	struct issue_grant g;
	struct scope_set *set = NULL;
	PGresult *row = NULL;
	cJSON *ctx = NULL;
	char *hash = NULL, *scope = NULL;

	if ((hash = crypto_sha256_hex(code)) == NULL) {
		grant_fail(res, OAUTH_SERVER_ERROR, "internal error");
		return;
	}
	params[0] = hash;
	if (db_begin() == -1 || (row = db_exec(consume_sql, 1, params)) == NULL) {
		grant_db_fail(res);
		goto out;
	}
	if (PQntuples(row) != 1) {
		grant_code_refused(q, res, hash);
		goto out;
	}
	if ((why = grant_code_why(q, row)) != NULL) {
		grant_commit_failure(q, res, "authorization_code", grant_col(row, C_USER),
		    OAUTH_INVALID_GRANT, why);
		goto out;
	}
	if (grant_code_fill(q, row, &g, &ctx, &set, &scope) == -1) {
		db_rollback();
		grant_fail(res, OAUTH_SERVER_ERROR, "the stored grant is unreadable");
		goto out;
	}
	grant_finish(q, &g, &t, "token", "authorization_code", res);
out:
	issue_tokens_clear(&t);
	scope_set_free(set);
	free(scope);
	cJSON_Delete(ctx);
	PQclear(row);
	free(hash);
}

/*
 * authorization_code: a code that reads as redeemable by this request is
 * redeemed in two round trips (the read, then issue_commit); anything
 * else, and a consume that lost a race, takes grant_code_tx.
 */
static void
grant_code(const struct grant_req *q, struct grant_result *res)
{
	const char *code = form_get_nonempty(q->params, "code");
	const char *params[1];
	struct issue_tokens t = { 0 };
	struct issue_grant g;
	struct scope_set *set = NULL;
	PGresult *row = NULL;
	cJSON *ctx = NULL;
	char *hash = NULL, *scope = NULL;
	int fallback = 1;

	if (code == NULL) {
		grant_refuse(q, res, "authorization_code", OAUTH_INVALID_REQUEST, "code is missing");
		return;
	}
	if ((hash = crypto_sha256_hex(code)) == NULL) {
		grant_fail(res, OAUTH_SERVER_ERROR, "internal error");
		return;
	}
	params[0] = hash;
	if ((row = grant_prefetched(q, grant_code_read_sql, hash)) == NULL &&
	    (row = db_exec(grant_code_read_sql, 1, params)) == NULL) {
		grant_db_error(res);
		fallback = 0;
		goto out;
	}
	if (PQntuples(row) == 1 && grant_code_why(q, row) == NULL &&
	    grant_code_fill(q, row, &g, &ctx, &set, &scope) == 0)
		grant_finish_fast(q, &g, &t, ISSUE_CONSUME_CODE, hash, "token",
		    "authorization_code", res, &fallback);
out:
	issue_tokens_clear(&t);
	scope_set_free(set);
	free(scope);
	cJSON_Delete(ctx);
	PQclear(row);
	free(hash);
	if (fallback)
		grant_code_tx(q, res);
}

/* ---- refresh_token ---------------------------------------------------- */

enum oauth_error
grant_narrow_scope(const char *original, const char *requested, char **out, const char **why)
{
	struct scope_set *orig = NULL, *req = NULL, *cov = NULL;
	enum oauth_error e = OAUTH_SERVER_ERROR;

	*out = NULL;
	*why = "internal error";
	if ((orig = scope_parse(original != NULL ? original : "", NULL)) == NULL) {
		*why = "the stored grant is unreadable";
		goto out;
	}
	if (requested != NULL && *requested != '\0') {
		if ((req = scope_parse(requested, NULL)) == NULL) {
			*why = "scope is malformed";
			e = OAUTH_INVALID_SCOPE;
			goto out;
		}
		if (req->n == 0 && req->nunknown == 0) {
			scope_set_free(req);
			req = NULL;	/* only spaces: as if omitted */
		}
	}
	if (req == NULL) {
		if ((*out = scope_set_format(orig)) != NULL)
			e = OAUTH_OK;
		goto out;
	}
	if ((cov = scope_set_intersect(req, orig)) == NULL)
		goto out;
	/* RFC 6749 §6: "MUST NOT include any scope not originally granted". */
	if (req->nunknown > 0 || cov->n != req->n) {
		*why = "scope may narrow the original grant but never widen it";
		e = OAUTH_INVALID_SCOPE;
		goto out;
	}
	if ((*out = scope_set_format(req)) != NULL)
		e = OAUTH_OK;
out:
	if (e == OAUTH_OK)
		*why = NULL;
	scope_set_free(orig);
	scope_set_free(req);
	scope_set_free(cov);
	return e;
}

/* The token was not consumable: find out why; a used one is reuse. */
static void
grant_refresh_refused(const struct grant_req *q, struct grant_result *res, const char *hash)
{
	static const char sql[] =
	    "SELECT family_id::text, client_id, user_id, used_at IS NOT NULL, "
	    "revoked_at IS NOT NULL, expires_at <= now(), "
	    "EXISTS (SELECT 1 FROM smart.users u WHERE u.id = r.user_id AND u.active), "
	    "NOT online_only OR EXISTS (SELECT 1 FROM smart.sessions s "
	    "WHERE s.session_hash = r.session_hash AND s.revoked_at IS NULL "
	    "AND s.expires_at > now()) "
	    "FROM smart.refresh_tokens r WHERE token_hash = $1";
	enum { R_FAMILY, R_CLIENT, R_USER, R_USED, R_REVOKED, R_EXPIRED, R_USER_OK, R_ONLINE_OK };
	const char *params[1] = { hash }, *why;
	PGresult *row;

	if ((row = db_exec(sql, 1, params)) == NULL) {
		grant_db_fail(res);
		return;
	}
	if (PQntuples(row) != 1) {
		grant_commit_failure(q, res, "refresh_token", NULL, OAUTH_INVALID_GRANT,
		    "unknown refresh token");
		goto out;
	}
	/* RFC 9700 §4.14.2: a rotated-out token presented again means theft. */
	if (grant_col_true(row, R_USED)) {
		grant_reuse(q, res, "refresh_reuse", "refresh_token", grant_col(row, R_FAMILY),
		    grant_col(row, R_CLIENT), grant_col(row, R_USER),
		    "the refresh token was already used; its grant is revoked");
		goto out;
	}
	if (strcmp(grant_col(row, R_CLIENT), q->client->id) != 0)
		why = "the refresh token was issued to another client";
	else if (grant_col_true(row, R_REVOKED))
		why = "the refresh token has been revoked";
	else if (grant_col_true(row, R_EXPIRED))
		why = "the refresh token has expired";
	else if (!grant_col_true(row, R_USER_OK))
		why = "the user account is disabled";
	else if (!grant_col_true(row, R_ONLINE_OK))
		why = "the login session of this online_access grant has ended";
	else
		why = "the refresh token cannot be used";
	grant_commit_failure(q, res, "refresh_token", grant_col(row, R_USER), OAUTH_INVALID_GRANT,
	    why);
out:
	PQclear(row);
}

/* Columns of a refresh token row, as both the read and the consume return them. */
#define GRANT_REFRESH_COLS \
	"family_id::text, user_id, scope, launch_context::text, session_hash, " \
	"online_only, coalesce(extract(epoch FROM auth_time)::bigint, 0), nonce, " \
	"extract(epoch FROM expires_at)::bigint"
/* A live token $1 of client $2 (lib/issue.h; issue_commit's consume uses
 * the same condition). */
#define GRANT_REFRESH_LIVE	ISSUE_REFRESH_LIVE("$1", "$2")
enum { R_FAMILY, R_USER, R_SCOPE, R_CONTEXT, R_SESSION, R_ONLINE, R_AUTH_TIME,
    R_NONCE, R_EXPIRES };

/* The fast path's read of a refresh token ($1 its hash, $2 the client). */
static const char grant_refresh_read_sql[] =
    "SELECT " GRANT_REFRESH_COLS " FROM smart.refresh_tokens r WHERE " GRANT_REFRESH_LIVE;

/*
 * Fills g from a live refresh token row and the narrowed scope (owned by
 * the caller, as are *ctx, *set and *orig).  0, or -1 when the stored
 * grant is unreadable.
 */
static int
grant_refresh_fill(const struct grant_req *q, const PGresult *row, const char *scope,
    struct issue_grant *g, cJSON **ctx, struct scope_set **set, char **orig)
{
	if ((*ctx = grant_context(grant_col(row, R_CONTEXT))) == NULL ||
	    (*set = scope_parse(scope, NULL)) == NULL ||
	    (*orig = strdup(grant_col(row, R_SCOPE))) == NULL)
		return -1;
	memset(g, 0, sizeof(*g));
	g->client_id = q->client->id;
	g->user_id = grant_col(row, R_USER);
	g->family_id = grant_col(row, R_FAMILY);
	g->scope = scope;
	g->launch_context = *ctx;
	g->session_hash = grant_col(row, R_SESSION);
	g->now = q->now;
	g->lifetime = issue_access_lifetime(q->env->cfg, q->client);
	issue_grant_from_scope(g, *set, 1);
	g->auth_time = strtoll(grant_col(row, R_AUTH_TIME), NULL, 10);
	g->nonce = NULL;		/* OIDC Core §12.2: no nonce on refresh */
	/*
	 * Rotation: the successor keeps the original scope (RFC 6749 §6),
	 * the family, the session binding and the absolute expiry of the
	 * grant (ASVS 5.0 10.4.8: rotation never extends a grant's life).
	 */
	g->refresh = 1;
	g->refresh_scope = *orig;
	g->online_only = grant_col_true(row, R_ONLINE);
	g->refresh_expires_at = strtoll(grant_col(row, R_EXPIRES), NULL, 10);
	g->refresh_nonce = grant_col(row, R_NONCE);
	return 0;
}

/*
 * The transactional path: the consume succeeds only for a live token (see
 * GRANT_REFRESH_LIVE); otherwise finds out why, reuse included.
 */
static void
grant_refresh_tx(const struct grant_req *q, struct grant_result *res)
{
	static const char consume_sql[] =
	    "UPDATE smart.refresh_tokens r SET used_at = now(), replaced_by = $3 "
	    "WHERE " GRANT_REFRESH_LIVE "RETURNING " GRANT_REFRESH_COLS;
	const char *token = form_get_nonempty(q->params, "refresh_token");
	const char *wanted = form_get(q->params, "scope");
	const char *params[3], *why;
	struct issue_tokens t = { 0 };
	struct issue_grant g;
	struct scope_set *set = NULL;
	enum oauth_error e;
	PGresult *row = NULL;
	cJSON *ctx = NULL;
	char *hash = NULL, *scope = NULL, *orig = NULL;

	/* The successor's hash is written into the consumed row (replaced_by). */
	if ((hash = crypto_sha256_hex(token)) == NULL || issue_refresh_new(&t) == -1) {
		grant_fail(res, OAUTH_SERVER_ERROR, "internal error");
		goto out;
	}
	params[0] = hash;
	params[1] = q->client->id;
	params[2] = t.refresh_hash;
	if (db_begin() == -1 || (row = db_exec(consume_sql, 3, params)) == NULL) {
		grant_db_fail(res);
		goto out;
	}
	if (PQntuples(row) != 1) {
		grant_refresh_refused(q, res, hash);
		goto out;
	}
	if ((e = grant_narrow_scope(grant_col(row, R_SCOPE), wanted, &scope, &why)) != OAUTH_OK) {
		/* Not burnt: the client keeps its token and may ask again. */
		db_rollback();
		grant_refuse(q, res, "refresh_token", e, why);
		goto out;
	}
	if (grant_refresh_fill(q, row, scope, &g, &ctx, &set, &orig) == -1) {
		db_rollback();
		grant_fail(res, OAUTH_SERVER_ERROR, "the stored grant is unreadable");
		goto out;
	}
	grant_finish(q, &g, &t, "refresh", "refresh_token", res);
out:
	issue_tokens_clear(&t);
	scope_set_free(set);
	free(scope);
	free(orig);
	cJSON_Delete(ctx);
	PQclear(row);
	free(hash);
}

/*
 * refresh_token: a token that reads as live is rotated in two round trips
 * (the read, then issue_commit, which repeats the liveness conditions in
 * its consume); anything else, and a consume that lost a race, takes
 * grant_refresh_tx.
 */
static void
grant_refresh(const struct grant_req *q, struct grant_result *res)
{
	const char *token = form_get_nonempty(q->params, "refresh_token");
	const char *wanted = form_get(q->params, "scope");
	const char *params[2], *why;
	struct issue_tokens t = { 0 };
	struct issue_grant g;
	struct scope_set *set = NULL;
	enum oauth_error e;
	PGresult *row = NULL;
	cJSON *ctx = NULL;
	char *hash = NULL, *scope = NULL, *orig = NULL;
	int fallback = 1;

	if (token == NULL) {
		grant_refuse(q, res, "refresh_token", OAUTH_INVALID_REQUEST,
		    "refresh_token is missing");
		return;
	}
	if ((hash = crypto_sha256_hex(token)) == NULL || issue_refresh_new(&t) == -1) {
		grant_fail(res, OAUTH_SERVER_ERROR, "internal error");
		fallback = 0;
		goto out;
	}
	params[0] = hash;
	params[1] = q->client->id;
	if ((row = grant_prefetched(q, grant_refresh_read_sql, hash)) == NULL &&
	    (row = db_exec(grant_refresh_read_sql, 2, params)) == NULL) {
		grant_db_error(res);
		fallback = 0;
		goto out;
	}
	if (PQntuples(row) != 1)
		goto out;
	if ((e = grant_narrow_scope(grant_col(row, R_SCOPE), wanted, &scope, &why)) != OAUTH_OK) {
		/* Not burnt: the client keeps its token and may ask again. */
		grant_refuse(q, res, "refresh_token", e, why);
		fallback = 0;
		goto out;
	}
	if (grant_refresh_fill(q, row, scope, &g, &ctx, &set, &orig) == 0)
		grant_finish_fast(q, &g, &t, ISSUE_CONSUME_REFRESH, hash, "refresh",
		    "refresh_token", res, &fallback);
out:
	issue_tokens_clear(&t);
	scope_set_free(set);
	free(scope);
	free(orig);
	cJSON_Delete(ctx);
	PQclear(row);
	free(hash);
	if (fallback)
		grant_refresh_tx(q, res);
}

/* ---- client_credentials ----------------------------------------------- */

enum oauth_error
grant_backend_scope(const char *registered, const char *requested, char **out,
    const char **why)
{
	struct scope_set *reg = NULL, *req = NULL, *cov = NULL;
	enum oauth_error e = OAUTH_INVALID_SCOPE;
	int introspect = 0;
	size_t i;
	char *fmt = NULL;

	*out = NULL;
	*why = "internal error";
	if (requested == NULL || requested[strspn(requested, " ")] == '\0') {
		/* RFC 6749 §3.3: no default scope, so the request fails. */
		*why = "scope is required for client_credentials";
		goto out;
	}
	if ((req = scope_parse(requested, NULL)) == NULL) {
		*why = "scope is malformed";
		goto out;
	}
	for (i = 0; i < req->nunknown; i++) {
		if (strcmp(req->unknown[i], INTROSPECT_SCOPE) != 0) {
			*why = "client_credentials grants only system/ scopes";
			goto out;
		}
		introspect = 1;
	}
	for (i = 0; i < req->n; i++)
		if (req->v[i].kind != SCOPE_RESOURCE || req->v[i].context != SCOPE_CTX_SYSTEM) {
			*why = "client_credentials grants only system/ scopes";
			goto out;
		}
	if (registered == NULL || registered[strspn(registered, " ")] == '\0') {
		*why = "the client has no registered scope";
		goto out;
	}
	if (introspect && !introspect_scope_grants(registered)) {
		*why = "the client is not registered for the introspection scope";
		goto out;
	}
	if ((reg = scope_parse(registered, NULL)) == NULL) {
		*why = "the client's registered scope is unreadable";
		e = OAUTH_SERVER_ERROR;
		goto out;
	}
	if ((cov = scope_set_intersect(req, reg)) == NULL) {
		e = OAUTH_SERVER_ERROR;
		goto out;
	}
	if (cov->n != req->n) {
		*why = "scope asks for more than the client is registered for";
		goto out;
	}
	e = OAUTH_SERVER_ERROR;
	if ((fmt = scope_set_format(req)) == NULL)
		goto out;
	if (introspect) {
		if (asprintf(out, "%s%s%s", fmt, *fmt != '\0' ? " " : "", INTROSPECT_SCOPE) < 0) {
			*out = NULL;
			goto out;
		}
	} else {
		*out = fmt;
		fmt = NULL;
	}
	e = OAUTH_OK;
	*why = NULL;
out:
	free(fmt);
	scope_set_free(reg);
	scope_set_free(req);
	scope_set_free(cov);
	return e;
}

long
grant_backend_lifetime(const struct config *cfg, const struct client *c)
{
	long long v;

	/* Per client: auth.client_credentials.access_token_expiration. */
	if (c != NULL && c->resource != NULL &&
	    json_get_int(json_get_obj(json_get_obj(c->resource, "auth"), "client_credentials"),
	    "access_token_expiration", &v) == 0 && v > 0)
		return v < GRANT_BACKEND_MAX_LIFETIME ? (long)v : GRANT_BACKEND_MAX_LIFETIME;
	return cfg->backend_token_lifetime;
}

/*
 * RFC 6749 §4.4 with SMART Backend Services (App Launch 2.2 §backend
 * services): a confidential client gets an access token for itself (sub =
 * client id, no user, no refresh token, no id_token), recorded without a
 * grant family so that it can be introspected and revoked.
 */
static void
grant_backend(const struct grant_req *q, struct grant_result *res)
{
	const char *wanted = form_get(q->params, "scope");
	struct issue_tokens t = { 0 };
	struct issue_grant g;
	enum oauth_error e;
	const char *why;
	char *scope = NULL;
	int fallback;

	/* RFC 6749 §4.4: "MUST only be used by confidential clients". */
	if (q->method == CLIENT_AUTH_NONE) {
		grant_refuse(q, res, "client_credentials", OAUTH_INVALID_CLIENT,
		    "client_credentials requires client authentication");
		return;
	}
	if ((e = grant_backend_scope(q->client->scope, wanted, &scope, &why)) != OAUTH_OK) {
		if (e == OAUTH_SERVER_ERROR)
			grant_fail(res, e, why);
		else
			grant_refuse(q, res, "client_credentials", e, why);
		return;
	}
	memset(&g, 0, sizeof(g));
	g.client_id = q->client->id;
	g.scope = scope;
	g.now = q->now;
	g.lifetime = grant_backend_lifetime(q->env->cfg, q->client);
	/* Token row and audit row: one statement, one round trip. */
	grant_finish_fast(q, &g, &t, ISSUE_CONSUME_NONE, NULL, "token", "client_credentials",
	    res, &fallback);
	if (fallback)
		grant_fail(res, OAUTH_SERVER_ERROR, "internal error");	/* cannot happen */
	issue_tokens_clear(&t);
	free(scope);
}

/* ---- the read done ahead ---------------------------------------------- */

int
grant_prefetch_stmt(const struct grant_type *gt, const struct form *params,
    const char *client_id, struct grant_prefetch *pf, struct db_stmt *s)
{
	const char *v;
	int refresh;

	memset(pf, 0, sizeof(*pf));
	if (gt == NULL || client_id == NULL)
		return 0;
	if (gt->run == grant_refresh)
		refresh = 1;
	else if (gt->run == grant_code)
		refresh = 0;
	else
		return 0;
	if ((v = form_get_nonempty(params, refresh ? "refresh_token" : "code")) == NULL)
		return 0;
	if ((pf->hash = crypto_sha256_hex(v)) == NULL ||
	    (pf->client_id = strdup(client_id)) == NULL) {
		grant_prefetch_clear(pf);
		return -1;
	}
	pf->params[0] = pf->hash;
	pf->params[1] = pf->client_id;
	s->sql = pf->sql = refresh ? grant_refresh_read_sql : grant_code_read_sql;
	s->nparams = refresh ? 2 : 1;
	s->params = pf->params;
	s->res = NULL;
	return 1;
}

void
grant_prefetch_clear(struct grant_prefetch *pf)
{
	if (pf == NULL)
		return;
	PQclear(pf->res);
	free(pf->hash);
	free(pf->client_id);
	memset(pf, 0, sizeof(*pf));
}

/*
 * The result of the read done ahead (owned by the caller from now on),
 * when it is sql's for this very code or token and the client that did
 * authenticate; NULL otherwise (the caller reads itself).
 */
static PGresult *
grant_prefetched(const struct grant_req *q, const char *sql, const char *hash)
{
	struct grant_prefetch *pf = q->prefetch;
	PGresult *res;

	if (pf == NULL || pf->res == NULL || pf->sql != sql || strcmp(pf->hash, hash) != 0 ||
	    strcmp(pf->client_id, q->client->id) != 0)
		return NULL;
	res = pf->res;
	pf->res = NULL;
	return res;
}
