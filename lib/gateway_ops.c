/*
 * gateway_ops: the FHIR R4 interactions on the built-in store (FHIR R4
 * §3.1.0 "RESTful API"), each authorised on its own.  See gateway_int.h.
 *
 * Visibility rule, the same for every interaction: a resource outside
 * the lane's compartment, or failing the lane's scope constraints, is
 * answered exactly like a resource that does not exist (404), so a token
 * never learns whether another patient's resource exists.  Writes are
 * checked on the resource as it will be stored: a patient-confined token
 * can only produce resources in its compartment, and a constrained one
 * only resources matching a constraint.  Confined lanes never update as
 * create (that would tell "exists elsewhere" from "does not exist").
 *
 * If-Match is compared with the version read FOR UPDATE in the same
 * transaction as the write (412 on mismatch).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "gateway_int.h"
#include "json.h"
#include "log.h"
#include "outcome.h"
#include "store.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

static void
gw_set_version(struct gw_out *o, const struct gateway *g, const char *type, const char *id,
    long long version, long long updated)
{
	snprintf(o->etag, sizeof(o->etag), "W/\"%lld\"", version);
	snprintf(o->version, sizeof(o->version), "%lld", version);
	snprintf(o->location, sizeof(o->location), "%s/%s/%s/_history/%lld", g->cfg->fhir_base,
	    type, id, version);
	gw_http_date(updated, o->last_modified, sizeof(o->last_modified));
	o->updated = updated;
}

static int
gw_hidden(struct gw_out *o, const char *type, const char *id)
{
	char why[200];

	snprintf(why, sizeof(why), "%s/%s is not known", type, id);
	return gw_error(o, 404, "not-found", why);
}

/* If-Match: W/"n", "n" or n.  The version, or -1 when malformed. */
static long long
gw_if_match(const char *v)
{
	long long n = 0;
	size_t k = 0;

	if (strncmp(v, "W/", 2) == 0)
		v += 2;
	if (*v == '"')
		v++;
	for (; isdigit((unsigned char)*v) && k < 18; v++, k++)
		n = n * 10 + (*v - '0');
	if (k == 0)
		return -1;
	if (*v == '"')
		v++;
	return *v == '\0' ? n : -1;
}

static int
gw_etag_matches(const char *header, long long version)
{
	char tag[40];

	if (header == NULL)
		return 0;
	snprintf(tag, sizeof(tag), "\"%lld\"", version);
	return strstr(header, tag) != NULL || strcmp(header, "*") == 0;
}

/* _count and _offset of history requests. */
static void
gw_paging(const struct form *f, long *count, long *offset)
{
	const char *v;

	*count = FS_COUNT_DEFAULT;
	*offset = 0;
	if (f == NULL)
		return;
	if ((v = form_get_nonempty(f, "_count")) != NULL && strspn(v, "0123456789") == strlen(v) &&
	    strlen(v) <= 6)
		*count = atol(v) > FS_COUNT_MAX ? FS_COUNT_MAX : atol(v);
	if ((v = form_get_nonempty(f, "_offset")) != NULL && strspn(v, "0123456789") == strlen(v) &&
	    strlen(v) <= 7)
		*offset = atol(v);
}

static int
gw_link(struct buf *b, int first, const char *rel, const char *url)
{
	buf_printf(b, "%s{\"relation\":\"%s\",\"url\":", first ? "" : ",", rel);
	gw_json_str(b, url);
	return buf_puts(b, "}");
}

static int
gw_entry(struct buf *b, int first, const struct gateway *g, const struct store_res *r,
    const char *mode)
{
	/* Piece by piece: a searchset has up to FS_COUNT_MAX entries. */
	buf_puts(b, first ? "{\"fullUrl\":\"" : ",{\"fullUrl\":\"");
	gw_json_chars(b, g->cfg->fhir_base);
	buf_append(b, "/", 1);
	gw_json_chars(b, r->type);
	buf_append(b, "/", 1);
	gw_json_chars(b, r->id);
	buf_puts(b, "\",\"resource\":");
	buf_puts(b, r->json);
	buf_puts(b, ",\"search\":{\"mode\":\"");
	buf_puts(b, mode);
	return buf_puts(b, "\"}}");
}

