/*
 * issue: access tokens, id_tokens, refresh tokens and the token
 * response.  See issue.h.
 *
 * Owns nothing between calls.  The database writes are issue_record (the
 * access token row, and the refresh token row in the same statement),
 * inside the grant's transaction, and issue_commit (the same rows with
 * the consume of the code or refresh token and the audit row, as one
 * statement that is its own transaction), so a token exists in the
 * response only when its row was committed with it.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "db.h"
#include "issue.h"
#include "json.h"
#include "jwt.h"
#include "log.h"

long
issue_access_lifetime(const struct config *cfg, const struct client *c)
{
	if (c != NULL && c->access_token_expiration > 0)
		return c->access_token_expiration;
	return cfg->access_token_lifetime;
}

long
issue_refresh_lifetime(const struct config *cfg, const struct client *c)
{
	if (c != NULL && c->refresh_token_expiration > 0)
		return c->refresh_token_expiration;
	return cfg->refresh_token_lifetime;
}

int
issue_client_may_refresh(const struct client *c)
{
	return c != NULL && (c->refresh_token || client_has_grant(c, "refresh_token"));
}

void
issue_grant_from_scope(struct issue_grant *g, const struct scope_set *s, int may_refresh)
{
	int offline = scope_set_has(s, SCOPE_OFFLINE);
	int online = scope_set_has(s, SCOPE_ONLINE);

	g->id_token = scope_set_has(s, SCOPE_OPENID);
	g->profile_claim = scope_set_has(s, SCOPE_PROFILE);
	g->fhir_user_claim = scope_set_has(s, SCOPE_FHIRUSER) || g->profile_claim;
	g->refresh = may_refresh && (offline || online);
	/* SMART 2.2 §scopes: online_access lives only while the user is online. */
	g->online_only = online && !offline;
}

