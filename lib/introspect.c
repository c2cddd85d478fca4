/*
 * introspect: RFC 7662 introspection.  See introspect.h.
 *
 * The active-access-token path is the hot one (resource servers call it
 * per request): verify the JWT in memory, then one indexed SELECT by jti
 * whose WHERE clause already applies every liveness rule, so a live token
 * costs exactly one round trip and a dead one the same.  The statement
 * also returns smart.config_version, which lets a caller remembered by
 * the memo below be trusted without a second round trip.
 *
 * Owns the memo (a fixed array of INTROSPECT_MEMO_SLOTS entries keyed by
 * crypto_process_mac of the credential, never the credential itself).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bearer.h"
#include "crypto.h"
#include "db.h"
#include "introspect.h"
#include "issue.h"
#include "json.h"
#include "jwt.h"
#include "log.h"

int
introspect_scope_grants(const char *scope)
{
	size_t n = strlen(INTROSPECT_SCOPE);
	const char *p = scope;

	while (p != NULL && *p != '\0') {
		while (*p == ' ')
			p++;
		if (strncmp(p, INTROSPECT_SCOPE, n) == 0 && (p[n] == ' ' || p[n] == '\0'))
			return 1;
		p = strchr(p, ' ');
	}
	return 0;
}

cJSON *
introspect_inactive(void)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL || cJSON_AddFalseToObject(o, "active") == NULL) {
		log_err("out of memory");
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static int
introspect_add_str(cJSON *o, const char *name, const char *s)
{
	if (s == NULL)
		return 0;
	return cJSON_AddStringToObject(o, name, s) != NULL ? 0 : -1;
}

cJSON *
introspect_active(const struct config *cfg, const struct introspect_row *row)
{
	const cJSON *ctx = row->launch_context, *v, *e;
	cJSON *o, *arr, *dup;
	char *fhir_user = NULL;

	if ((o = cJSON_CreateObject()) == NULL)
		goto fail;
	/* RFC 7662 §2.2 members, then SMART 2.2 §5.9's launch context. */
	if (cJSON_AddTrueToObject(o, "active") == NULL ||
	    introspect_add_str(o, "scope", row->scope != NULL ? row->scope : "") == -1 ||
	    introspect_add_str(o, "client_id", row->client_id) == -1 ||
	    cJSON_AddNumberToObject(o, "exp", (double)row->exp) == NULL ||
	    cJSON_AddNumberToObject(o, "iat", (double)row->iat) == NULL ||
	    introspect_add_str(o, "sub",
	    row->user_id != NULL ? row->user_id : row->client_id) == -1 ||
	    introspect_add_str(o, "iss", cfg->fhir_base) == -1 ||
	    introspect_add_str(o, "aud", cfg->fhir_base) == -1 ||
	    introspect_add_str(o, "token_type", row->access ? "Bearer" : "refresh_token") == -1)
		goto fail;
	if (introspect_add_str(o, "patient", json_get_str(ctx, "patient")) == -1 ||
	    introspect_add_str(o, "encounter", json_get_str(ctx, "encounter")) == -1)
		goto fail;
	if ((v = json_get_arr(ctx, "fhirContext")) != NULL) {
		if ((arr = cJSON_AddArrayToObject(o, "fhirContext")) == NULL)
			goto fail;
		cJSON_ArrayForEach(e, v) {
			if (!cJSON_IsObject(e))
				continue;
			if ((dup = cJSON_Duplicate(e, 1)) == NULL)
				goto fail;
			cJSON_AddItemToArray(arr, dup);
		}
	}
	/* The same absolute URL the id_token and access token carry. */
	if ((fhir_user = issue_fhir_user_url(cfg, json_get_str(ctx, "fhirUser"))) != NULL &&
	    cJSON_AddStringToObject(o, "fhirUser", fhir_user) == NULL)
		goto fail;
	free(fhir_user);
	return o;
fail:
	log_err("out of memory");
	free(fhir_user);
	cJSON_Delete(o);
	return NULL;
}

/* Columns both lookups return, in this order (token columns NULL when none). */
enum { I_VERSION, I_CLIENT, I_USER, I_SCOPE, I_CONTEXT, I_IAT, I_EXP };

/*
 * Builds the answer from a one-row result (or none), applying the
 * caller's rights.  jwt_claims, when not NULL, must agree with the row.
 */