/* A search link: base/Type?<params>&_count=n[&_offset=m]. */
static char *
gw_search_url(const struct gateway *g, const struct fs_query *q, long offset)
{
	struct buf u = { 0 };
	char *n, *v, *s;
	size_t i;

	buf_printf(&u, "%s/%s?", g->cfg->fhir_base, q->type);
	for (i = 0; i < q->link.n; i++) {
		if ((n = form_encode(q->link.v[i].name)) == NULL ||
		    (v = form_encode(q->link.v[i].value)) == NULL) {
			free(n);
			buf_free(&u);
			return NULL;
		}
		buf_printf(&u, "%s=%s&", n, v);
		free(n);
		free(v);
	}
	buf_printf(&u, "_count=%ld", q->count);
	if (offset > 0)
		buf_printf(&u, "&_offset=%ld", offset);
	if (u.failed) {
		buf_free(&u);
		return NULL;
	}
	s = strdup(u.data);
	buf_free(&u);
	return s;
}

/* ------------------------------------------------------------------ */
/* read, vread, history                                                */

/*
 * The registry, then gw_authorize for perm on the call's type: 1 go on
 * (lane filled, the caller clears it), else the answer already given.
 */
static int
gw_admit(struct gateway *g, struct gw_principal *pr, struct gw_call *c, unsigned perm,
    struct gw_lane *lane, struct gw_out *o)
{
	const struct fs_registry *reg;
	int rc;

	if ((rc = gw_registry(g, &reg, o)) != 1)
		return rc;
	return gw_authorize(g, pr, c, reg, perm, lane, o);
}

/*
 * The answer to a read or vread once the store answered st with res
 * (visible: whether the caller's lane sees it): 404 for what is missing
 * or hidden (a hidden resource looks missing), 410 saying gone for a
 * deletion, else the resource with its version headers, or 304 when
 * if_none_match (may be NULL) names its version.
 */
static int
gw_read_answer(struct gateway *g, const struct gw_call *c, struct gw_out *o,
    enum store_status st, const struct store_res *res, int visible, const char *gone,
    const char *if_none_match)
{
	if (st != STORE_OK)
		return st == STORE_NOT_FOUND ? gw_hidden(o, c->rt.type, c->rt.id) :
		    gw_store_error(o, st);
	if (!visible || !res->ok)
		return gw_hidden(o, c->rt.type, c->rt.id);
	if (res->deleted)
		return gw_error(o, 410, "deleted", gone);
	gw_set_version(o, g, c->rt.type, c->rt.id, res->version, res->updated);
	o->location[0] = '\0';
	if (gw_etag_matches(if_none_match, res->version)) {
		o->status = 304;
		return 0;
	}
	o->status = 200;
	return buf_puts(&o->body, res->json);
}

int
gw_read(struct gateway *g, struct gw_principal *pr, struct gw_call *c, struct gw_out *o)
{
	struct gw_lane lane;
	struct store_res res;
	enum store_status st;
	int rc;

	if ((rc = gw_admit(g, pr, c, SCOPE_R, &lane, o)) != 1)
		return rc;
	/* Fetched before any decision; used only now that the read is allowed. */
	if (c->pre_read != NULL && lane.filter == NULL)
		st = store_read_result_at(c->pre_read, c->pre_col, c->rt.type, c->rt.id, &res);
	else
		st = store_read(c->rt.type, c->rt.id, lane.filter, &res);
	rc = gw_read_answer(g, c, o, st, &res, st == STORE_OK && gw_lane_sees(&lane, res.patient),
	    "the resource has been deleted", c->if_none_match);
	store_res_clear(&res);
	gw_lane_clear(&lane);
	return rc;
}

