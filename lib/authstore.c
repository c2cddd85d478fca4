/*
 * authstore: authorization-endpoint state in PostgreSQL.  See authstore.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authstore.h"
#include "buf.h"
#include "db.h"
#include "json.h"
#include "log.h"

/* Owned copy of a column, NULL for SQL NULL; *oom set when strdup failed. */
static char *
col(PGresult *res, int row, int c, int *oom)
{
	char *s;

	if (PQgetisnull(res, row, c))
		return NULL;
	if ((s = strdup(PQgetvalue(res, row, c))) == NULL)
		*oom = 1;
	return s;
}

/* ---- authorization requests ---- */

int
authstore_req_create(const struct authstore_req *r)
{
	static const char sql[] =
	    "INSERT INTO smart.authorize_requests (request_hash, client_id, redirect_uri, scope, "
	    "state, nonce, aud, code_challenge, code_challenge_method, launch_hash, csrf_hash, "
	    "params, expires_at, patient_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
	    "$12::jsonb, now() + make_interval(secs => $13::int), $14)";
	char life[16], *params_json;
	const char *p[14];
	int rc;

	if ((params_json = json_print(r->params)) == NULL)
		return -1;
	snprintf(life, sizeof(life), "%d", AUTHSTORE_REQUEST_LIFETIME);
	p[0] = r->hash;
	p[1] = r->client_id;
	p[2] = r->redirect_uri;
	p[3] = r->scope != NULL ? r->scope : "";
	p[4] = r->state;
	p[5] = r->nonce;
	p[6] = r->aud;
	p[7] = r->code_challenge;
	p[8] = r->code_challenge_method;
	p[9] = r->launch_hash;
	p[10] = r->csrf_hash;
	p[11] = params_json;
	p[12] = life;
	p[13] = r->patient_id;
	rc = db_exec_cmd(sql, 14, p);
	free(params_json);
	return rc;
}

int
authstore_req_load(const char *hash, struct authstore_req *out)
{
	static const char sql[] =
	    "SELECT client_id, redirect_uri, scope, state, nonce, aud, code_challenge, "
	    "code_challenge_method, launch_hash, csrf_hash, session_hash, user_id, patient_id, "
	    "granted_scope, params::text, completed_at IS NOT NULL, expires_at <= now() "
	    "FROM smart.authorize_requests WHERE request_hash = $1";
	const char *p[1] = { hash };
	PGresult *res;
	const char *why;
	int oom = 0, rc;

	memset(out, 0, sizeof(*out));
	if ((rc = db_exec_fetch(sql, 1, p, &res)) != 1)
		return rc;
	out->hash = strdup(hash);
	out->client_id = col(res, 0, 0, &oom);
	out->redirect_uri = col(res, 0, 1, &oom);
	out->scope = col(res, 0, 2, &oom);
	out->state = col(res, 0, 3, &oom);
	out->nonce = col(res, 0, 4, &oom);
	out->aud = col(res, 0, 5, &oom);
	out->code_challenge = col(res, 0, 6, &oom);
	out->code_challenge_method = col(res, 0, 7, &oom);
	out->launch_hash = col(res, 0, 8, &oom);
	out->csrf_hash = col(res, 0, 9, &oom);
	out->session_hash = col(res, 0, 10, &oom);
	out->user_id = col(res, 0, 11, &oom);
	out->patient_id = col(res, 0, 12, &oom);
	out->granted_scope = col(res, 0, 13, &oom);
	out->params = json_parse_strict(PQgetvalue(res, 0, 14), strlen(PQgetvalue(res, 0, 14)), &why);
	out->completed = strcmp(PQgetvalue(res, 0, 15), "t") == 0;
	out->expired = strcmp(PQgetvalue(res, 0, 16), "t") == 0;
	if (oom || out->hash == NULL || !cJSON_IsObject(out->params)) {
		log_err("could not load an authorization request");
		authstore_req_clear(out);
		rc = -1;
	}
	PQclear(res);
	return rc;
}

