/*
 * gateway: the request (CORS, routing, token, dispatch, reply).  See
 * gateway.h and gateway_int.h.
 *
 * Order of checks: preflight (no token needed), metadata (public), the
 * bearer token (401, for every other path, even one that leads nowhere),
 * routing (400/404), then each interaction authorises itself (scopes,
 * then policies: 403) before touching the store.  The body is read only
 * after the token passed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "capstmt.h"
#include "crypto.h"
#include "db.h"
#include "gateway.h"
#include "gateway_int.h"
#include "json.h"
#include "log.h"
#include "outcome.h"
#include "policydb.h"
#include "store.h"

#define GW_METHODS	"GET, HEAD, POST, PUT, DELETE, OPTIONS"

/* ------------------------------------------------------------------ */
/* Shared helpers                                                      */

void
gw_out_init(struct gw_out *o)
{
	memset(o, 0, sizeof(*o));
	o->status = 200;
}

void
gw_out_free(struct gw_out *o)
{
	buf_free(&o->body);
}

int
gw_error(struct gw_out *o, int status, const char *code, const char *why)
{
	o->status = status;
	o->is_outcome = 1;
	o->etag[0] = o->location[0] = o->last_modified[0] = o->version[0] = '\0';
	buf_reset(&o->body);
	return outcome_append(&o->body, code != NULL ? code : outcome_code_for_status(status), why);
}

int
gw_store_error(struct gw_out *o, enum store_status st)
{
	switch (st) {
	case STORE_NOT_FOUND:
		return gw_error(o, 404, "not-found", "resource not found");
	case STORE_INVALID:
		return gw_error(o, 422, "processing", "the store refused the resource");
	case STORE_CONFLICT:
		return gw_error(o, 409, "conflict", "a concurrent change got there first; retry");
	case STORE_UNAVAILABLE:
		o->retry_after = 5;
		return gw_error(o, 503, "transient", "the database is unavailable; retry later");
	default:
		return gw_error(o, 500, "exception", "internal error");
	}
}

int
gw_db_error(struct gw_out *o)
{
	return gw_store_error(o, db_unavailable() ? STORE_UNAVAILABLE : STORE_ERROR);
}