int
gw_vread(struct gateway *g, struct gw_principal *pr, struct gw_call *c, struct gw_out *o)
{
	struct gw_lane lane;
	struct store_res res;
	enum store_status st;
	char *cur = NULL;
	int rc;

	if ((rc = gw_admit(g, pr, c, SCOPE_R, &lane, o)) != 1)
		return rc;
	st = store_vread(c->rt.type, c->rt.id, c->rt.vid, lane.filter, &res, &cur);
	/* A version is seen when the resource now is, and so was that version. */
	rc = gw_read_answer(g, c, o, st, &res, st == STORE_OK && gw_lane_sees(&lane, cur) &&
	    (res.deleted || gw_lane_sees(&lane, res.patient)), "this version is a deletion", NULL);
	free(cur);
	store_res_clear(&res);
	gw_lane_clear(&lane);
	return rc;
}

int
gw_history(struct gateway *g, struct gw_principal *pr, struct gw_call *c, struct gw_out *o)
{
	struct gw_lane lane;
	struct store_res cur;
	struct store_page page;
	enum store_status st;
	char url[400], date[32];
	long count, offset;
	size_t i;
	int rc;

	memset(&page, 0, sizeof(page));
	if ((rc = gw_admit(g, pr, c, SCOPE_R, &lane, o)) != 1)
		return rc;
	gw_paging(c->params, &count, &offset);
	if ((st = store_read(c->rt.type, c->rt.id, NULL, &cur)) != STORE_OK) {
		rc = st == STORE_NOT_FOUND ? gw_hidden(o, c->rt.type, c->rt.id) : gw_store_error(o, st);
		goto out;
	}
	if (!gw_lane_sees(&lane, cur.patient)) {
		rc = gw_hidden(o, c->rt.type, c->rt.id);
		goto out;
	}
	/* Versions from before the resource entered this compartment stay hidden. */
	st = store_history(c->rt.type, c->rt.id, lane.filter, lane.confined ? cur.patient : NULL,
	    count, offset, &page);
	if (st != STORE_OK) {
		rc = gw_store_error(o, st);
		goto out;
	}
	rc = -1;
	if (gw_bundle_open(&o->body, "history", page.total >= 0 ? page.total : 0) == -1)
		goto out;
	snprintf(url, sizeof(url), "%s/%s/%s/_history", g->cfg->fhir_base, c->rt.type, c->rt.id);
	buf_puts(&o->body, ",\"link\":[");
	gw_link(&o->body, 1, "self", url);
	buf_puts(&o->body, "],\"entry\":[");
	for (i = 0; i < page.n; i++) {
		const struct store_res *r = &page.v[i];

		snprintf(url, sizeof(url), "%s/%s/%s", g->cfg->fhir_base, r->type, r->id);
		buf_puts(&o->body, i == 0 ? "{\"fullUrl\":" : ",{\"fullUrl\":");
		gw_json_str(&o->body, url);
		if (!r->deleted && r->json != NULL)
			buf_printf(&o->body, ",\"resource\":%s", r->json);
		gw_iso_date(r->updated, date, sizeof(date));
		buf_printf(&o->body, ",\"request\":{\"method\":\"%s\",\"url\":\"%s%s%s\"},"
		    "\"response\":{\"status\":\"%s\",\"etag\":\"W/\\\"%lld\\\"\",\"lastModified\":\"%s\"}}",
		    r->deleted ? "DELETE" : r->version == 1 ? "POST" : "PUT", r->type,
		    r->version == 1 && !r->deleted ? "" : "/", r->version == 1 && !r->deleted ? "" : r->id,
		    r->deleted ? "204" : r->version == 1 ? "201" : "200", r->version, date);
	}
	buf_puts(&o->body, "]}");
	o->status = 200;
	rc = o->body.failed ? -1 : 0;
out:
	store_page_clear(&page);
	store_res_clear(&cur);
	gw_lane_clear(&lane);
	return rc;
}

/* ------------------------------------------------------------------ */
/* search                                                              */