int
authstore_req_save(const struct authstore_req *r)
{
	static const char sql[] =
	    "UPDATE smart.authorize_requests SET csrf_hash = $2, session_hash = $3, user_id = $4, "
	    "patient_id = $5, granted_scope = $6, params = $7::jsonb "
	    "WHERE request_hash = $1 AND completed_at IS NULL RETURNING 1";
	const char *p[7];
	char *params_json;
	int rc;

	if ((params_json = json_print(r->params)) == NULL)
		return -1;
	p[0] = r->hash;
	p[1] = r->csrf_hash;
	p[2] = r->session_hash;
	p[3] = r->user_id;
	p[4] = r->patient_id;
	p[5] = r->granted_scope;
	p[6] = params_json;
	rc = db_exec_row(sql, 7, p);
	free(params_json);
	return rc;
}

int
authstore_req_finish(const char *hash)
{
	static const char sql[] =
	    "UPDATE smart.authorize_requests SET completed_at = now() "
	    "WHERE request_hash = $1 AND completed_at IS NULL RETURNING 1";
	const char *p[1] = { hash };

	return db_exec_row(sql, 1, p);
}

void
authstore_req_clear(struct authstore_req *r)
{
	if (r == NULL)
		return;
	free(r->hash);
	free(r->client_id);
	free(r->redirect_uri);
	free(r->scope);
	free(r->state);
	free(r->nonce);
	free(r->aud);
	free(r->code_challenge);
	free(r->code_challenge_method);
	free(r->launch_hash);
	free(r->csrf_hash);
	free(r->session_hash);
	free(r->user_id);
	free(r->patient_id);
	free(r->granted_scope);
	cJSON_Delete(r->params);
	memset(r, 0, sizeof(*r));
}

/* ---- EHR launch ---- */

int
authstore_launch_consume(const char *launch_hash, const char *client_id, char **user_id,
    cJSON **context)
{
	/* Single use: the check and the mark are one statement. */
	static const char sql[] =
	    "UPDATE smart.launch_contexts SET used_at = now() "
	    "WHERE launch_hash = $1 AND client_id = $2 AND used_at IS NULL AND expires_at > now() "
	    "RETURNING user_id, context::text";
	const char *p[2] = { launch_hash, client_id };
	PGresult *res;
	const char *why;
	int oom = 0, rc;

	*user_id = NULL;
	*context = NULL;
	if ((rc = db_exec_fetch(sql, 2, p, &res)) != 1)
		return rc;
	*user_id = col(res, 0, 0, &oom);
	*context = json_parse_strict(PQgetvalue(res, 0, 1), strlen(PQgetvalue(res, 0, 1)), &why);
	if (oom || !cJSON_IsObject(*context)) {
		log_err("could not read a launch context");
		free(*user_id);
		cJSON_Delete(*context);
		*user_id = NULL;
		*context = NULL;
		rc = -1;
	}
	PQclear(res);
	return rc;
}

/* ---- users, patients, encounters ---- */

int
authstore_user_load(const char *id, struct authstore_user *out)
{
	static const char sql[] =
	    "SELECT u.id, coalesce(nullif(u.resource #>> '{name,formatted}', ''), "
	    " nullif(btrim(concat_ws(' ', u.resource #>> '{name,givenName}', "
	    "  u.resource #>> '{name,familyName}')), ''), u.id), u.fhir_user, "
	    " coalesce((SELECT r.links #>> '{patient,id}' FROM smart.roles r "
	    "  WHERE r.user_id = u.id AND r.name = 'patient' AND r.links #>> '{patient,id}' <> '' "
	    "  ORDER BY r.id LIMIT 1), substring(u.fhir_user FROM '^Patient/(.+)$')) "
	    "FROM smart.users u WHERE u.id = $1 AND u.active";
	const char *p[1] = { id };
	PGresult *res;
	int oom = 0, rc;

	memset(out, 0, sizeof(*out));
	if ((rc = db_exec_fetch(sql, 1, p, &res)) != 1)
		return rc;
	out->id = col(res, 0, 0, &oom);
	out->name = col(res, 0, 1, &oom);
	out->fhir_user = col(res, 0, 2, &oom);
	out->patient_id = col(res, 0, 3, &oom);
	if (oom) {
		log_err("out of memory");
		authstore_user_clear(out);
		rc = -1;
	}
	PQclear(res);
	return rc;
}