int
gw_json_chars(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t n;

	for (;;) {
		/* The run of characters that need no escape, in one piece. */
		for (n = 0; s[n] != '\0' && s[n] != '"' && s[n] != '\\' &&
		    (unsigned char)s[n] >= 0x20; n++)
			;
		if (n > 0)
			buf_append(b, s, n);
		s += n;
		if (*s == '\0')
			break;
		if (*s == '"' || *s == '\\') {
			char e[2] = { '\\', *s };

			buf_append(b, e, 2);
		} else {
			unsigned char ch = (unsigned char)*s;
			char e[6] = { '\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15] };

			buf_append(b, e, 6);
		}
		s++;
	}
	return b->failed ? -1 : 0;
}

int
gw_json_str(struct buf *b, const char *s)
{
	buf_append(b, "\"", 1);
	gw_json_chars(b, s);
	return buf_append(b, "\"", 1);
}

void
gw_http_date(long long t, char *out, size_t outsz)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, outsz, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

void
gw_iso_date(long long t, char *out, size_t outsz)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Opens the bundle text: {"resourceType":"Bundle","id":..,"meta":..,"type":..[,"total":n] */
int
gw_bundle_open(struct buf *b, const char *type, long long total)
{
	char id[40], now[32];

	if (store_new_id(id, sizeof(id)) == -1)
		return -1;
	gw_iso_date((long long)time(NULL), now, sizeof(now));
	buf_printf(b, "{\"resourceType\":\"Bundle\",\"id\":\"%s\",\"meta\":{\"lastUpdated\":\"%s\"},"
	    "\"type\":\"%s\"", id, now, type);
	if (total >= 0)
		buf_printf(b, ",\"total\":%lld", total);
	return b->failed ? -1 : 0;
}

/* The search parameter registry, (re)loaded when stale.  1, 0 answered, -1. */
int
gw_registry(struct gateway *g, const struct fs_registry **reg, struct gw_out *o)
{
	time_t now = time(NULL);
	struct fs_registry *n;

	if (g->reg == NULL || now - g->reg_at >= GW_REGISTRY_TTL) {
		if ((n = fs_registry_load()) != NULL) {
			fs_registry_free(g->reg);
			g->reg = n;
		} else if (g->reg == NULL) {
			return gw_db_error(o) == -1 ? -1 : 0;
		}
		/* A failed reload keeps the old registry until the next period. */
		g->reg_at = now;
	}
	*reg = g->reg;
	return 1;
}

/* ------------------------------------------------------------------ */
/* CapabilityStatement                                                 */

static int
gw_capstmt_build(struct gateway *g)
{
	char **types = NULL, **known = NULL, date[32], *hex;
	size_t ntypes = 0, nknown = 0, i;
	cJSON *cs;
	int rc = -1;

	if (g->reg == NULL) {
		if ((g->reg = fs_registry_load()) == NULL)
			return -1;
		g->reg_at = time(NULL);
	}
	if (capstmt_types_load(&types, &ntypes) == -1)
		return -1;
	/* Only types the gateway serves (FHIR R4 names). */
	if ((known = calloc(ntypes + 1, sizeof(*known))) == NULL)
		goto out;
	for (i = 0; i < ntypes; i++)
		if (gw_known_type(types[i]))
			known[nknown++] = types[i];
	gw_iso_date((long long)time(NULL), date, sizeof(date));
	if ((cs = capstmt_new(g->cfg, g->reg, (const char *const *)known, nknown, date)) == NULL)
		goto out;
	g->cap = cJSON_PrintUnformatted(cs);
	cJSON_Delete(cs);
	if (g->cap == NULL || (hex = crypto_sha256_hex(g->cap)) == NULL) {
		free(g->cap);
		g->cap = NULL;
		goto out;
	}
	snprintf(g->cap_etag, sizeof(g->cap_etag), "\"%.32s\"", hex);
	free(hex);
	rc = 0;
out:
	free(known);
	capstmt_types_free(types, ntypes);
	return rc;
}

static int
gw_metadata(struct gateway *g, struct req *r, struct resp *p)
{
	const char *inm = http_header(r, "If-None-Match");

	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
		http_resp_header(p, "Allow", "GET, HEAD, OPTIONS");
		return outcome_respond(p, 405, "not-supported", "use GET for the CapabilityStatement");
	}
	if (g->cap == NULL && gw_capstmt_build(g) == -1) {
		if (db_unavailable()) {
			http_resp_header(p, "Retry-After", "5");
			return outcome_respond(p, 503, "transient", "the database is unavailable; retry later");
		}
		return outcome_respond(p, 500, "exception", "cannot build the CapabilityStatement");
	}
	http_resp_cors(p);
	http_resp_header(p, "Cache-Control", "public, max-age=300");
	http_resp_header(p, "ETag", g->cap_etag);
	if (inm != NULL && strstr(inm, g->cap_etag) != NULL) {
		http_resp_status(p, 304);
		return 0;
	}
	return http_resp_body(p, 200, OUTCOME_FHIR_JSON, g->cap, strlen(g->cap));
}

/* ------------------------------------------------------------------ */
/* Dispatch                                                            */

static int
gw_method_not_allowed(struct gw_out *o, const char *allow)
{
	char why[120];

	snprintf(why, sizeof(why), "method not allowed here; use %s", allow);
	return gw_error(o, 405, "not-supported", why);
}

static int
gw_is(const struct gw_call *c, const char *m)
{
	return strcmp(c->method, m) == 0;
}

int
gw_dispatch(struct gateway *g, struct gw_principal *pr, struct gw_call *c, struct gw_out *o)
{
	int get = gw_is(c, "GET") || gw_is(c, "HEAD");

	switch (c->rt.kind) {
	case GW_R_TYPE:
		if (get)
			return gw_search(g, pr, c, o);
		if (gw_is(c, "POST"))
			return gw_create(g, pr, c, o);
		return gw_method_not_allowed(o, "GET, POST");
	case GW_R_TYPE_SEARCH:
		if (gw_is(c, "POST"))
			return gw_search(g, pr, c, o);
		return gw_method_not_allowed(o, "POST");
	case GW_R_TYPE_HISTORY:
		return gw_error(o, 400, "not-supported", "type-level history is not supported");
	case GW_R_INSTANCE:
		if (get)
			return gw_read(g, pr, c, o);
		if (gw_is(c, "PUT"))
			return gw_update(g, pr, c, o);
		if (gw_is(c, "DELETE"))
			return gw_delete(g, pr, c, o);
		return gw_method_not_allowed(o, "GET, PUT, DELETE");
	case GW_R_HISTORY:
		if (get)
			return gw_history(g, pr, c, o);
		return gw_method_not_allowed(o, "GET");
	case GW_R_VREAD:
		if (get)
			return gw_vread(g, pr, c, o);
		return gw_method_not_allowed(o, "GET");
	default:
		return gw_error(o, 400, "not-supported", "not a resource interaction");
	}
}

/* ------------------------------------------------------------------ */
/* The HTTP request                                                    */

/* 1 when the Prefer header (RFC 7240) holds name=value as a preference. */
static int
gw_prefer(const char *prefer, const char *pref)
{
	size_t n = strlen(pref);
	const char *p = prefer;

	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == ',' || *p == ';' || *p == '\t')
			p++;
		if (strncasecmp(p, pref, n) == 0 &&
		    (p[n] == '\0' || p[n] == ',' || p[n] == ';' || p[n] == ' '))
			return 1;
		p += strcspn(p, ",;");
	}
	return 0;
}