/* The lanes of included types, computed once per request. */
struct gw_lanes {
	char		 type[8][72];
	struct gw_lane	 lane[8];
	int		 ok[8];		/* 1 allowed, 0 denied */
	size_t		 n;
};

static void
gw_lanes_clear(struct gw_lanes *ls)
{
	size_t i;

	for (i = 0; i < ls->n; i++)
		gw_lane_clear(&ls->lane[i]);
	ls->n = 0;
}

/*
 * Is an included resource visible like any read would be: scopes (r on
 * its type, constraints), compartment, policies?  1 yes, 0 no, -1 error.
 */
static int
gw_include_ok(struct gateway *g, struct gw_principal *pr, const struct fs_registry *reg,
    struct gw_lanes *ls, const struct store_res *r)
{
	struct gw_lane *lane = NULL;
	const char *why;
	size_t i;
	int ok, rc;

	for (i = 0; i < ls->n; i++)
		if (strcmp(ls->type[i], r->type) == 0) {
			if (!ls->ok[i])
				return 0;
			lane = &ls->lane[i];
			break;
		}
	if (lane == NULL) {
		if (ls->n == 8)
			return 0;	/* more types than any include list names: refuse */
		i = ls->n;
		snprintf(ls->type[i], sizeof(ls->type[i]), "%s", r->type);
		rc = gw_lane_for(reg, pr, r->type, SCOPE_R, &ls->lane[i], &why);
		if (rc < 0)
			return -1;
		ls->ok[i] = rc == 0;
		ls->n++;
		if (!ls->ok[i])
			return 0;
		lane = &ls->lane[i];
	}
	if (!gw_lane_sees(lane, r->patient))
		return 0;
	if (lane->filter != NULL) {
		if (store_match(r->json, lane->filter, &ok) != STORE_OK)
			return -1;
		if (!ok)
			return 0;
	}
	return gw_policy_read(g, pr, r->type, r->id);
}

static int
gw_seen(const struct store_page *p, size_t n, const struct store_res *r)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(p->v[i].type, r->type) == 0 && strcmp(p->v[i].id, r->id) == 0)
			return 1;
	return 0;
}

/* Adds the _include and _revinclude resources of the page to the bundle. */
static int
gw_includes(struct gateway *g, struct gw_principal *pr, const struct fs_registry *reg,
    const struct fs_query *q, const struct store_page *page, struct gw_out *o, int *first)
{
	struct store_page inc, seen;
	struct gw_lanes lanes;
	enum store_status st;
	cJSON *keys = NULL;
	char *keys_txt = NULL, *paths = NULL, ref[160];
	size_t k, i;
	int rc = -1, ok;

	memset(&seen, 0, sizeof(seen));
	memset(&lanes, 0, sizeof(lanes));
	for (k = 0; k < q->ninc; k++) {
		const struct fs_include *in = &q->inc[k];

		memset(&inc, 0, sizeof(inc));
		if ((keys = cJSON_CreateArray()) == NULL)
			goto out;
		for (i = 0; i < page->n; i++) {
			snprintf(ref, sizeof(ref), "%s/%s", page->v[i].type, page->v[i].id);
			if (!cJSON_AddItemToArray(keys, cJSON_CreateString(in->rev ? ref : page->v[i].id)))
				goto out;
		}
		if ((keys_txt = cJSON_PrintUnformatted(keys)) == NULL ||
		    (paths = cJSON_PrintUnformatted(in->def->paths)) == NULL)
			goto out;
		st = in->rev ? store_revinclude(in->source, keys_txt, paths, NULL, &inc) :
		    store_include(q->type, keys_txt, paths, in->target, &inc);
		if (st != STORE_OK) {
			rc = gw_store_error(o, st) == -1 ? -1 : 1;
			goto out;
		}
		for (i = 0; i < inc.n; i++) {
			struct store_res *r = &inc.v[i], *slot;

			if (gw_seen(page, page->n, r) || gw_seen(&seen, seen.n, r))
				continue;
			if ((ok = gw_include_ok(g, pr, reg, &lanes, r)) == -1) {
				rc = db_unavailable() ? (gw_store_error(o, STORE_UNAVAILABLE) == -1 ? -1 : 1) : -1;
				store_page_clear(&inc);
				goto out;
			}
			if (!ok)
				continue;
			gw_entry(&o->body, *first, g, r, "include");
			*first = 0;
			/* Remember it (moved, not copied). */
			if ((slot = realloc(seen.v, (seen.n + 1) * sizeof(*slot))) == NULL) {
				store_page_clear(&inc);
				goto out;
			}
			seen.v = slot;
			seen.v[seen.n++] = *r;
			memset(r, 0, sizeof(*r));
		}
		store_page_clear(&inc);
		cJSON_Delete(keys);
		keys = NULL;
		free(keys_txt);
		keys_txt = NULL;
		free(paths);
		paths = NULL;
	}
	rc = 0;
out:
	cJSON_Delete(keys);
	free(keys_txt);
	free(paths);
	store_page_clear(&seen);
	gw_lanes_clear(&lanes);
	return rc;
}

