/*
 * store: the built-in FHIR store.  See store.h.
 *
 * The SQL below is assembled from macros at compile time only; each
 * statement is one static string, so lib/db can prepare it by address.
 * Aliases inside the macros carry an fs_ prefix so they never capture a
 * column of the statement around them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "db.h"
#include "log.h"
#include "store.h"

/* ------------------------------------------------------------------ */
/* SQL building blocks                                                 */

/* The patient a resource is about: the generated column of sql/003. */
#define ST_PATIENT_OF(T, I, R) \
	"(CASE WHEN " T " = 'Patient' THEN " I " ELSE substring(coalesce(" \
	R " #>> '{subject,reference}', " R " #>> '{patient,reference}', " \
	R " #>> '{beneficiary,reference}') FROM '^Patient/([A-Za-z0-9.-]{1,64})$') END)"

/*
 * FROM item giving fs_r.lo, fs_r.hi: the range [lo, hi) of jsonb value V
 * (a date string, or a Period whose missing ends are open), both NULL when
 * V is not a valid date.  A function (sql/007) rather than the expression
 * itself: PostgreSQL builds every expression of a statement on each run,
 * the branches that never run included, and this one appears up to three
 * times in a search; the function is built only when a date is compared.
 */
#define ST_DATE_RANGE(V) "smart.fs_date_range(" V ") fs_r"

/* R4 §3.1.1.5.6: the search range [sl, sh) against the value [lo, hi). */
#define ST_SL "(fs_q ->> 'lo')::timestamptz"
#define ST_SH "(fs_q ->> 'hi')::timestamptz"
#define ST_DATE_MATCH \
	"fs_r.lo IS NOT NULL AND fs_r.hi IS NOT NULL AND CASE fs_q ->> 'o'" \
	" WHEN 'eq' THEN fs_r.lo >= " ST_SL " AND fs_r.hi <= " ST_SH \
	" WHEN 'ne' THEN NOT (fs_r.lo >= " ST_SL " AND fs_r.hi <= " ST_SH ")" \
	" WHEN 'gt' THEN fs_r.hi > " ST_SH \
	" WHEN 'lt' THEN fs_r.lo < " ST_SL \
	" WHEN 'ge' THEN fs_r.hi > " ST_SH " OR (fs_r.lo >= " ST_SL " AND fs_r.hi <= " ST_SH ")" \
	" WHEN 'le' THEN fs_r.lo < " ST_SL " OR (fs_r.lo >= " ST_SL " AND fs_r.hi <= " ST_SH ")" \
	" WHEN 'sa' THEN fs_r.lo >= " ST_SH \
	" WHEN 'eb' THEN fs_r.hi <= " ST_SL \
	" WHEN 'ap' THEN fs_r.lo < " ST_SH " AND fs_r.hi > " ST_SL \
	" ELSE false END"

/* (system, code) pairs of a code, Coding, CodeableConcept or Identifier. */
#define ST_TOKENS(V) \
	"(SELECT NULL::text AS sy, " V " #>> '{}' AS co WHERE jsonb_typeof(" V ") IN ('string', 'boolean', 'number')" \
	" UNION ALL SELECT " V " ->> 'system', coalesce(" V " ->> 'code', " V " ->> 'value')" \
	" WHERE jsonb_typeof(" V ") = 'object' AND NOT " V " ? 'coding'" \
	" UNION ALL SELECT fs_e ->> 'system', fs_e ->> 'code' FROM jsonb_array_elements(CASE WHEN" \
	" jsonb_typeof(" V " -> 'coding') = 'array' THEN " V " -> 'coding' ELSE '[]'::jsonb END) fs_e) fs_t"
#define ST_TOKEN_MATCH \
	"(NOT fs_q ? 'c' OR fs_t.co = fs_q ->> 'c') AND (NOT fs_q ? 's' OR CASE WHEN" \
	" jsonb_typeof(fs_q -> 's') = 'null' THEN fs_t.sy IS NULL ELSE fs_t.sy = fs_q ->> 's' END)"

/* The reference string of a Reference (or of a bare string). */
#define ST_REF(V) \
	"(CASE jsonb_typeof(" V ") WHEN 'object' THEN " V " ->> 'reference' WHEN 'string' THEN " V " #>> '{}' END)"