static int
gw_reply(struct resp *p, struct gw_out *o)
{
	char hdr[200], ra[16];

	http_resp_cors(p);
	http_resp_no_store(p);
	if (o->bearer_error != NULL && (o->status == 401 || o->status == 403)) {
		snprintf(hdr, sizeof(hdr), "Bearer realm=\"smartauth\", error=\"%s\"", o->bearer_error);
		http_resp_header(p, "WWW-Authenticate", hdr);
	}
	if (o->retry_after > 0) {
		snprintf(ra, sizeof(ra), "%d", o->retry_after);
		http_resp_header(p, "Retry-After", ra);
	}
	if (o->etag[0] != '\0')
		http_resp_header(p, "ETag", o->etag);
	/*
	 * Location only with 201 (RFC 9110 §10.2.2): a CGI response carrying
	 * Location with another status is turned into a redirect by Apache.
	 * An update's version URL goes in Content-Location instead.
	 */
	if (o->location[0] != '\0')
		http_resp_header(p, o->status == 201 ? "Location" : "Content-Location", o->location);
	if (o->last_modified[0] != '\0')
		http_resp_header(p, "Last-Modified", o->last_modified);
	if (o->status == 405)
		http_resp_header(p, "Allow", GW_METHODS);
	if (o->body.len > 0) {
		/* http_resp_body, but the body moves instead of being copied. */
		p->status = o->status;
		if (http_resp_header(p, "Content-Type", OUTCOME_FHIR_JSON) == -1)
			return -1;
		buf_free(&p->body);
		p->body = o->body;
		memset(&o->body, 0, sizeof(o->body));
		return p->body.failed ? -1 : 0;
	}
	http_resp_status(p, o->status);
	return o->body.failed ? -1 : 0;
}

/* Answers a token failure. */
static int
gw_token_error(struct resp *p, enum bearer_error e)
{
	int status = bearer_status(e);

	if (status == 503) {
		http_resp_header(p, "Retry-After", "5");
		return outcome_respond(p, 503, "transient", "the database is unavailable; retry later");
	}
	if (status != 401)
		return outcome_respond(p, 500, "exception", "internal error");
	/* RFC 6750 §3.1; the realm and error are sent even without a token. */
	return outcome_respond_bearer(p, 401, "smartauth", "invalid_token", bearer_strerror(e));
}

/* Appends name=value (encoded) to a query string. */
static int
gw_query_add(struct buf *q, const char *name, const char *value)
{
	char *n, *v;
	int rc;

	if ((n = form_encode(name)) == NULL || (v = form_encode(value)) == NULL) {
		free(n);
		return -1;
	}
	rc = buf_printf(q, "%s%s=%s", q->len > 0 ? "&" : "", n, v);
	free(n);
	free(v);
	return rc;
}

/*
 * POST [base]/Type/_search: parameters from the query and the form body,
 * merged into *merged (the query string policies see is rebuilt from
 * both, so a policy sees every parameter the search uses).  0, or the
 * HTTP status with why.
 */
static int
gw_search_form(struct req *r, long max, struct form *merged, struct buf *query, const char **why)
{
	const struct form *src[2] = { &r->qparams, &r->fparams };
	struct form_param *nv;
	size_t i, k;
	int status;

	if ((status = http_parse_form(r, (size_t)max, why)) != 0)
		return status;
	for (k = 0; k < 2; k++)
		for (i = 0; i < src[k]->n; i++) {
			if (merged->n == merged->cap) {
				size_t cap = merged->cap ? merged->cap * 2 : 16;

				if ((nv = realloc(merged->v, cap * sizeof(*nv))) == NULL)
					goto oom;
				merged->v = nv;
				merged->cap = cap;
			}
			nv = &merged->v[merged->n];
			if ((nv->name = strdup(src[k]->v[i].name)) == NULL)
				goto oom;
			if ((nv->value = strdup(src[k]->v[i].value)) == NULL) {
				free(nv->name);
				goto oom;
			}
			merged->n++;
			if (gw_query_add(query, nv->name, nv->value) == -1)
				goto oom;
		}
	return 0;
oom:
	*why = "out of memory";
	return 500;
}