/* The one patient a confined search is confined to, or NULL (answered). */
static const char *
gw_search_patient(const struct gw_lane *lane, const struct gw_call *c)
{
	const char *v;
	size_t i;

	if (lane->one != NULL)
		return lane->one;
	if (lane->npats == 1)
		return lane->pats[0];
	/* A user standing for several patients names one. */
	v = form_get_nonempty(c->params, strcmp(c->rt.type, "Patient") == 0 ? "_id" : "patient");
	if (v != NULL && strncmp(v, "Patient/", 8) == 0)
		v += 8;
	for (i = 0; v != NULL && i < lane->npats; i++)
		if (strcmp(lane->pats[i], v) == 0)
			return lane->pats[i];
	return NULL;
}

int
gw_search(struct gateway *g, struct gw_principal *pr, struct gw_call *c, struct gw_out *o)
{
	const struct fs_registry *reg;
	struct gw_lane lane;
	struct fs_query q;
	struct store_page page;
	enum store_status st;
	const char *why, *patient = NULL;
	char *filter = NULL, *sort = NULL, *url = NULL, err[300];
	cJSON *rp = NULL, *clause;
	int rc, first = 1;
	size_t i;

	memset(&q, 0, sizeof(q));
	memset(&page, 0, sizeof(page));
	if ((rc = gw_registry(g, &reg, o)) != 1)
		return rc;
	if ((rc = gw_lane_for(reg, pr, c->rt.type, SCOPE_S, &lane, &why)) != 0) {
		if (rc == -1)
			return -1;
		if (rc == -2)
			return gw_db_error(o);
		o->bearer_error = "insufficient_scope";
		return gw_error(o, 403, "forbidden", why);
	}

	/*
	 * Confine first, then ask the policies about the confined request:
	 * params.patient (compartment types) or params._id (Patient) is the
	 * patient, whatever the app sent (reference/matcho.md, seed policies).
	 */
	if (lane.confined) {
		if ((patient = gw_search_patient(&lane, c)) == NULL) {
			o->bearer_error = "insufficient_scope";
			rc = gw_error(o, 403, "forbidden", lane.npats == 0 ?
			    "this user is linked to no patient" :
			    "this user stands for several patients: name one with patient= "
			    "(or _id= for Patient)");
			goto out;
		}
		if ((rp = cJSON_CreateObject()) == NULL)
			goto oom;
		if (strcmp(c->rt.type, "Patient") == 0) {
			if (cJSON_AddStringToObject(rp, "_id", patient) == NULL)
				goto oom;
		} else if (fs_registry_find(reg, c->rt.type, "patient") != NULL &&
		    cJSON_AddStringToObject(rp, "patient", patient) == NULL)
			goto oom;
	}
	if ((rc = gw_policy(g, pr, c, rp, o)) != 1)
		goto out;

	switch (fs_query_parse(reg, c->rt.type, c->params, c->lenient, g->cfg->fhir_base, &q,
	    err, sizeof(err))) {
	case FS_OK:
		break;
	case FS_BAD:
		rc = gw_error(o, 400, "invalid", err);
		goto out;
	default:
		goto oom;
	}
	if (lane.clause != NULL) {
		if ((clause = cJSON_Duplicate(lane.clause, 1)) == NULL ||
		    fs_filter_add_clause(q.filter, clause) == -1)
			goto oom;
	}
	if ((filter = cJSON_PrintUnformatted(q.filter)) == NULL ||
	    (q.sort != NULL && (sort = cJSON_PrintUnformatted(q.sort->paths)) == NULL))
		goto oom;
	st = store_search(c->rt.type, filter, sort, q.sort_desc, q.count, q.offset, patient, &page);
	if (st != STORE_OK) {
		rc = gw_store_error(o, st);
		goto out;
	}

	if (gw_bundle_open(&o->body, "searchset", page.total) == -1 ||
	    (url = gw_search_url(g, &q, q.offset)) == NULL)
		goto oom;
	buf_puts(&o->body, ",\"link\":[");
	gw_link(&o->body, 1, "self", url);
	if (q.count > 0 && page.total > q.offset + q.count) {
		free(url);
		if ((url = gw_search_url(g, &q, q.offset + q.count)) == NULL)
			goto oom;
		gw_link(&o->body, 0, "next", url);
	}
	buf_puts(&o->body, "],\"entry\":[");
	for (i = 0; i < page.n; i++) {
		gw_entry(&o->body, first, g, &page.v[i], "match");
		first = 0;
	}
	if (q.ninc > 0 && page.n > 0) {
		if ((rc = gw_includes(g, pr, reg, &q, &page, o, &first)) != 0) {
			if (rc == 1)
				rc = 0;		/* o holds the error */
			goto out;
		}
	}
	buf_puts(&o->body, "]}");
	o->status = 200;
	rc = o->body.failed ? -1 : 0;
	goto out;
oom:
	log_err("out of memory");
	rc = -1;
out:
	free(url);
	free(filter);
	free(sort);
	cJSON_Delete(rp);
	fs_query_clear(&q);
	store_page_clear(&page);
	gw_lane_clear(&lane);
	return rc;
}