#define ST_REF_MATCH \
	"CASE WHEN fs_q ? 'u' THEN " ST_REF("fs_v") " = fs_q ->> 'u'" \
	" WHEN fs_q ? 't' THEN " ST_REF("fs_v") " = (fs_q ->> 't') || '/' || (fs_q ->> 'i')" \
	" ELSE substring(" ST_REF("fs_v") " FROM '^[A-Za-z]+/([A-Za-z0-9.-]{1,64})$') = fs_q ->> 'i' END"

#define ST_STR_MATCH \
	"jsonb_typeof(fs_v) = 'string' AND CASE fs_q ->> 'm'" \
	" WHEN 'exact' THEN fs_v #>> '{}' = fs_q ->> 's'" \
	" WHEN 'contains' THEN strpos(lower(fs_v #>> '{}'), lower(fs_q ->> 's')) > 0" \
	" ELSE starts_with(lower(fs_v #>> '{}'), lower(fs_q ->> 's')) END"

#define ST_VALUE_MATCH \
	"CASE fs_c ->> 'k'" \
	" WHEN 'any' THEN true" \
	" WHEN 'token' THEN EXISTS (SELECT 1 FROM " ST_TOKENS("fs_v") " WHERE " ST_TOKEN_MATCH ")" \
	" WHEN 'ref' THEN " ST_REF_MATCH \
	" WHEN 'str' THEN " ST_STR_MATCH \
	" WHEN 'date' THEN EXISTS (SELECT 1 FROM " ST_DATE_RANGE("fs_v") " WHERE " ST_DATE_MATCH ")" \
	" ELSE false END"

/*
 * The filter of lib/fhirsearch (F, a jsonb parameter) over resource R:
 * every clause has a group all of whose conditions hold; a condition
 * holds when a value at one of its paths matches one of its values,
 * inverted by "n".
 */
#define ST_FILTER(R, F) \
	"NOT EXISTS (SELECT 1 FROM jsonb_array_elements(" F ") fs_cl WHERE NOT EXISTS (" \
	"SELECT 1 FROM jsonb_array_elements(fs_cl) fs_g WHERE NOT EXISTS (" \
	"SELECT 1 FROM jsonb_array_elements(fs_g) fs_c WHERE (fs_c ->> 'n')::boolean = EXISTS (" \
	"SELECT 1 FROM jsonb_array_elements_text(fs_c -> 'p') fs_p" \
	" CROSS JOIN LATERAL jsonb_path_query(" R ", fs_p::jsonpath, '{}', true) fs_v" \
	" CROSS JOIN LATERAL jsonb_array_elements(fs_c -> 'v') fs_q" \
	" WHERE " ST_VALUE_MATCH "))))"

/* Sort key: lastUpdated, or the earliest start of the date at paths S. */
#define ST_SORT_KEY(S) \
	"(CASE WHEN " S " IS NULL THEN f.last_updated ELSE (SELECT min(fs_r.lo) FROM" \
	" jsonb_array_elements_text(" S ") fs_sp CROSS JOIN LATERAL jsonb_path_query(f.resource," \
	" fs_sp::jsonpath, '{}', true) fs_v CROSS JOIN LATERAL " ST_DATE_RANGE("fs_v") ") END)"

#define ST_ORDER \
	" ORDER BY CASE WHEN NOT $4::boolean THEN " ST_SORT_KEY("$3::jsonb") " END ASC NULLS LAST," \
	" CASE WHEN $4::boolean THEN " ST_SORT_KEY("$3::jsonb") " END DESC NULLS LAST, f.id"

/* ------------------------------------------------------------------ */
/* Statements                                                          */

/*
 * Statements that may evaluate a filter come in two texts: without one
 * (the filter is the constant true, so PostgreSQL settles on a cheap
 * generic plan) and with one, always the last parameter.  A single text
 * with "CASE WHEN $n IS NULL" would make every read plan afresh: the
 * generic plan's estimated cost includes the whole filter.
 */
#define ST_READ(FILT) \
	"SELECT f.version_id, f.deleted, f.patient_id, f.resource::text," \
	" extract(epoch FROM f.last_updated)::bigint, " FILT \
	" FROM smart.fhir_resources f WHERE f.resource_type = $1 AND f.id = $2"
static const char st_read[] = "SELECT " STORE_READ_COLUMNS
	" FROM smart.fhir_resources f WHERE f.resource_type = $1 AND f.id = $2";
static const char st_read_f[] = ST_READ(ST_FILTER("f.resource", "$3::jsonb"));