/* "Type/id": FHIR resource type name and id ([A-Za-z0-9-.]{1,64}). */
static int
issue_is_reference(const char *ref)
{
	const char *slash = strchr(ref, '/'), *p;
	size_t idlen;

	if (slash == NULL || slash == ref || !isupper((unsigned char)ref[0]))
		return 0;
	for (p = ref; p < slash; p++)
		if (!isalpha((unsigned char)*p))
			return 0;
	idlen = strlen(slash + 1);
	if (idlen == 0 || idlen > 64)
		return 0;
	for (p = slash + 1; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
			return 0;
	return 1;
}

char *
issue_fhir_user_url(const struct config *cfg, const char *ref)
{
	char *url;

	if (ref == NULL || *ref == '\0')
		return NULL;
	if (strncmp(ref, "https://", 8) == 0 || strncmp(ref, "http://", 7) == 0) {
		if (strpbrk(ref, " \"\\") != NULL)
			return NULL;
		return strdup(ref);
	}
	if (!issue_is_reference(ref))
		return NULL;
	if (asprintf(&url, "%s/%s", cfg->fhir_base, ref) < 0)
		return NULL;
	return url;
}

/* Adds a string member when s is not NULL; -1 on OOM. */
static int
issue_add_str(cJSON *o, const char *name, const char *s)
{
	if (s == NULL)
		return 0;
	return cJSON_AddStringToObject(o, name, s) != NULL ? 0 : -1;
}

static int
issue_add_num(cJSON *o, const char *name, long long v)
{
	return cJSON_AddNumberToObject(o, name, (double)v) != NULL ? 0 : -1;
}

/* Adds fhirUser (and optionally profile) from the launch context. */
static int
issue_add_fhir_user(cJSON *o, const struct config *cfg, const struct issue_grant *g,
    int with_profile)
{
	const char *ref = json_get_str(g->launch_context, "fhirUser");
	char *url;
	int rc = 0;

	if (ref == NULL)
		return 0;
	if ((url = issue_fhir_user_url(cfg, ref)) == NULL) {
		/* A malformed stored reference is left out rather than sent. */
		log_warn("fhirUser of user %s is not a FHIR reference; claim omitted",
		    g->user_id != NULL ? g->user_id : "-");
		return 0;
	}
	if (cJSON_AddStringToObject(o, "fhirUser", url) == NULL ||
	    (with_profile && cJSON_AddStringToObject(o, "profile", url) == NULL))
		rc = -1;
	free(url);
	return rc;
}

cJSON *
issue_access_claims(const struct config *cfg, const struct issue_grant *g, const char *jti)
{
	cJSON *o;

	if ((o = cJSON_CreateObject()) == NULL)
		goto fail;
	/* RFC 9068 §2.2: iss, exp, aud, sub, client_id, iat, jti (+ scope). */
	if (issue_add_str(o, "iss", cfg->fhir_base) == -1 ||
	    issue_add_str(o, "sub", g->user_id != NULL ? g->user_id : g->client_id) == -1 ||
	    issue_add_str(o, "aud", cfg->fhir_base) == -1 ||
	    issue_add_num(o, "exp", (long long)g->now + g->lifetime) == -1 ||
	    issue_add_num(o, "iat", (long long)g->now) == -1 ||
	    issue_add_str(o, "jti", jti) == -1 ||
	    issue_add_str(o, "client_id", g->client_id) == -1 ||
	    issue_add_str(o, "scope", g->scope != NULL ? g->scope : "") == -1)
		goto fail;
	if (g->auth_time > 0 && issue_add_num(o, "auth_time", g->auth_time) == -1)
		goto fail;
	if (issue_add_str(o, "patient", json_get_str(g->launch_context, "patient")) == -1 ||
	    issue_add_str(o, "encounter", json_get_str(g->launch_context, "encounter")) == -1 ||
	    issue_add_fhir_user(o, cfg, g, 0) == -1)
		goto fail;
	return o;
fail:
	log_err("out of memory");
	cJSON_Delete(o);
	return NULL;
}

cJSON *
issue_id_token_claims(const struct config *cfg, const struct issue_grant *g)
{
	cJSON *o;

	if (g->user_id == NULL) {
		log_err("an id_token needs a user");
		return NULL;
	}
	if ((o = cJSON_CreateObject()) == NULL)
		goto fail;
	/* OpenID Connect Core §2; iss must equal the openid-configuration issuer. */
	if (issue_add_str(o, "iss", cfg->fhir_base) == -1 ||
	    issue_add_str(o, "sub", g->user_id) == -1 ||
	    issue_add_str(o, "aud", g->client_id) == -1 ||
	    issue_add_num(o, "exp", (long long)g->now + g->lifetime) == -1 ||
	    issue_add_num(o, "iat", (long long)g->now) == -1)
		goto fail;
	if (g->auth_time > 0 && issue_add_num(o, "auth_time", g->auth_time) == -1)
		goto fail;
	if (g->nonce != NULL && *g->nonce != '\0' && issue_add_str(o, "nonce", g->nonce) == -1)
		goto fail;
	if (g->fhir_user_claim && issue_add_fhir_user(o, cfg, g, g->profile_claim) == -1)
		goto fail;
	return o;
fail:
	log_err("out of memory");
	cJSON_Delete(o);
	return NULL;
}

static void
issue_free_secret(char **s)
{
	if (*s != NULL) {
		crypto_wipe(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

/* Signs claims (consumed) with the server's key; owned compact JWS. */
static char *
issue_sign(const struct jwk *signer, const char *typ, cJSON *claims)
{
	char *jws;

	if (claims == NULL)
		return NULL;
	jws = jwt_sign(signer, ISSUE_ALG, typ, claims);
	cJSON_Delete(claims);
	return jws;
}

int
issue_refresh_new(struct issue_tokens *t)
{
	if ((t->refresh_token = crypto_token_new()) == NULL ||
	    (t->refresh_hash = crypto_sha256_hex(t->refresh_token)) == NULL) {
		issue_free_secret(&t->refresh_token);
		log_err("could not make a refresh token");
		return -1;
	}
	return 0;
}

int
issue_mint(const struct config *cfg, const struct jwk *signer, const struct issue_grant *g,
    struct issue_tokens *t)
{
	if ((t->jti = crypto_token_new()) == NULL)
		goto fail;
	/* RFC 9068 §2.1: typ "at+jwt" tells access tokens from id_tokens. */
	if ((t->access_token = issue_sign(signer, "at+jwt",
	    issue_access_claims(cfg, g, t->jti))) == NULL)
		goto fail;
	if (g->id_token &&
	    (t->id_token = issue_sign(signer, "JWT", issue_id_token_claims(cfg, g))) == NULL)
		goto fail;
	if (g->refresh && t->refresh_token == NULL && issue_refresh_new(t) == -1)
		goto fail;
	if (!g->refresh) {
		issue_free_secret(&t->refresh_token);
		issue_free_secret(&t->refresh_hash);
	}
	return 0;
fail:
	log_err("could not mint the tokens for client %s", g->client_id);
	issue_tokens_clear(t);
	return -1;
}

/* The text parameters $1..$9 (access token) and $10..$15 (refresh token) of
 * the INSERT statements below; p->n is 9, or 15 with a refresh token. */
struct issue_params {
	const char	*v[15];
	char		 iat[24], exp[24], rexp[24], at[24];
	char		*ctx;
	int		 n;
};

static int
issue_params_fill(const struct issue_grant *g, const struct issue_tokens *t,
    struct issue_params *p)
{
	memset(p, 0, sizeof(*p));
	if (t->refresh_hash != NULL && g->family_id == NULL) {
		log_err("a refresh token needs a grant family");
		return -1;
	}
	if (g->launch_context != NULL &&
	    (p->ctx = cJSON_PrintUnformatted(g->launch_context)) == NULL) {
		log_err("out of memory");
		return -1;
	}
	snprintf(p->iat, sizeof(p->iat), "%lld", (long long)g->now);
	snprintf(p->exp, sizeof(p->exp), "%lld", (long long)g->now + g->lifetime);
	p->v[0] = t->jti;
	p->v[1] = g->family_id;
	p->v[2] = g->client_id;
	p->v[3] = g->user_id;
	p->v[4] = g->scope != NULL ? g->scope : "";
	p->v[5] = p->ctx;
	p->v[6] = p->iat;
	p->v[7] = p->exp;
	p->v[8] = g->session_hash;
	p->n = 9;
	if (t->refresh_hash != NULL) {
		snprintf(p->rexp, sizeof(p->rexp), "%lld", g->refresh_expires_at);
		snprintf(p->at, sizeof(p->at), "%lld", g->auth_time);
		p->v[9] = t->refresh_hash;
		p->v[10] = g->refresh_scope != NULL ? g->refresh_scope : p->v[4];
		p->v[11] = p->rexp;
		p->v[12] = g->online_only ? "true" : "false";
		p->v[13] = p->at;
		p->v[14] = g->refresh_nonce;
		p->n = 15;
	}
	return 0;
}

int
issue_record(const struct issue_grant *g, const struct issue_tokens *t)
{
	static const char access_sql[] =
	    "INSERT INTO smart.access_tokens (jti, family_id, client_id, user_id, scope, "
	    "launch_context, issued_at, expires_at, session_hash) "
	    "VALUES ($1, $2::uuid, $3, $4, $5, coalesce($6::jsonb, '{}'::jsonb), "
	    "to_timestamp($7::bigint), to_timestamp($8::bigint), $9)";
	/* Both rows in one statement: one round trip per grant instead of two. */
	static const char both_sql[] =
	    "WITH a AS (INSERT INTO smart.access_tokens (jti, family_id, client_id, user_id, "
	    "scope, launch_context, issued_at, expires_at, session_hash) "
	    "VALUES ($1, $2::uuid, $3, $4, $5, coalesce($6::jsonb, '{}'::jsonb), "
	    "to_timestamp($7::bigint), to_timestamp($8::bigint), $9) RETURNING 1) "
	    "INSERT INTO smart.refresh_tokens (token_hash, family_id, client_id, user_id, scope, "
	    "launch_context, issued_at, expires_at, session_hash, online_only, auth_time, nonce) "
	    "SELECT $10, $2::uuid, $3, $4, $11, coalesce($6::jsonb, '{}'::jsonb), "
	    "to_timestamp($7::bigint), to_timestamp($12::bigint), $9, $13::boolean, "
	    "to_timestamp(nullif($14::bigint, 0)), $15 FROM a";
	struct issue_params p;
	PGresult *res;

	if (issue_params_fill(g, t, &p) == -1)
		return -1;
	res = db_exec(p.n == 15 ? both_sql : access_sql, p.n, p.v);
	cJSON_free(p.ctx);
	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

/*
 * The statements of issue_commit.  Each is ONE statement run outside any
 * explicit transaction, so PostgreSQL runs it as one implicit transaction
 * committed at the protocol Sync: the consume, the token rows and the
 * audit row are written together or not at all, in one round trip.  Data-
 * modifying CTEs always run; every INSERT selects FROM c, the consume, so
 * it writes nothing when the consume matched no row (a concurrent request
 * won, or the grant stopped being live since it was read).
 *
 * The consume conditions repeat those of the grant's read (lib/grant.c):
 * READ COMMITTED re-checks them on the locked row, so of two concurrent
 * redemptions exactly one writes anything.
 */
#define ISSUE_ACCESS_COLS \
	"INSERT INTO smart.access_tokens (jti, family_id, client_id, user_id, scope, " \
	"launch_context, issued_at, expires_at, session_hash) " \
	"SELECT $1, $2::uuid, $3, $4, $5, coalesce($6::jsonb, '{}'::jsonb), " \
	"to_timestamp($7::bigint), to_timestamp($8::bigint), $9 "
#define ISSUE_REFRESH_COLS \
	"INSERT INTO smart.refresh_tokens (token_hash, family_id, client_id, user_id, scope, " \
	"launch_context, issued_at, expires_at, session_hash, online_only, auth_time, nonce) " \
	"SELECT $10, $2::uuid, $3, $4, $11, coalesce($6::jsonb, '{}'::jsonb), " \
	"to_timestamp($7::bigint), to_timestamp($12::bigint), $9, $13::boolean, " \
	"to_timestamp(nullif($14::bigint, 0)), $15 "
#define ISSUE_USER_ACTIVE(t) \
	"EXISTS (SELECT 1 FROM smart.users u WHERE u.id = " t ".user_id AND u.active)"

/* The assertion's jti (params J and J+1), recorded first; with it, the
 * consume also requires that the jti was new (j returned a row). */
#define ISSUE_JTI(J, U) \
	"j AS (INSERT INTO smart.jwt_ids (client_id, jti, expires_at) " \
	"VALUES ($3, " J ", to_timestamp(" U "::bigint)) ON CONFLICT DO NOTHING RETURNING 1), "
#define ISSUE_JTI_NEW	"AND EXISTS (SELECT 1 FROM j) "

/* After the consume c: the access token row, the successor refresh token
 * row (N: "n AS (...), " or ""), the audit row (event, address and detail
 * at $E, $E1, $E2), and the counts c, a, n (NC), e and j (JC). */
#define ISSUE_WRITES(N, NC, E, E1, E2, JC) \
    "a AS (" ISSUE_ACCESS_COLS "FROM c RETURNING 1), " N \
    "e AS (INSERT INTO smart.audit_events (event, outcome, user_id, client_id, address, detail) " \
    "SELECT " E "::text, 'success', $4, $3, " E1 "::text, " E2 "::jsonb FROM c RETURNING 1) " \
    "SELECT (SELECT count(*) FROM c), (SELECT count(*) FROM a), " NC ", " \
    "(SELECT count(*) FROM e), " JC
#define ISSUE_N		"n AS (" ISSUE_REFRESH_COLS "FROM c RETURNING 1), "
#define ISSUE_NC	"(SELECT count(*) FROM n)"
#define ISSUE_JC	"(SELECT count(*) FROM j)"

/* Rotation: the refresh token $16 of client $3 is consumed (used_at and
 * replaced_by = the successor's hash). */
#define ISSUE_REFRESH(JTI, NEW, JC) \
    "WITH " JTI "c AS (UPDATE smart.refresh_tokens r SET used_at = now(), replaced_by = $10 " \
    "WHERE " ISSUE_REFRESH_LIVE("$16", "$3") NEW "RETURNING 1), " \
    ISSUE_WRITES(ISSUE_N, ISSUE_NC, "$17", "$18", "$19", JC)
static const char issue_refresh_sql[] = ISSUE_REFRESH("", "", "0");
static const char issue_refresh_jti_sql[] =
    ISSUE_REFRESH(ISSUE_JTI("$20", "$21"), ISSUE_JTI_NEW, ISSUE_JC);

/* The authorization code $C of client $3 (used_at set). */
#define ISSUE_CODE_CONSUME(JTI, C, NEW) \
    "WITH " JTI "c AS (UPDATE smart.authorization_codes c SET used_at = now() " \
    "WHERE code_hash = " C " AND client_id = $3 AND used_at IS NULL " \
    "AND expires_at > now() AND " ISSUE_USER_ACTIVE("c") " " NEW "RETURNING 1), "

/* The code $16, with a refresh token. */
static const char issue_code_refresh_sql[] =
    ISSUE_CODE_CONSUME("", "$16", "") ISSUE_WRITES(ISSUE_N, ISSUE_NC, "$17", "$18", "$19", "0");
static const char issue_code_refresh_jti_sql[] =
    ISSUE_CODE_CONSUME(ISSUE_JTI("$20", "$21"), "$16", ISSUE_JTI_NEW)
    ISSUE_WRITES(ISSUE_N, ISSUE_NC, "$17", "$18", "$19", ISSUE_JC);

/* The code $10, no refresh token. */
static const char issue_code_sql[] =
    ISSUE_CODE_CONSUME("", "$10", "") ISSUE_WRITES("", "0", "$11", "$12", "$13", "0");
static const char issue_code_jti_sql[] =
    ISSUE_CODE_CONSUME(ISSUE_JTI("$14", "$15"), "$10", ISSUE_JTI_NEW)
    ISSUE_WRITES("", "0", "$11", "$12", "$13", ISSUE_JC);

/* client_credentials: nothing to consume (with an assertion: its new jti). */
static const char issue_plain_sql[] =
    "WITH c AS (SELECT 1), " ISSUE_WRITES("", "0", "$10", "$11", "$12", "0");
static const char issue_plain_jti_sql[] =
    "WITH " ISSUE_JTI("$13", "$14") "c AS (SELECT 1 FROM j), "
    ISSUE_WRITES("", "0", "$10", "$11", "$12", ISSUE_JC);

int
issue_commit(enum issue_consume kind, const char *consume_hash, const struct issue_grant *g,
    const struct issue_tokens *t, const char *event, const char *address, const char *detail,
    int *outcome)
{
	const char *v[21], *sql;
	struct issue_params p;
	PGresult *res;
	char until[24];
	int n, i, rc = -1, jti = g->assertion_jti != NULL;
	long c, a, r, e, j;

	*outcome = 0;
	if (issue_params_fill(g, t, &p) == -1)
		return -1;
	for (i = 0; i < p.n; i++)
		v[i] = p.v[i];
	n = p.n;
	if (kind == ISSUE_CONSUME_REFRESH && n != 15) {
		log_err("a rotation needs a successor refresh token");
		goto out;
	}
	if (kind != ISSUE_CONSUME_NONE) {
		if (consume_hash == NULL) {
			log_err("nothing to consume");
			goto out;
		}
		v[n++] = consume_hash;
	}
	v[n++] = event;
	v[n++] = address != NULL && *address != '\0' ? address : NULL;
	v[n++] = detail;
	if (jti) {
		snprintf(until, sizeof(until), "%lld", g->assertion_until);
		v[n++] = g->assertion_jti;
		v[n++] = until;
	}
	switch (kind) {
	case ISSUE_CONSUME_REFRESH:
		sql = jti ? issue_refresh_jti_sql : issue_refresh_sql;
		break;
	case ISSUE_CONSUME_CODE:
		if (p.n == 15)
			sql = jti ? issue_code_refresh_jti_sql : issue_code_refresh_sql;
		else
			sql = jti ? issue_code_jti_sql : issue_code_sql;
		break;
	default:
		if (p.n != 9) {
			log_err("client_credentials grants carry no refresh token");
			goto out;
		}
		sql = jti ? issue_plain_jti_sql : issue_plain_sql;
		break;
	}
	if ((res = db_exec(sql, n, v)) == NULL)
		goto out;
	c = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	a = strtol(PQgetvalue(res, 0, 1), NULL, 10);
	r = strtol(PQgetvalue(res, 0, 2), NULL, 10);
	e = strtol(PQgetvalue(res, 0, 3), NULL, 10);
	j = strtol(PQgetvalue(res, 0, 4), NULL, 10);
	PQclear(res);
	if (jti)
		*outcome |= j == 1 ? ISSUE_WROTE_JTI : ISSUE_JTI_REPLAYED;
	if (c == 1 && a == 1 && e == 1 && r == (p.n == 15 ? 1 : 0))
		*outcome |= ISSUE_WROTE_GRANT;
	else if (c != 0) {
		/* Cannot happen: every INSERT selects the one consumed row. */
		log_err("grant statement wrote %ld/%ld/%ld rows for %ld consumed", a, r, e, c);
		goto out;
	}
	rc = 0;
out:
	cJSON_free(p.ctx);
	return rc;
}

/* Copies the launch context members the contract defines, each only with
 * its contract type (App Launch 2.2 §5.6). */
static int
issue_add_context(cJSON *o, const cJSON *ctx)
{
	static const char *const strings[] = {
		"patient", "encounter", "smart_style_url", "intent", NULL
	};
	const cJSON *v, *e;
	cJSON *arr, *dup;
	size_t i;
	int b;

	if (!cJSON_IsObject(ctx))
		return 0;
	for (i = 0; strings[i] != NULL; i++)
		if (issue_add_str(o, strings[i], json_get_str(ctx, strings[i])) == -1)
			return -1;
	/* 2.1/2.2: an array of objects; anything else in it is left out. */
	if ((v = json_get_arr(ctx, "fhirContext")) != NULL) {
		if ((arr = cJSON_AddArrayToObject(o, "fhirContext")) == NULL)
			return -1;
		cJSON_ArrayForEach(e, v) {
			if (!cJSON_IsObject(e))
				continue;
			if ((dup = cJSON_Duplicate(e, 1)) == NULL)
				return -1;
			cJSON_AddItemToArray(arr, dup);
		}
	}
	if (json_get_bool(ctx, "need_patient_banner", &b) == 0 &&
	    cJSON_AddBoolToObject(o, "need_patient_banner", b) == NULL)
		return -1;
	return 0;
}

cJSON *
issue_response(const struct config *cfg, const struct issue_grant *g,
    const struct issue_tokens *t)
{
	cJSON *o;

	if ((o = cJSON_CreateObject()) == NULL)
		goto fail;
	if (issue_add_str(o, "access_token", t->access_token) == -1 ||
	    issue_add_str(o, "token_type", "Bearer") == -1 ||
	    issue_add_num(o, "expires_in", g->lifetime) == -1 ||
	    issue_add_str(o, "scope", g->scope != NULL ? g->scope : "") == -1 ||
	    issue_add_str(o, "refresh_token", t->refresh_token) == -1 ||
	    issue_add_str(o, "id_token", t->id_token) == -1 ||
	    issue_add_context(o, g->launch_context) == -1 ||
	    issue_add_str(o, "tenant", cfg->tenant) == -1)
		goto fail;
	return o;
fail:
	log_err("out of memory");
	cJSON_Delete(o);
	return NULL;
}

void
issue_tokens_clear(struct issue_tokens *t)
{
	if (t == NULL)
		return;
	issue_free_secret(&t->jti);
	issue_free_secret(&t->access_token);
	issue_free_secret(&t->id_token);
	issue_free_secret(&t->refresh_token);
	issue_free_secret(&t->refresh_hash);
}