static int
introspect_answer(const struct config *cfg, const struct introspect_caller *caller,
    PGresult *res, int access, const cJSON *jwt_claims, cJSON **out, long long *version)
{
	struct introspect_row row;
	const char *lc, *sub;
	cJSON *ctx = NULL;

	*version = PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, I_VERSION), NULL, 10) : -1;
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, I_CLIENT)) {
		*out = introspect_inactive();
		return *out != NULL ? 0 : -1;
	}
	memset(&row, 0, sizeof(row));
	row.access = access;
	row.client_id = PQgetvalue(res, 0, I_CLIENT);
	row.user_id = PQgetisnull(res, 0, I_USER) ? NULL : PQgetvalue(res, 0, I_USER);
	row.scope = PQgetvalue(res, 0, I_SCOPE);
	row.iat = strtoll(PQgetvalue(res, 0, I_IAT), NULL, 10);
	row.exp = strtoll(PQgetvalue(res, 0, I_EXP), NULL, 10);
	/* RFC 7662 §2.2: a token the caller may not see is just inactive. */
	if (!caller->any_client && strcmp(row.client_id, caller->client_id) != 0) {
		log_info("introspection: client %s asked about another client's token",
		    caller->client_id);
		*out = introspect_inactive();
		return *out != NULL ? 0 : -1;
	}
	if (jwt_claims != NULL) {
		sub = json_get_str(jwt_claims, "sub");
		if (strcmp(row.client_id, json_get_str(jwt_claims, "client_id")) != 0 ||
		    sub == NULL || strcmp(sub, row.user_id != NULL ? row.user_id : row.client_id) != 0) {
			log_warn("introspection: token claims disagree with its record (client %s)",
			    row.client_id);
			*out = introspect_inactive();
			return *out != NULL ? 0 : -1;
		}
	}
	lc = PQgetvalue(res, 0, I_CONTEXT);
	if ((ctx = json_parse_strict(lc, strlen(lc), NULL)) == NULL || !cJSON_IsObject(ctx)) {
		log_err("introspection: stored launch context is not a JSON object (client %s)",
		    row.client_id);
		cJSON_Delete(ctx);
		ctx = NULL;
	}
	row.launch_context = ctx;
	*out = introspect_active(cfg, &row);
	cJSON_Delete(ctx);
	return *out != NULL ? 0 : -1;
}

static const char introspect_access_sql[] =
    "SELECT v.version, t.client_id, t.user_id, t.scope, t.launch_context::text, "
    "extract(epoch FROM t.issued_at)::bigint, extract(epoch FROM t.expires_at)::bigint "
    "FROM smart.config_version v LEFT JOIN (smart.access_tokens t "
    "JOIN smart.clients c ON c.id = t.client_id AND c.active "
    "LEFT JOIN smart.users u ON u.id = t.user_id) "
    "ON t.jti = $1 AND t.revoked_at IS NULL AND t.expires_at > now() "
    "AND coalesce(u.active, t.user_id IS NULL) "
    "WHERE v.id = 1";

static const char introspect_refresh_sql[] =
    "SELECT v.version, r.client_id, r.user_id, r.scope, r.launch_context::text, "
    "extract(epoch FROM r.issued_at)::bigint, extract(epoch FROM r.expires_at)::bigint "
    "FROM smart.config_version v LEFT JOIN (smart.refresh_tokens r "
    "JOIN smart.clients c ON c.id = r.client_id AND c.active "
    "LEFT JOIN smart.users u ON u.id = r.user_id) "
    "ON r.token_hash = $1 AND r.used_at IS NULL AND r.revoked_at IS NULL "
    "AND r.expires_at > now() AND coalesce(u.active, r.user_id IS NULL) "
    "AND (NOT r.online_only OR EXISTS (SELECT 1 FROM smart.sessions s "
    "WHERE s.session_hash = r.session_hash AND s.revoked_at IS NULL "
    "AND s.expires_at > now())) "
    "WHERE v.id = 1";

int
introspect_prepare(const struct config *cfg, const struct jwk_set *keys, const char *token,
    time_t now, struct introspect_pending *pd)
{
	struct bearer_pending bp;
	size_t len = token != NULL ? strlen(token) : 0;
	char *authz;

	memset(pd, 0, sizeof(*pd));
	pd->params[0] = "";	/* matches no row: the version is still read */
	/*
	 * The token's shape tells the kinds apart (a JWS has two dots, our
	 * refresh tokens are 43 base64url characters), so token_type_hint is
	 * not needed (RFC 7662 §2.1: the server may ignore it).
	 */
	if (len > 0 && len <= JWT_MAX_LEN && strchr(token, '.') != NULL) {
		pd->access = 1;
		/*
		 * lib/bearer's offline check, with its memory of verified
		 * signatures: a token introspected again skips the RSA work.
		 * Not ours, malformed or expired by its own exp: no row.
		 */
		if (asprintf(&authz, "Bearer %s", token) < 0) {
			log_err("out of memory");
			return -1;
		}
		if (bearer_check_offline(authz, keys, cfg->fhir_base, now, &bp) == BEARER_OK) {
			pd->claims = bp.claims;
			pd->params[0] = json_get_str(pd->claims, "jti");
		}
		free(authz);
		return 0;
	}
	if (len == CRYPTO_TOKEN_LEN && strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_") == len) {
		if ((pd->hash = crypto_sha256_hex(token)) == NULL) {
			log_err("out of memory");
			return -1;
		}
		pd->params[0] = pd->hash;
	}
	return 0;
}