void
authstore_user_clear(struct authstore_user *u)
{
	if (u == NULL)
		return;
	free(u->id);
	free(u->name);
	free(u->fhir_user);
	free(u->patient_id);
	memset(u, 0, sizeof(*u));
}

void
authstore_item_clear(struct authstore_item *it)
{
	if (it == NULL)
		return;
	free(it->id);
	free(it->label);
	free(it->date);
	memset(it, 0, sizeof(*it));
}

void
authstore_list_clear(struct authstore_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		authstore_item_clear(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Fills a list from rows of (id, label, date, total). */
static int
authstore_list_fill(PGresult *res, struct authstore_list *out)
{
	int i, n = PQntuples(res), oom = 0;

	memset(out, 0, sizeof(*out));
	if (n == 0)
		return 0;
	if ((out->v = calloc((size_t)n, sizeof(*out->v))) == NULL) {
		log_err("out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		out->v[i].id = col(res, i, 0, &oom);
		out->v[i].label = col(res, i, 1, &oom);
		out->v[i].date = col(res, i, 2, &oom);
		out->n++;
	}
	out->total = strtol(PQgetvalue(res, 0, 3), NULL, 10);
	if (oom) {
		log_err("out of memory");
		authstore_list_clear(out);
		return -1;
	}
	return 0;
}

#define AUTHSTORE_PATIENT_LABEL \
	"coalesce(nullif(resource #>> '{name,0,text}', ''), " \
	" nullif(btrim(concat_ws(' ', CASE WHEN jsonb_typeof(resource #> '{name,0,given}') = 'array' " \
	"  THEN (SELECT string_agg(g, ' ') FROM jsonb_array_elements_text(resource #> '{name,0,given}') g) END, " \
	"  resource #>> '{name,0,family}')), ''), id)"

int
authstore_patients(const char *q, size_t limit, struct authstore_list *out)
{
	static const char sql[] =
	    "SELECT id, label, date, count(*) OVER () FROM ("
	    " SELECT id, " AUTHSTORE_PATIENT_LABEL " AS label, "
	    "  coalesce(resource ->> 'birthDate', '') AS date "
	    " FROM smart.fhir_resources WHERE resource_type = 'Patient' AND NOT deleted) p "
	    "WHERE $1 = '' OR p.id ILIKE $1 ESCAPE '\\' OR p.label ILIKE $1 ESCAPE '\\' "
	    "ORDER BY lower(p.label), p.id LIMIT $2::int";
	struct buf pat = { 0 };
	char lim[24];
	const char *p[2];
	PGresult *res;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (q != NULL && *q != '\0') {
		buf_puts(&pat, "%");
		for (; *q != '\0'; q++) {
			if (*q == '%' || *q == '_' || *q == '\\')
				buf_puts(&pat, "\\");
			buf_append(&pat, q, 1);
		}
		buf_puts(&pat, "%");
	} else
		buf_puts(&pat, "");
	if (pat.failed)
		goto out;
	snprintf(lim, sizeof(lim), "%zu", limit);
	p[0] = pat.data != NULL ? pat.data : "";
	p[1] = lim;
	if ((res = db_exec(sql, 2, p)) == NULL)
		goto out;
	rc = authstore_list_fill(res, out);
	PQclear(res);
out:
	buf_free(&pat);
	return rc;
}

int
authstore_patient_get(const char *id, struct authstore_item *out)
{
	static const char sql[] =
	    "SELECT id, " AUTHSTORE_PATIENT_LABEL ", coalesce(resource ->> 'birthDate', '') "
	    "FROM smart.fhir_resources WHERE resource_type = 'Patient' AND id = $1 AND NOT deleted";
	const char *p[1] = { id };
	PGresult *res;
	int oom = 0, rc;

	memset(out, 0, sizeof(*out));
	if ((rc = db_exec_fetch(sql, 1, p, &res)) != 1)
		return rc;
	out->id = col(res, 0, 0, &oom);
	out->label = col(res, 0, 1, &oom);
	out->date = col(res, 0, 2, &oom);
	if (oom) {
		authstore_item_clear(out);
		rc = -1;
	}
	PQclear(res);
	return rc;
}

int
authstore_encounters(const char *patient_id, size_t limit, struct authstore_list *out)
{
	static const char sql[] =
	    "SELECT id, coalesce(nullif(concat_ws(', ', nullif(coalesce(resource #>> '{type,0,text}', "
	    "  resource #>> '{type,0,coding,0,display}', resource #>> '{class,display}', "
	    "  resource #>> '{class,code}'), ''), nullif(resource ->> 'status', '')), ''), id), "
	    " coalesce(left(resource #>> '{period,start}', 10), ''), count(*) OVER () "
	    "FROM smart.fhir_resources WHERE resource_type = 'Encounter' AND NOT deleted "
	    "AND patient_id = $1 ORDER BY resource #>> '{period,start}' DESC NULLS LAST, id "
	    "LIMIT $2::int";
	char lim[24];
	const char *p[2];
	PGresult *res;
	int rc;

	memset(out, 0, sizeof(*out));
	snprintf(lim, sizeof(lim), "%zu", limit);
	p[0] = patient_id;
	p[1] = lim;
	if ((res = db_exec(sql, 2, p)) == NULL)
		return -1;
	rc = authstore_list_fill(res, out);
	PQclear(res);
	return rc;
}

int
authstore_encounter_of(const char *encounter_id, const char *patient_id)
{
	static const char sql[] =
	    "SELECT 1 FROM smart.fhir_resources WHERE resource_type = 'Encounter' AND id = $1 "
	    "AND NOT deleted AND patient_id = $2";
	const char *p[2] = { encounter_id, patient_id };

	return db_exec_row(sql, 2, p);
}

/* ---- consents ---- */

int
authstore_consent_get(const char *user_id, const char *client_id, char **scopes)
{
	static const char sql[] =
	    "SELECT array_to_string(scopes, ' ') FROM smart.consents "
	    "WHERE user_id = $1 AND client_id = $2 AND revoked_at IS NULL";
	const char *p[2] = { user_id, client_id };
	PGresult *res;
	int oom = 0, rc;

	*scopes = NULL;
	if ((rc = db_exec_fetch(sql, 2, p, &res)) != 1)
		return rc;
	if ((*scopes = col(res, 0, 0, &oom)) == NULL || oom)
		rc = -1;
	PQclear(res);
	return rc;
}

int
authstore_consent_save(const char *user_id, const char *client_id, const char *scopes)
{
	static const char sql[] =
	    "INSERT INTO smart.consents AS c (user_id, client_id, scopes) "
	    "VALUES ($1, $2, string_to_array($3, ' ')) "
	    "ON CONFLICT (user_id, client_id) DO UPDATE SET "
	    " scopes = CASE WHEN c.revoked_at IS NULL "
	    "  THEN ARRAY(SELECT DISTINCT unnest(c.scopes || EXCLUDED.scopes) ORDER BY 1) "
	    "  ELSE EXCLUDED.scopes END, "
	    " granted_at = CASE WHEN c.revoked_at IS NULL THEN c.granted_at ELSE now() END, "
	    " updated_at = now(), revoked_at = NULL";
	const char *p[3] = { user_id, client_id, scopes };

	return db_exec_cmd(sql, 3, p);
}

int
authstore_consent_revoke(const char *user_id, const char *client_id)
{
	static const char sql[] =
	    "UPDATE smart.consents SET revoked_at = now(), updated_at = now() "
	    "WHERE user_id = $1 AND client_id = $2 AND revoked_at IS NULL RETURNING 1";
	const char *p[2] = { user_id, client_id };

	return db_exec_row(sql, 2, p);
}

int
authstore_consents_list(const char *user_id, struct authstore_consents *out)
{
	static const char sql[] =
	    "SELECT c.client_id, coalesce(nullif(cl.resource ->> 'name', ''), c.client_id), "
	    " array_to_string(c.scopes, ' '), "
	    " to_char(c.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC' "
	    "FROM smart.consents c JOIN smart.clients cl ON cl.id = c.client_id "
	    "WHERE c.user_id = $1 AND c.revoked_at IS NULL ORDER BY 2, 1 LIMIT 200";
	const char *p[1] = { user_id };
	PGresult *res;
	int i, n, oom = 0;

	memset(out, 0, sizeof(*out));
	if ((res = db_exec(sql, 1, p)) == NULL)
		return -1;
	n = PQntuples(res);
	if (n > 0 && (out->v = calloc((size_t)n, sizeof(*out->v))) == NULL)
		oom = 1;
	for (i = 0; !oom && i < n; i++) {
		out->v[i].client_id = col(res, i, 0, &oom);
		out->v[i].client_name = col(res, i, 1, &oom);
		out->v[i].scopes = col(res, i, 2, &oom);
		out->v[i].updated_at = col(res, i, 3, &oom);
		out->n++;
	}
	PQclear(res);
	if (oom) {
		log_err("out of memory");
		authstore_consents_clear(out);
		return -1;
	}
	return 0;
}

void
authstore_consents_clear(struct authstore_consents *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++) {
		free(c->v[i].client_id);
		free(c->v[i].client_name);
		free(c->v[i].scopes);
		free(c->v[i].updated_at);
	}
	free(c->v);
	memset(c, 0, sizeof(*c));
}

/* ---- codes ---- */

int
authstore_code_issue(const char *request_hash, const struct authstore_code *c,
    const char *code_hash)
{
	static const char done_sql[] =
	    "UPDATE smart.authorize_requests SET completed_at = now(), granted_scope = $2 "
	    "WHERE request_hash = $1 AND completed_at IS NULL AND expires_at > now() RETURNING 1";
	static const char code_sql[] =
	    "INSERT INTO smart.authorization_codes (code_hash, client_id, user_id, redirect_uri, "
	    "scope, launch_context, nonce, code_challenge, code_challenge_method, auth_time, "
	    "expires_at, session_hash, online_only) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, "
	    "$9, (SELECT auth_time FROM smart.sessions WHERE session_hash = $10), "
	    "now() + make_interval(secs => $11::int), $10, $12::boolean)";
	char life[24];
	const char *p[12];
	PGresult *res = NULL;
	int rc = -1;

	if (db_begin() == -1)
		return -1;
	p[0] = request_hash;
	p[1] = c->scope;
	if ((res = db_exec(done_sql, 2, p)) == NULL)
		goto out;
	if (PQntuples(res) != 1) {
		rc = 0;
		goto out;
	}
	PQclear(res);
	snprintf(life, sizeof(life), "%ld", c->lifetime);
	p[0] = code_hash;
	p[1] = c->client_id;
	p[2] = c->user_id;
	p[3] = c->redirect_uri;
	p[4] = c->scope;
	p[5] = c->launch_context;
	p[6] = c->nonce;
	p[7] = c->code_challenge;
	p[8] = c->code_challenge_method;
	p[9] = c->session_hash;
	p[10] = life;
	p[11] = c->online_only ? "true" : "false";
	if ((res = db_exec(code_sql, 12, p)) == NULL)
		goto out;
	if (db_commit() == -1)
		goto out;
	rc = 1;
out:
	PQclear(res);
	if (rc != 1)
		db_rollback();
	return rc;
}