#define ST_VREAD(FILT) \
	"SELECT h.deleted, h.resource::text, extract(epoch FROM h.last_updated)::bigint, " \
	ST_PATIENT_OF("h.resource_type", "h.id", "h.resource") ", " \
	"(CASE WHEN h.resource IS NULL THEN true ELSE " FILT " END), f.patient_id" \
	" FROM smart.fhir_history h JOIN smart.fhir_resources f" \
	" ON f.resource_type = h.resource_type AND f.id = h.id" \
	" WHERE h.resource_type = $1 AND h.id = $2 AND h.version_id = $3::bigint"
static const char st_vread[] = ST_VREAD("true");
static const char st_vread_f[] = ST_VREAD(ST_FILTER("h.resource", "$4::jsonb"));

#define ST_HISTORY(FILT) \
	"SELECT h.version_id, h.deleted, h.resource::text, extract(epoch FROM h.last_updated)::bigint," \
	" count(*) OVER ()" \
	" FROM smart.fhir_history h" \
	" WHERE h.resource_type = $1 AND h.id = $2" \
	" AND ($3::text IS NULL OR h.deleted OR " \
	ST_PATIENT_OF("h.resource_type", "h.id", "h.resource") " = $3::text)" \
	" AND (h.resource IS NULL OR " FILT ")" \
	" ORDER BY h.version_id DESC LIMIT $4::bigint OFFSET $5::bigint"
static const char st_history[] = ST_HISTORY("true");
static const char st_history_f[] = ST_HISTORY(ST_FILTER("h.resource", "$6::jsonb"));

#define ST_SEARCH_FROM \
	" FROM smart.fhir_resources f WHERE f.resource_type = $1 AND NOT f.deleted AND " \
	ST_FILTER("f.resource", "$2::jsonb")

static const char st_search[] =
	"SELECT f.id, f.version_id, f.patient_id, f.resource::text,"
	" extract(epoch FROM f.last_updated)::bigint, count(*) OVER ()"
	ST_SEARCH_FROM ST_ORDER " LIMIT $5::bigint OFFSET $6::bigint";

/* The same confined to one patient's compartment (uses the patient_id index). */
static const char st_search_pt[] =
	"SELECT f.id, f.version_id, f.patient_id, f.resource::text,"
	" extract(epoch FROM f.last_updated)::bigint, count(*) OVER ()"
	ST_SEARCH_FROM " AND f.patient_id = $7" ST_ORDER " LIMIT $5::bigint OFFSET $6::bigint";

static const char st_count[] =
	"SELECT count(*)" ST_SEARCH_FROM;
static const char st_count_pt[] =
	"SELECT count(*)" ST_SEARCH_FROM " AND f.patient_id = $3";

static const char st_include[] =
	"SELECT DISTINCT ON (t.resource_type, t.id) t.resource_type, t.id, t.version_id, t.patient_id,"
	" t.resource::text, extract(epoch FROM t.last_updated)::bigint"
	" FROM smart.fhir_resources s"
	" CROSS JOIN LATERAL jsonb_array_elements_text($3::jsonb) fs_sp"
	" CROSS JOIN LATERAL jsonb_path_query(s.resource, fs_sp::jsonpath, '{}', true) fs_v"
	" CROSS JOIN LATERAL (SELECT " ST_REF("fs_v") " AS r) fs_rr"
	" JOIN smart.fhir_resources t ON t.resource_type = split_part(fs_rr.r, '/', 1)"
	" AND t.id = split_part(fs_rr.r, '/', 2)"
	" WHERE s.resource_type = $1 AND s.id IN (SELECT jsonb_array_elements_text($2::jsonb))"
	" AND NOT s.deleted AND fs_rr.r ~ '^[A-Z][A-Za-z]+/[A-Za-z0-9.-]{1,64}$' AND NOT t.deleted"
	" AND ($4::text IS NULL OR t.resource_type = $4::text)"
	" ORDER BY t.resource_type, t.id LIMIT 1000";

static const char st_revinclude[] =
	"SELECT t.resource_type, t.id, t.version_id, t.patient_id, t.resource::text,"
	" extract(epoch FROM t.last_updated)::bigint"
	" FROM smart.fhir_resources t"
	" WHERE t.resource_type = $1 AND NOT t.deleted"
	" AND ($4::text IS NULL OR t.patient_id = $4::text)"
	" AND EXISTS (SELECT 1 FROM jsonb_array_elements_text($3::jsonb) fs_sp"
	" CROSS JOIN LATERAL jsonb_path_query(t.resource, fs_sp::jsonpath, '{}', true) fs_v"
	" WHERE " ST_REF("fs_v") " IN (SELECT jsonb_array_elements_text($2::jsonb)))"
	" ORDER BY t.id LIMIT 1000";