/* Reads and parses a JSON body.  0, or the HTTP status with why. */
static int
gw_json_body(struct req *r, long max, cJSON **out, const char **why)
{
	enum http_body_error be;

	*out = NULL;
	if (!http_content_type_is(r, "application/fhir+json") &&
	    !http_content_type_is(r, "application/json")) {
		*why = "Content-Type must be application/fhir+json";
		return 415;
	}
	if ((be = http_read_body(r, (size_t)max, 1)) != HTTP_BODY_OK) {
		*why = http_body_strerror(be);
		return http_body_status(be);
	}
	if ((*out = json_parse_strict(r->body, r->body_len, why)) == NULL) {
		*why = "the body is not valid JSON (or repeats a member name)";
		return 400;
	}
	if (!cJSON_IsObject(*out)) {
		cJSON_Delete(*out);
		*out = NULL;
		*why = "the body must be a JSON object (a FHIR resource)";
		return 400;
	}
	return 0;
}

/*
 * The request's one statement: the token's row (lib/bearer step 4:
 * revocation seen at once), the AccessPolicy version poll and, for a
 * plain read, the resource.  One statement rather than a pipeline of
 * three: the same PostgreSQL CPU (a pipeline already shares one
 * transaction), less libpq work here.  The VALUES row makes it answer
 * exactly one row whatever is missing: a token without a row has NULLs in
 * the bearer columns, a missing resource NULLs in the store's.
 */
#define GW_AUTH_COLS	BEARER_ROW_COLUMNS ", " POLICYDB_VERSION_EXPR
#define GW_AUTH_FROM	" FROM (VALUES (1)) gw_one LEFT JOIN (" BEARER_ROW_FROM ") ON t.jti = $1"
#define GW_VERSION_COL	BEARER_ROW_NCOLS
#define GW_READ_COL	(BEARER_ROW_NCOLS + 1)
static const char gw_auth_sql[] = "SELECT " GW_AUTH_COLS GW_AUTH_FROM;
static const char gw_auth_read_sql[] = "SELECT " GW_AUTH_COLS ", " STORE_READ_COLUMNS GW_AUTH_FROM
	" LEFT JOIN smart.fhir_resources f ON f.resource_type = $2 AND f.id = $3";

/*
 * The bearer token (lib/bearer steps 1 to 3 offline, so a forged token
 * costs no database work), then the statement above.  The resource is
 * fetched before anything is decided and goes to *pre (owned, PQclear;
 * its columns from *pre_col) only for gw_read, which uses it only once
 * scopes, compartment and policies allowed the read.  On BEARER_OK *tok
 * is the verified token (owned).
 */
static enum bearer_error
gw_authenticate(struct gateway *g, struct req *r, const struct gw_route *rt, int routed,
    PGresult **pre, int *pre_col, struct bearer **tok)
{
	struct bearer_pending pd;
	const char *p[3];
	PGresult *res;
	enum bearer_error e;
	int read;

	*pre = NULL;
	*pre_col = GW_READ_COL;
	*tok = NULL;
	if ((e = bearer_check_offline(http_header(r, "Authorization"), g->keys,
	    g->cfg->fhir_base, time(NULL), &pd)) != BEARER_OK)
		return e;
	read = routed && rt->kind == GW_R_INSTANCE &&
	    (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0);
	p[0] = pd.params[0];
	p[1] = rt->type;
	p[2] = rt->id;
	res = read ? db_exec(gw_auth_read_sql, 3, p) : db_exec(gw_auth_sql, 1, p);
	if ((e = bearer_check_result(&pd, res, tok)) != BEARER_OK)
		goto out;
	/* A failed reload leaves the poll to policydb_check, which answers for it. */
	(void)policydb_sync_result_at(res, GW_VERSION_COL);
	if (read) {
		*pre = res;
		res = NULL;
	}
out:
	PQclear(res);
	bearer_pending_clear(&pd);
	return e;
}