/* ------------------------------------------------------------------ */
/* create, update, delete                                              */

/* Checks a body's resourceType (and id when want_id).  1 ok, 0 answered. */
static int
gw_check_body(const struct gw_call *c, const char *want_id, struct gw_out *o, int *rc)
{
	const char *t, *id;
	const cJSON *meta;

	*rc = 0;
	if (c->body == NULL) {
		*rc = gw_error(o, 400, "invalid", "a FHIR resource body is required");
		return 0;
	}
	if ((t = json_get_str(c->body, "resourceType")) == NULL || strcmp(t, c->rt.type) != 0) {
		*rc = gw_error(o, 400, "invalid", "resourceType must match the type in the URL");
		return 0;
	}
	id = json_get_str(c->body, "id");
	if (cJSON_GetObjectItemCaseSensitive(c->body, "id") != NULL && id == NULL) {
		*rc = gw_error(o, 400, "invalid", "id must be a string");
		return 0;
	}
	if (want_id != NULL && (id == NULL || strcmp(id, want_id) != 0)) {
		*rc = gw_error(o, 400, "invalid", "the resource id must match the id in the URL");
		return 0;
	}
	if ((meta = cJSON_GetObjectItemCaseSensitive(c->body, "meta")) != NULL &&
	    !cJSON_IsObject(meta)) {
		*rc = gw_error(o, 422, "structure", "meta must be an object");
		return 0;
	}
	return 1;
}

/*
 * Checks the resource as it will be stored against the lane: in the
 * compartment and matching a constraint.  1 ok, 0 answered.
 */