static const char st_match[] =
	"SELECT " ST_FILTER("$1::jsonb", "$2::jsonb");

#define ST_LOCK(FILT) \
	"SELECT f.version_id, f.deleted, f.patient_id, extract(epoch FROM f.last_updated)::bigint, " \
	FILT " FROM smart.fhir_resources f WHERE f.resource_type = $1 AND f.id = $2 FOR UPDATE"
static const char st_lock[] = ST_LOCK("true");
static const char st_lock_f[] = ST_LOCK(ST_FILTER("f.resource", "$3::jsonb"));

/* The body as it will be stored: its id is the one given. */
#define ST_BODY "($3::jsonb || jsonb_build_object('id', $2::text))"
#define ST_CHECK(FILT) \
	"SELECT " ST_PATIENT_OF("$1::text", "$2::text", ST_BODY) ", " FILT
static const char st_check[] = ST_CHECK("true");
static const char st_check_f[] = ST_CHECK(ST_FILTER(ST_BODY, "$4::jsonb"));

static const char st_put[] =
	"SELECT x::text, x ->> 'resourceType', x ->> 'id', (x -> 'meta' ->> 'versionId')::bigint,"
	" extract(epoch FROM (x -> 'meta' ->> 'lastUpdated')::timestamptz)::bigint"
	" FROM smart.fhir_put($1::jsonb || jsonb_build_object('id', $2::text)) x";

static const char st_delete[] =
	"SELECT smart.fhir_delete($1, $2)";

static const char st_version[] =
	"SELECT version_id, extract(epoch FROM last_updated)::bigint FROM smart.fhir_resources"
	" WHERE resource_type = $1 AND id = $2";

/* ------------------------------------------------------------------ */
/*
 * JIT: the planner's estimates for the nested set-returning functions of
 * ST_FILTER run into the millions, far over jit_above_cost, and LLVM then
 * spends tens of seconds compiling an expression that runs in a
 * millisecond.  lib/db asks for jit=off when it connects, but options in
 * a site's connection string override that, so the store sets it too.
 * The setting dies with the connection: it is applied once per connection
 * (db_connection_serial), before the first statement that needs it, not
 * once per request (a round trip saved on every search).
 */
static const char st_session[] = "SELECT set_config('jit', 'off', false)";
static unsigned long st_session_serial;

void
store_request_begin(void)
{
}

static int
store_jit_off(void)
{
	if (st_session_serial != 0 && st_session_serial == db_connection_serial())
		return 0;
	if (db_exec_cmd(st_session, 0, NULL) == -1)
		return -1;
	st_session_serial = db_connection_serial();
	return 0;
}

/* ------------------------------------------------------------------ */

void
store_res_clear(struct store_res *r)
{
	if (r == NULL)
		return;
	free(r->type);
	free(r->id);
	free(r->patient);
	free(r->json);
	memset(r, 0, sizeof(*r));
}

void
store_page_clear(struct store_page *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++)
		store_res_clear(&p->v[i]);
	free(p->v);
	memset(p, 0, sizeof(*p));
}

static enum store_status
store_fail(void)
{
	if (db_unavailable())
		return STORE_UNAVAILABLE;
	/* smart._fail (invalid_parameter_value): the resource was refused. */
	if (strcmp(db_last_sqlstate(), "22023") == 0 || strcmp(db_last_sqlstate(), "22P02") == 0)
		return STORE_INVALID;
	/* serialization_failure, deadlock_detected, unique_violation */
	if (strcmp(db_last_sqlstate(), "40001") == 0 || strcmp(db_last_sqlstate(), "40P01") == 0 ||
	    strcmp(db_last_sqlstate(), "23505") == 0)
		return STORE_CONFLICT;
	return STORE_ERROR;
}

static char *
store_dup(const PGresult *res, int row, int col, int *oom)
{
	char *s;

	if (PQgetisnull(res, row, col))
		return NULL;
	if ((s = strdup(PQgetvalue(res, row, col))) == NULL)
		*oom = 1;
	return s;
}