int
gateway_handle(struct req *r, struct resp *p, void *ctx)
{
	struct gateway *g = ctx;
	struct gw_principal pr;
	struct gw_call c;
	struct gw_out o;
	struct gw_route rt;
	struct form merged = { 0 };
	struct buf mq = { 0 };
	struct bearer *tok = NULL;
	PGresult *pre = NULL;
	int pre_col;
	enum bearer_error be;
	enum form_error fe;
	cJSON *body = NULL;
	const char *why = NULL, *prefer;
	int status, rc = -1;

	store_request_begin();
	policydb_request_begin();
	memset(&pr, 0, sizeof(pr));
	memset(&c, 0, sizeof(c));
	gw_out_init(&o);

	/* CORS preflight: browsers send no credentials with it (Fetch §4.8). */
	if (strcmp(r->method, "OPTIONS") == 0)
		return http_resp_preflight(p, GW_METHODS);
	status = gw_route_parse(r->path, g->cfg->fhir_path, &rt, &why);
	if (status == 0 && rt.kind == GW_R_METADATA)
		return gw_metadata(g, r, p);

	/* Everything else needs a token, even a path that leads nowhere. */
	be = gw_authenticate(g, r, &rt, status == 0, &pre, &pre_col, &tok);
	if (be != BEARER_OK)
		return gw_token_error(p, be);
	if (status != 0) {
		bearer_free(tok);
		return outcome_respond(p, status, NULL, why);
	}
	if (gw_principal_new(tok, &pr) == -1) {
		bearer_free(tok);
		goto out;
	}

	c.pre_read = pre;
	c.pre_col = pre_col;
	c.method = r->method;
	c.rt = rt;
	c.query = r->query;
	c.if_match = http_header(r, "If-Match");
	c.if_none_match = http_header(r, "If-None-Match");
	prefer = http_header(r, "Prefer");
	c.lenient = gw_prefer(prefer, "handling=lenient");
	c.minimal = gw_prefer(prefer, "return=minimal");
	if ((c.path = strdup(r->path)) == NULL)
		goto out;
	if ((fe = http_parse_query(r)) != FORM_OK) {
		rc = outcome_respond(p, fe == FORM_ENOMEM ? 500 : 400, NULL, form_strerror(fe));
		goto out;
	}
	c.params = &r->qparams;

	if (strcmp(r->method, "POST") == 0 || strcmp(r->method, "PUT") == 0) {
		if (rt.kind == GW_R_TYPE_SEARCH) {
			if ((status = gw_search_form(r, g->cfg->max_body, &merged, &mq, &why)) != 0) {
				rc = outcome_respond(p, status, NULL, why);
				goto out;
			}
			c.params = &merged;
			c.query = mq.data != NULL ? mq.data : "";
		} else if ((status = gw_json_body(r, g->cfg->max_body, &body, &why)) != 0) {
			rc = outcome_respond(p, status, NULL, why);
			goto out;
		}
		c.body = body;
		c.body_text = body != NULL ? r->body : NULL;
	}

	if (rt.kind == GW_R_BASE) {
		if (strcmp(r->method, "POST") != 0) {
			http_resp_header(p, "Allow", "POST");
			rc = outcome_respond(p, 405, "not-supported",
			    "the base accepts batch and transaction bundles (POST) only");
			goto out;
		}
		if (gw_bundle(g, &pr, body, &o) == -1)
			goto out;
	} else if (gw_dispatch(g, &pr, &c, &o) == -1)
		goto out;
	rc = gw_reply(p, &o);
out:
	if (rc == -1 && db_unavailable()) {
		/* A failure that was the database going away is a 503, not a 500. */
		http_resp_free(p);
		http_resp_init(p);
		http_resp_header(p, "Retry-After", "5");
		rc = outcome_respond(p, 503, "transient", "the database is unavailable; retry later");
	}
	gw_out_free(&o);
	gw_principal_clear(&pr);
	PQclear(pre);
	free(c.path);
	cJSON_Delete(body);
	form_clear(&merged);
	buf_free(&mq);
	return rc;
}

struct gateway *
gateway_new(const struct config *cfg)
{
	struct gateway *g;

	if ((g = calloc(1, sizeof(*g))) == NULL) {
		log_err("out of memory");
		return NULL;
	}
	g->cfg = cfg;
	if ((g->keys = bearer_keys_load(cfg->key_dir)) == NULL) {
		free(g);
		return NULL;
	}
	/* The database may be down at start: both are retried on demand. */
	if (gw_capstmt_build(g) == -1)
		log_warn("CapabilityStatement not built yet (database unavailable?); will retry");
	return g;
}

void
gateway_free(struct gateway *g)
{
	if (g == NULL)
		return;
	jwk_set_free(g->keys);
	fs_registry_free(g->reg);
	free(g->cap);
	free(g);
}