static int
gw_check_new(const struct gw_lane *lane, const struct gw_call *c, const char *id,
    const char *text, struct gw_out *o, int *rc)
{
	enum store_status st;
	char *patient = NULL;
	int ok;

	*rc = 0;
	if (!lane->confined && lane->filter == NULL)
		return 1;
	if ((st = store_check(c->rt.type, id, text, lane->filter, &patient, &ok)) != STORE_OK) {
		*rc = gw_store_error(o, st);
		return 0;
	}
	if (!gw_lane_sees(lane, patient)) {
		free(patient);
		o->bearer_error = "insufficient_scope";
		*rc = gw_error(o, 403, "forbidden",
		    "the resource would lie outside the patient compartment of this token");
		return 0;
	}
	free(patient);
	if (!ok) {
		o->bearer_error = "insufficient_scope";
		*rc = gw_error(o, 403, "forbidden",
		    "the resource does not match the query constraints of the token's scopes");
		return 0;
	}
	return 1;
}

static int
gw_written(struct gateway *g, const struct gw_call *c, const struct store_res *res, int status,
    struct gw_out *o)
{
	gw_set_version(o, g, res->type, res->id, res->version, res->updated);
	o->status = status;
	if (c->minimal || res->json == NULL)
		return 0;
	return buf_puts(&o->body, res->json);
}

/*
 * A write's own transaction, unless it runs inside a transaction Bundle
 * (c->in_tx), which has one for all its entries.  gw_tx_begin sets *tx
 * when it opened one; gw_tx_commit commits that one (clearing *tx).
 * 1 go on, 0 answered (*rc); the caller rolls back while *tx is set.
 */
static int
gw_tx_begin(const struct gw_call *c, int *tx, struct gw_out *o, int *rc)
{
	if (c->in_tx)
		return 1;
	if (store_begin() == -1) {
		*rc = gw_db_error(o);
		return 0;
	}
	*tx = 1;
	return 1;
}

static int
gw_tx_commit(int *tx, struct gw_out *o, int *rc)
{
	if (!*tx)
		return 1;
	*tx = 0;
	if (store_commit() == -1) {
		*rc = gw_db_error(o);
		return 0;
	}
	return 1;
}

/* The text to store: as received, else printed into *printed (owned). */
static const char *
gw_body_text(const struct gw_call *c, char **printed)
{
	*printed = NULL;
	if (c->body_text != NULL)
		return c->body_text;
	return *printed = cJSON_PrintUnformatted(c->body);
}

int
gw_create(struct gateway *g, struct gw_principal *pr, struct gw_call *c, struct gw_out *o)
{
	struct gw_lane lane;
	struct store_res res;
	enum store_status st;
	char id[40], *printed = NULL;
	const char *text;
	int rc, tx = 0;

	memset(&res, 0, sizeof(res));
	if ((rc = gw_admit(g, pr, c, SCOPE_C, &lane, o)) != 1)
		return rc;
	if (!gw_check_body(c, NULL, o, &rc))
		goto out;
	if (c->assign_id != NULL)
		snprintf(id, sizeof(id), "%s", c->assign_id);
	else if (store_new_id(id, sizeof(id)) == -1) {
		rc = -1;
		goto out;
	}
	if ((text = gw_body_text(c, &printed)) == NULL) {
		rc = -1;
		goto out;
	}
	if (!gw_tx_begin(c, &tx, o, &rc))
		goto out;
	if (!gw_check_new(&lane, c, id, text, o, &rc))
		goto out;
	if ((st = store_put(text, id, &res)) != STORE_OK) {
		rc = gw_store_error(o, st);
		goto out;
	}
	if (!gw_tx_commit(&tx, o, &rc))
		goto out;
	rc = gw_written(g, c, &res, 201, o);
out:
	if (tx)
		store_rollback();
	cJSON_free(printed);
	store_res_clear(&res);
	gw_lane_clear(&lane);
	return rc;
}

/*
 * Locks the current version for update or delete and applies the
 * visibility rule and If-Match.  1 go on (*exists set), 0 answered.
 */