static long long
store_ll(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static int
store_bool(const PGresult *res, int row, int col)
{
	return !PQgetisnull(res, row, col) && PQgetvalue(res, row, col)[0] == 't';
}

static int
store_set_name(struct store_res *r, const char *type, const char *id)
{
	if ((r->type = strdup(type)) == NULL || (r->id = strdup(id)) == NULL) {
		log_err("out of memory");
		return -1;
	}
	return 0;
}

/* Fills out from a read statement's result (borrowed), columns from c. */
static enum store_status
store_read_fill(PGresult *res, int c, const char *type, const char *id, struct store_res *out)
{
	int oom = 0;

	memset(out, 0, sizeof(*out));
	if (c < 0 || PQnfields(res) < c + STORE_READ_NCOLS) {
		log_err("store read: the statement has too few columns");
		return STORE_ERROR;
	}
	/* version_id is never NULL in a row: NULL is the LEFT JOIN's miss. */
	if (PQntuples(res) == 0 || PQgetisnull(res, 0, c))
		return STORE_NOT_FOUND;
	out->version = store_ll(res, 0, c);
	out->deleted = store_bool(res, 0, c + 1);
	out->patient = store_dup(res, 0, c + 2, &oom);
	out->json = store_dup(res, 0, c + 3, &oom);
	out->updated = store_ll(res, 0, c + 4);
	out->ok = store_bool(res, 0, c + 5);
	if (oom || store_set_name(out, type, id) == -1) {
		store_res_clear(out);
		return STORE_ERROR;
	}
	return STORE_OK;
}

enum store_status
store_read(const char *type, const char *id, const char *filter, struct store_res *out)
{
	const char *params[3] = { type, id, filter };
	enum store_status st;
	PGresult *res;

	memset(out, 0, sizeof(*out));
	if (filter != NULL && store_jit_off() == -1)
		return store_fail();
	res = filter != NULL ? db_exec(st_read_f, 3, params) : db_exec(st_read, 2, params);
	if (res == NULL)
		return store_fail();
	st = store_read_fill(res, 0, type, id, out);
	PQclear(res);
	return st;
}

enum store_status
store_read_result_at(PGresult *res, int col, const char *type, const char *id,
    struct store_res *out)
{
	memset(out, 0, sizeof(*out));
	if (res == NULL)
		return store_fail();
	return store_read_fill(res, col, type, id, out);
}

enum store_status
store_vread(const char *type, const char *id, long long vid, const char *filter,
    struct store_res *out, char **cur_patient)
{
	char v[24];
	const char *params[4] = { type, id, v, filter };
	PGresult *res;
	int oom = 0;

	memset(out, 0, sizeof(*out));
	*cur_patient = NULL;
	snprintf(v, sizeof(v), "%lld", vid);
	if (filter != NULL && store_jit_off() == -1)
		return store_fail();
	res = filter != NULL ? db_exec(st_vread_f, 4, params) : db_exec(st_vread, 3, params);
	if (res == NULL)
		return store_fail();
	if (PQntuples(res) == 0) {
		PQclear(res);
		return STORE_NOT_FOUND;
	}
	out->version = vid;
	out->deleted = store_bool(res, 0, 0);
	out->json = store_dup(res, 0, 1, &oom);
	out->updated = store_ll(res, 0, 2);
	out->patient = store_dup(res, 0, 3, &oom);
	out->ok = store_bool(res, 0, 4);
	*cur_patient = store_dup(res, 0, 5, &oom);
	PQclear(res);
	if (oom || store_set_name(out, type, id) == -1) {
		store_res_clear(out);
		free(*cur_patient);
		*cur_patient = NULL;
		return STORE_ERROR;
	}
	return STORE_OK;
}

/* Grows p by one zeroed row; NULL on OOM. */
static struct store_res *
store_page_push(struct store_page *p)
{
	struct store_res *nv;

	if ((nv = realloc(p->v, (p->n + 1) * sizeof(*nv))) == NULL) {
		log_err("out of memory");
		return NULL;
	}
	p->v = nv;
	memset(&p->v[p->n], 0, sizeof(p->v[p->n]));
	return &p->v[p->n++];
}

enum store_status
store_history(const char *type, const char *id, const char *filter, const char *patient,
    long count, long offset, struct store_page *out)
{
	char c[24], o[24];
	const char *params[6] = { type, id, patient, c, o, filter };
	struct store_res *r;
	PGresult *res;
	int i, n, oom = 0;

	memset(out, 0, sizeof(*out));
	out->total = -1;
	snprintf(c, sizeof(c), "%ld", count);
	snprintf(o, sizeof(o), "%ld", offset);
	if (filter != NULL && store_jit_off() == -1)
		return store_fail();
	res = filter != NULL ? db_exec(st_history_f, 6, params) : db_exec(st_history, 5, params);
	if (res == NULL)
		return store_fail();
	n = PQntuples(res);
	for (i = 0; i < n && !oom; i++) {
		if ((r = store_page_push(out)) == NULL || store_set_name(r, type, id) == -1) {
			oom = 1;
			break;
		}
		r->version = store_ll(res, i, 0);
		r->deleted = store_bool(res, i, 1);
		r->json = store_dup(res, i, 2, &oom);
		r->updated = store_ll(res, i, 3);
		r->ok = 1;
		out->total = store_ll(res, i, 4);
	}
	PQclear(res);
	if (oom) {
		store_page_clear(out);
		return STORE_ERROR;
	}
	return STORE_OK;
}

enum store_status
store_search(const char *type, const char *filter, const char *sort_paths, int desc,
    long count, long offset, const char *patient, struct store_page *out)
{
	char c[24], o[24];
	const char *params[7] = { type, filter, sort_paths, desc ? "true" : "false", c, o, patient };
	struct store_res *r;
	PGresult *res;
	int i, n, oom = 0;

	memset(out, 0, sizeof(*out));
	out->total = -1;
	snprintf(c, sizeof(c), "%ld", count);
	snprintf(o, sizeof(o), "%ld", offset);
	if (store_jit_off() == -1)
		return store_fail();
	res = patient != NULL ? db_exec(st_search_pt, 7, params) : db_exec(st_search, 6, params);
	if (res == NULL)
		return store_fail();
	n = PQntuples(res);
	for (i = 0; i < n && !oom; i++) {
		if ((r = store_page_push(out)) == NULL ||
		    store_set_name(r, type, PQgetvalue(res, i, 0)) == -1) {
			oom = 1;
			break;
		}
		r->version = store_ll(res, i, 1);
		r->patient = store_dup(res, i, 2, &oom);
		r->json = store_dup(res, i, 3, &oom);
		r->updated = store_ll(res, i, 4);
		r->ok = 1;
		out->total = store_ll(res, i, 5);
	}
	PQclear(res);
	if (oom) {
		store_page_clear(out);
		return STORE_ERROR;
	}
	if (n == 0) {
		/* An empty page (or _count=0) still reports the total. */
		const char *cp[3] = { type, filter, patient };

		res = patient != NULL ? db_exec(st_count_pt, 3, cp) : db_exec(st_count, 2, cp);
		if (res == NULL)
			return store_fail();
		out->total = store_ll(res, 0, 0);
		PQclear(res);
	}
	return STORE_OK;
}

/* Rows of (type, id, version, patient, json, updated). */
static enum store_status
store_rows(PGresult *res, struct store_page *out)
{
	struct store_res *r;
	int i, n = PQntuples(res), oom = 0;

	for (i = 0; i < n && !oom; i++) {
		if ((r = store_page_push(out)) == NULL ||
		    store_set_name(r, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1)) == -1) {
			oom = 1;
			break;
		}
		r->version = store_ll(res, i, 2);
		r->patient = store_dup(res, i, 3, &oom);
		r->json = store_dup(res, i, 4, &oom);
		r->updated = store_ll(res, i, 5);
		r->ok = 1;
	}
	PQclear(res);
	if (oom) {
		store_page_clear(out);
		return STORE_ERROR;
	}
	out->total = (long long)out->n;
	return STORE_OK;
}