void
introspect_stmt(struct introspect_pending *pd, struct db_stmt *s)
{
	s->sql = pd->access ? introspect_access_sql : introspect_refresh_sql;
	s->nparams = 1;
	s->params = pd->params;
	s->res = NULL;
}

int
introspect_result(const struct config *cfg, const struct introspect_caller *caller,
    struct introspect_pending *pd, PGresult *res, cJSON **out, long long *config_version)
{
	*out = NULL;
	*config_version = -1;
	if (res == NULL)
		return -1;
	return introspect_answer(cfg, caller, res, pd->access, pd->claims, out, config_version);
}

void
introspect_pending_clear(struct introspect_pending *pd)
{
	if (pd == NULL)
		return;
	cJSON_Delete(pd->claims);
	free(pd->hash);
	memset(pd, 0, sizeof(*pd));
}

int
introspect_token(const struct config *cfg, const struct jwk_set *keys,
    const struct introspect_caller *caller, const char *token, time_t now, cJSON **out,
    long long *config_version)
{
	struct introspect_pending pd;
	struct db_stmt s;
	PGresult *res;
	int rc;

	*out = NULL;
	*config_version = -1;
	if (introspect_prepare(cfg, keys, token, now, &pd) == -1)
		return -1;
	introspect_stmt(&pd, &s);
	res = db_exec(s.sql, s.nparams, s.params);
	rc = introspect_result(cfg, caller, &pd, res, out, config_version);
	PQclear(res);
	introspect_pending_clear(&pd);
	return rc;
}

int
introspect_config_version(long long *v)
{
	static const char sql[] = "SELECT version FROM smart.config_version WHERE id = 1";
	PGresult *res;

	if ((res = db_exec(sql, 0, NULL)) == NULL)
		return -1;
	*v = PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : -1;
	PQclear(res);
	return 0;
}

/* ---- the memo of secret-authenticated callers ------------------------ */

#define INTROSPECT_MEMO_SLOTS	8

struct introspect_memo {
	int		 used;
	unsigned char	 mac[32];	/* crypto_process_mac(credential) */
	char		*client_id;
	int		 any_client;
	long long	 version;
	time_t		 until;
};

static struct introspect_memo memo[INTROSPECT_MEMO_SLOTS];
static size_t memo_next;

static struct introspect_memo *
introspect_memo_find(const unsigned char mac[32])
{
	size_t i;

	for (i = 0; i < INTROSPECT_MEMO_SLOTS; i++)
		if (memo[i].used && crypto_ct_equal(memo[i].mac, mac, 32))
			return &memo[i];
	return NULL;
}

static void
introspect_memo_clear(struct introspect_memo *m)
{
	free(m->client_id);
	crypto_wipe(m, sizeof(*m));
}

int
introspect_memo_get(const char *credential, size_t len, time_t now,
    struct introspect_caller *caller, long long *version)
{
	unsigned char mac[32];
	struct introspect_memo *m;

	if (credential == NULL || crypto_process_mac(credential, len, mac) == -1 ||
	    (m = introspect_memo_find(mac)) == NULL)
		return 0;
	if (now >= m->until || now < m->until - INTROSPECT_MEMO_TTL) {
		introspect_memo_clear(m);
		return 0;
	}
	caller->client_id = m->client_id;
	caller->any_client = m->any_client;
	*version = m->version;
	return 1;
}

void
introspect_memo_put(const char *credential, size_t len, time_t now,
    const struct introspect_caller *caller, long long version)
{
	unsigned char mac[32];
	struct introspect_memo *m;
	char *id;

	if (credential == NULL || version < 0 || crypto_process_mac(credential, len, mac) == -1 ||
	    (id = strdup(caller->client_id)) == NULL)
		return;
	if ((m = introspect_memo_find(mac)) == NULL) {
		m = &memo[memo_next];
		memo_next = (memo_next + 1) % INTROSPECT_MEMO_SLOTS;
	}
	introspect_memo_clear(m);
	m->used = 1;
	memcpy(m->mac, mac, sizeof(mac));
	m->client_id = id;
	m->any_client = caller->any_client;
	m->version = version;
	m->until = now + INTROSPECT_MEMO_TTL;
}

void
introspect_memo_forget(const char *credential, size_t len)
{
	unsigned char mac[32];
	struct introspect_memo *m;

	if (credential != NULL && crypto_process_mac(credential, len, mac) == 0 &&
	    (m = introspect_memo_find(mac)) != NULL)
		introspect_memo_clear(m);
}