static int
gw_lock_current(const struct gw_lane *lane, const struct gw_call *c, struct store_res *cur,
    int *exists, struct gw_out *o, int *rc)
{
	enum store_status st;
	long long want = -1;

	*rc = 0;
	*exists = 0;
	if (c->if_match != NULL && (want = gw_if_match(c->if_match)) < 0) {
		*rc = gw_error(o, 400, "invalid", "If-Match must be a version ETag such as W/\"3\"");
		return 0;
	}
	st = store_lock(c->rt.type, c->rt.id, lane->filter, cur);
	if (st != STORE_OK && st != STORE_NOT_FOUND) {
		*rc = gw_store_error(o, st);
		return 0;
	}
	*exists = st == STORE_OK;
	if (*exists && (!gw_lane_sees(lane, cur->patient) || !cur->ok)) {
		*rc = gw_hidden(o, c->rt.type, c->rt.id);
		return 0;
	}
	if (want >= 0 && (!*exists || cur->version != want)) {
		*rc = gw_error(o, 412, "conflict", "If-Match does not name the current version");
		return 0;
	}
	return 1;
}

int
gw_update(struct gateway *g, struct gw_principal *pr, struct gw_call *c, struct gw_out *o)
{
	struct gw_lane lane;
	struct store_res cur, res;
	enum store_status st;
	char *printed = NULL;
	const char *text;
	int rc, tx = 0, exists;

	memset(&cur, 0, sizeof(cur));
	memset(&res, 0, sizeof(res));
	if ((rc = gw_admit(g, pr, c, SCOPE_U, &lane, o)) != 1)
		return rc;
	if (!gw_check_body(c, c->rt.id, o, &rc))
		goto out;
	if ((text = gw_body_text(c, &printed)) == NULL) {
		rc = -1;
		goto out;
	}
	if (!gw_tx_begin(c, &tx, o, &rc))
		goto out;
	if (!gw_lock_current(&lane, c, &cur, &exists, o, &rc))
		goto out;
	if (!exists && lane.confined) {
		/* No update-as-create inside a compartment: no existence oracle. */
		rc = gw_hidden(o, c->rt.type, c->rt.id);
		goto out;
	}
	if (!gw_check_new(&lane, c, c->rt.id, text, o, &rc))
		goto out;
	if ((st = store_put(text, c->rt.id, &res)) != STORE_OK) {
		rc = gw_store_error(o, st);
		goto out;
	}
	if (!gw_tx_commit(&tx, o, &rc))
		goto out;
	rc = gw_written(g, c, &res, exists && !cur.deleted ? 200 : 201, o);
out:
	if (tx)
		store_rollback();
	cJSON_free(printed);
	store_res_clear(&cur);
	store_res_clear(&res);
	gw_lane_clear(&lane);
	return rc;
}

int
gw_delete(struct gateway *g, struct gw_principal *pr, struct gw_call *c, struct gw_out *o)
{
	struct gw_lane lane;
	struct store_res cur, res;
	enum store_status st;
	int rc, tx = 0, exists;

	memset(&cur, 0, sizeof(cur));
	memset(&res, 0, sizeof(res));
	if ((rc = gw_admit(g, pr, c, SCOPE_D, &lane, o)) != 1)
		return rc;
	if (!gw_tx_begin(c, &tx, o, &rc))
		goto out;
	if (!gw_lock_current(&lane, c, &cur, &exists, o, &rc))
		goto out;
	if (!exists) {
		rc = gw_hidden(o, c->rt.type, c->rt.id);
		goto out;
	}
	if (!cur.deleted && (st = store_delete(c->rt.type, c->rt.id, &res)) != STORE_OK) {
		rc = gw_store_error(o, st);
		goto out;
	}
	if (!gw_tx_commit(&tx, o, &rc))
		goto out;
	o->status = 204;
	if (!cur.deleted)
		snprintf(o->etag, sizeof(o->etag), "W/\"%lld\"", res.version);
	rc = 0;
out:
	if (tx)
		store_rollback();
	store_res_clear(&cur);
	store_res_clear(&res);
	gw_lane_clear(&lane);
	return rc;
}