/* Runs the 4-parameter statement sql (_include or _revinclude) into out. */
static enum store_status
store_rows_exec(const char *sql, const char *const *params, struct store_page *out)
{
	PGresult *res;

	memset(out, 0, sizeof(*out));
	if (store_jit_off() == -1)
		return store_fail();
	if ((res = db_exec(sql, 4, params)) == NULL)
		return store_fail();
	return store_rows(res, out);
}

enum store_status
store_include(const char *src_type, const char *ids, const char *paths, const char *target,
    struct store_page *out)
{
	const char *params[4] = { src_type, ids, paths, target };

	return store_rows_exec(st_include, params, out);
}

enum store_status
store_revinclude(const char *src_type, const char *refs, const char *paths,
    const char *patient, struct store_page *out)
{
	const char *params[4] = { src_type, refs, paths, patient };

	return store_rows_exec(st_revinclude, params, out);
}

enum store_status
store_match(const char *resource, const char *filter, int *ok)
{
	const char *params[2] = { resource, filter };
	PGresult *res;

	*ok = 0;
	if (store_jit_off() == -1)
		return store_fail();
	if ((res = db_exec(st_match, 2, params)) == NULL)
		return store_fail();
	*ok = PQntuples(res) == 1 && store_bool(res, 0, 0);
	PQclear(res);
	return STORE_OK;
}

int
store_begin(void)
{
	return db_begin();
}

int
store_commit(void)
{
	return db_commit();
}

void
store_rollback(void)
{
	db_rollback();
}

enum store_status
store_lock(const char *type, const char *id, const char *filter, struct store_res *out)
{
	const char *params[3] = { type, id, filter };
	PGresult *res;
	int oom = 0;

	memset(out, 0, sizeof(*out));
	if (filter != NULL && store_jit_off() == -1)
		return store_fail();
	res = filter != NULL ? db_exec(st_lock_f, 3, params) : db_exec(st_lock, 2, params);
	if (res == NULL)
		return store_fail();
	if (PQntuples(res) == 0) {
		PQclear(res);
		return STORE_NOT_FOUND;
	}
	out->version = store_ll(res, 0, 0);
	out->deleted = store_bool(res, 0, 1);
	out->patient = store_dup(res, 0, 2, &oom);
	out->updated = store_ll(res, 0, 3);
	out->ok = store_bool(res, 0, 4);
	PQclear(res);
	if (oom || store_set_name(out, type, id) == -1) {
		store_res_clear(out);
		return STORE_ERROR;
	}
	return STORE_OK;
}

enum store_status
store_check(const char *type, const char *id, const char *body, const char *filter,
    char **patient, int *ok)
{
	const char *params[4] = { type, id, body, filter };
	PGresult *res;
	int oom = 0;

	*patient = NULL;
	*ok = 0;
	if (filter != NULL && store_jit_off() == -1)
		return store_fail();
	res = filter != NULL ? db_exec(st_check_f, 4, params) : db_exec(st_check, 3, params);
	if (res == NULL)
		return store_fail();
	*patient = store_dup(res, 0, 0, &oom);
	*ok = store_bool(res, 0, 1);
	PQclear(res);
	return oom ? STORE_ERROR : STORE_OK;
}

enum store_status
store_put(const char *body, const char *id, struct store_res *out)
{
	const char *params[2] = { body, id };
	PGresult *res;
	int oom = 0;

	memset(out, 0, sizeof(*out));
	if ((res = db_exec(st_put, 2, params)) == NULL)
		return store_fail();
	out->json = store_dup(res, 0, 0, &oom);
	out->type = store_dup(res, 0, 1, &oom);
	out->id = store_dup(res, 0, 2, &oom);
	out->version = store_ll(res, 0, 3);
	out->updated = store_ll(res, 0, 4);
	out->ok = 1;
	PQclear(res);
	if (oom || out->json == NULL || out->type == NULL || out->id == NULL) {
		store_res_clear(out);
		return STORE_ERROR;
	}
	return STORE_OK;
}

enum store_status
store_delete(const char *type, const char *id, struct store_res *out)
{
	const char *params[2] = { type, id };
	PGresult *res;

	memset(out, 0, sizeof(*out));
	if (db_exec_cmd(st_delete, 2, params) == -1)
		return store_fail();
	if ((res = db_exec(st_version, 2, params)) == NULL)
		return store_fail();
	if (PQntuples(res) == 0) {
		PQclear(res);
		return STORE_NOT_FOUND;
	}
	out->version = store_ll(res, 0, 0);
	out->updated = store_ll(res, 0, 1);
	out->deleted = 1;
	out->ok = 1;
	PQclear(res);
	if (store_set_name(out, type, id) == -1)
		return STORE_ERROR;
	return STORE_OK;
}

int
store_new_id(char *out, size_t outsz)
{
	unsigned char b[16];

	if (outsz < 37 || crypto_random(b, sizeof(b)) == -1)
		return -1;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);	/* RFC 9562 version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, outsz, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
	    b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
	return 0;
}
