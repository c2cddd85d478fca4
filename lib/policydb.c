/*
 * policydb: AccessPolicy decisions fed from the database.  See policydb.h.
 *
 * The cache is a handful of small arrays (no hash table: a process serves
 * few distinct users and clients between two configuration changes, and a
 * linear scan of 64 short keys costs less than one database round trip).
 * When an array is full the oldest entry is replaced.  Loaders return
 * copies, so nothing a caller holds is ever freed under it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "db.h"
#include "form.h"
#include "json.h"
#include "log.h"
#include "policydb.h"

#define PDB_CACHE_N	64

struct pdb_entry {
	char	*key;
	cJSON	*value;		/* NULL: known to be absent or inactive */
};

struct pdb_cache {
	struct pdb_entry v[PDB_CACHE_N];
	size_t		 n;
	size_t		 next;	/* replaced next when full */
};

static struct {
	int			 loaded;
	int			 fresh;		/* version polled for this request */
	long long		 version;
	struct policy_set	*set;
	struct pdb_cache	 users, clients, roles;
} pdb;

static const char pdb_oom[] = "out of memory";

/* ---- paths ---- */

/*
 * Percent-decodes raw once into an owned string, refusing bytes that
 * could change the path's structure after a second reader decodes it or
 * that have no business in a path.  NULL with *why.
 */
static char *
pdb_path_decode(const char *raw, size_t len, const char **why)
{
	char *d;
	size_t i, o = 0;
	int hi, lo;
	unsigned char c;

	if ((d = malloc(len + 1)) == NULL) {
		*why = pdb_oom;
		return NULL;
	}
	for (i = 0; i < len; i++) {
		c = (unsigned char)raw[i];
		if (c == '%') {
			if (i + 2 >= len || (hi = form_hexval(raw[i + 1])) < 0 ||
			    (lo = form_hexval(raw[i + 2])) < 0) {
				*why = "malformed percent-escape in the path";
				goto fail;
			}
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
			if (c == '/' || c == '\\') {
				*why = "encoded slash in the path";
				goto fail;
			}
			if (c == '%') {
				*why = "double-encoded path";
				goto fail;
			}
		} else if (c == '\\') {
			*why = "backslash in the path";
			goto fail;
		}
		if (c < 0x20 || c == 0x7f) {
			*why = "control character in the path";
			goto fail;
		}
		d[o++] = (char)c;
	}
	d[o] = '\0';
	return d;
fail:
	free(d);
	return NULL;
}

char *
policydb_path_normalize(const char *raw, const char **why)
{
	const char *dummy, *seg, *end;
	char *dec = NULL, *out = NULL;
	size_t len, slen, o = 0, *starts = NULL, nseg = 0;
	int trailing = 0;

	if (why == NULL)
		why = &dummy;
	*why = NULL;
	if (raw == NULL || raw[0] != '/') {
		*why = "the path must start with /";
		return NULL;
	}
	if ((len = strlen(raw)) > POLICYDB_PATH_MAX) {
		*why = "path too long";
		return NULL;
	}
	if ((dec = pdb_path_decode(raw, len, why)) == NULL)
		return NULL;
	len = strlen(dec);
	/* The output is never longer than the decoded input (plus "/"). */
	if ((out = malloc(len + 2)) == NULL ||
	    (starts = calloc(len + 1, sizeof(*starts))) == NULL) {
		*why = pdb_oom;
		goto fail;
	}
	/* RFC 3986 §5.2.4 remove_dot_segments, plus empty segments ("//") dropped. */
	for (seg = dec + 1; ; seg = end + 1) {
		end = strchr(seg, '/');
		if (end == NULL)
			end = seg + strlen(seg);
		slen = (size_t)(end - seg);
		trailing = 0;
		if (slen == 0 || (slen == 1 && seg[0] == '.'))
			trailing = 1;
		else if (slen == 2 && seg[0] == '.' && seg[1] == '.') {
			if (nseg == 0) {
				*why = "the path climbs above the root";
				goto fail;
			}
			o = starts[--nseg];
			trailing = 1;
		} else {
			starts[nseg++] = o;
			out[o++] = '/';
			memcpy(out + o, seg, slen);
			o += slen;
		}
		if (*end == '\0')
			break;
	}
	if (o == 0 || trailing)
		out[o++] = '/';
	out[o] = '\0';
	free(starts);
	free(dec);
	return out;
fail:
	free(starts);
	free(out);
	free(dec);
	return NULL;
}

char *
policydb_mount_prefix(const char *fhir_path)
{
	size_t n = fhir_path != NULL ? strlen(fhir_path) : 0;

	while (n > 0 && fhir_path[n - 1] == '/')
		n--;
	while (n > 0 && fhir_path[n - 1] != '/')
		n--;
	while (n > 0 && fhir_path[n - 1] == '/')
		n--;
	return strndup(n > 0 ? fhir_path : "", n);
}

char *
policydb_relative_path(const char *fhir_path, const char *raw, const char **why)
{
	const char *dummy;
	char *norm, *prefix, *rel = NULL;
	size_t plen;

	if (why == NULL)
		why = &dummy;
	if ((norm = policydb_path_normalize(raw, why)) == NULL)
		return NULL;
	if ((prefix = policydb_mount_prefix(fhir_path)) == NULL) {
		*why = pdb_oom;
		free(norm);
		return NULL;
	}
	plen = strlen(prefix);
	if (plen == 0) {
		rel = norm;
		norm = NULL;
	} else if (strncmp(norm, prefix, plen) == 0 &&
	    (norm[plen] == '/' || norm[plen] == '\0')) {
		if ((rel = strdup(norm[plen] == '\0' ? "/" : norm + plen)) == NULL)
			*why = pdb_oom;
	} else
		*why = "the path lies outside the mount prefix";
	free(prefix);
	free(norm);
	return rel;
}

/* ---- the cache ---- */

static void
pdb_cache_clear(struct pdb_cache *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		free(c->v[i].key);
		cJSON_Delete(c->v[i].value);
	}
	memset(c, 0, sizeof(*c));
}

/* The entry for key, or NULL when not cached (or nothing is cached yet). */
static const struct pdb_entry *
pdb_cache_get(const struct pdb_cache *c, const char *key)
{
	size_t i;

	if (!pdb.loaded)
		return NULL;
	for (i = 0; i < c->n; i++)
		if (strcmp(c->v[i].key, key) == 0)
			return &c->v[i];
	return NULL;
}

/*
 * Stores value (NULL: absent; consumed when stored) under key.  0 stored,
 * -1 not stored (nothing loaded yet, out of memory): value stays the
 * caller's.
 */
static int
pdb_cache_put(struct pdb_cache *c, const char *key, cJSON *v)
{
	struct pdb_entry *e;
	char *k;

	if (!pdb.loaded || (k = strdup(key)) == NULL)
		return -1;
	if (c->n < PDB_CACHE_N)
		e = &c->v[c->n++];
	else {
		e = &c->v[c->next];
		c->next = (c->next + 1) % PDB_CACHE_N;
		free(e->key);
		cJSON_Delete(e->value);
	}
	e->key = k;
	e->value = v;
	return 0;
}

void
policydb_reset(void)
{
	policy_set_free(pdb.set);
	pdb.set = NULL;
	pdb_cache_clear(&pdb.users);
	pdb_cache_clear(&pdb.clients);
	pdb_cache_clear(&pdb.roles);
	pdb.loaded = 0;
	pdb.version = 0;
}

/* Parses the policies one by one; an invalid one is skipped (logged). */
static struct policy_set *
pdb_parse_policies(const cJSON *arr)
{
	struct policy_set *set;
	struct policy *p;
	const cJSON *it;
	char why[256];

	if ((set = policy_set_new()) == NULL)
		return NULL;
	cJSON_ArrayForEach(it, arr) {
		if ((p = policy_parse(it, why, sizeof(why))) == NULL) {
			log_warn("AccessPolicy %s skipped: %s",
			    json_get_str(it, "id") != NULL ? json_get_str(it, "id") : "?", why);
			continue;
		}
		if (policy_set_add(set, p) != 0) {
			policy_set_free(set);
			return NULL;
		}
	}
	return set;
}

static int
pdb_load(void)
{
	static const char sql[] =
	    "SELECT (SELECT version FROM smart.config_version WHERE id = 1), "
	    "coalesce(jsonb_agg(resource || jsonb_build_object('resourceType', 'AccessPolicy', "
	    "'id', id) ORDER BY id), '[]'::jsonb)::text FROM smart.access_policies";
	struct policy_set *set = NULL;
	cJSON *arr = NULL;
	const char *txt;
	PGresult *res;
	int rc = -1;

	if ((res = db_exec(sql, 0, NULL)) == NULL)
		return -1;
	txt = PQgetvalue(res, 0, 1);
	if ((arr = json_parse_strict(txt, strlen(txt), NULL)) == NULL || !cJSON_IsArray(arr)) {
		log_err("cannot read the AccessPolicies");
		goto out;
	}
	if ((set = pdb_parse_policies(arr)) == NULL) {
		log_err("out of memory loading the AccessPolicies");
		goto out;
	}
	policydb_reset();
	pdb.set = set;
	pdb.fresh = 0;
	pdb.version = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	pdb.loaded = 1;
	log_debug("loaded %zu AccessPolicies (configuration version %lld)",
	    policy_set_count(set), pdb.version);
	rc = 0;
out:
	cJSON_Delete(arr);
	PQclear(res);
	return rc;
}

static const char pdb_version_sql[] = "SELECT version FROM smart.config_version WHERE id = 1";

int
policydb_sync_result(PGresult *res)
{
	return policydb_sync_result_at(res, 0);
}

int
policydb_sync_result_at(PGresult *res, int col)
{
	long long v;

	pdb.fresh = 0;
	if (res == NULL)
		return -1;
	/* No version row (NULL, or no row at all): reload every time. */
	v = PQntuples(res) == 1 && col >= 0 && col < PQnfields(res) && !PQgetisnull(res, 0, col) ?
	    strtoll(PQgetvalue(res, 0, col), NULL, 10) : -1;
	if (!(pdb.loaded && v == pdb.version) && pdb_load() == -1)
		return -1;
	pdb.fresh = 1;
	return 0;
}

void
policydb_sync_stmt(struct db_stmt *s)
{
	s->sql = pdb_version_sql;
	s->nparams = 0;
	s->params = NULL;
	s->res = NULL;
}

void
policydb_request_begin(void)
{
	pdb.fresh = 0;
}

int
policydb_sync(void)
{
	PGresult *res;
	int rc;

	/* Already polled in this request's batch (policydb_sync_result). */
	if (pdb.fresh && pdb.loaded)
		return 0;
	if ((res = db_exec(pdb_version_sql, 0, NULL)) == NULL)
		return -1;
	rc = policydb_sync_result(res);
	PQclear(res);
	/* Standalone polls stay per call. */
	pdb.fresh = 0;
	return rc;
}

const struct policy_set *
policydb_policies(void)
{
	return pdb.set;
}

/*
 * Runs sql with one parameter; column 0 is a JSON text, column 1 (when
 * ncols > 1) a boolean that must be true.  Returns an owned value, or NULL
 * with *missing = 1 (no row, false flag) or 0 (failure).
 */
static cJSON *
pdb_load_one(const char *sql, const char *param, int ncols, int *missing)
{
	const char *params[1] = { param };
	const char *txt;
	PGresult *res;
	cJSON *v = NULL;

	*missing = 0;
	if ((res = db_exec(sql, 1, params)) == NULL)
		return NULL;
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0) ||
	    (ncols > 1 && strcmp(PQgetvalue(res, 0, 1), "t") != 0)) {
		*missing = 1;
		goto out;
	}
	txt = PQgetvalue(res, 0, 0);
	if ((v = json_parse_strict(txt, strlen(txt), NULL)) == NULL)
		log_err("cannot read a stored resource");
out:
	PQclear(res);
	return v;
}

/*
 * Cached lookup through pdb_load_one, without a copy: the value is
 * borrowed from the cache (valid until the next sync or put into the same
 * cache), or, when it could not be cached, owned through *tmp (the caller
 * frees *tmp, NULL otherwise).  NULL with *missing as pdb_load_one.
 */
static const cJSON *
pdb_peek(struct pdb_cache *c, const char *sql, const char *key, int ncols, int *missing,
    cJSON **tmp)
{
	const struct pdb_entry *e;
	cJSON *v;

	*missing = 0;
	*tmp = NULL;
	if (key == NULL) {
		*missing = 1;
		return NULL;
	}
	if ((e = pdb_cache_get(c, key)) != NULL) {
		if (e->value == NULL)
			*missing = 1;
		return e->value;
	}
	v = pdb_load_one(sql, key, ncols, missing);
	if ((v != NULL || *missing) && pdb_cache_put(c, key, v) == 0)
		return v;
	*tmp = v;
	return v;
}

/* Cached lookup through pdb_load_one; an owned copy. */
static cJSON *
pdb_cached(struct pdb_cache *c, const char *sql, const char *key, int ncols, int *missing)
{
	const cJSON *v;
	cJSON *tmp, *copy;

	if ((v = pdb_peek(c, sql, key, ncols, missing, &tmp)) == NULL)
		return NULL;
	if (tmp != NULL)
		return tmp;
	if ((copy = cJSON_Duplicate(v, 1)) == NULL)
		log_err("out of memory");
	return copy;
}

static const char pdb_roles_sql[] =
    "SELECT coalesce(jsonb_agg(r.resource || jsonb_build_object('resourceType', 'Role', "
    "'id', r.id, 'name', r.name, 'user', jsonb_build_object('id', r.user_id, "
    "'resourceType', 'User'), 'links', r.links) ORDER BY r.id), '[]'::jsonb)::text "
    "FROM smart.roles r WHERE r.user_id = $1";
/* The password hash lives in its own column; resource never holds it. */
static const char pdb_user_sql[] =
    "SELECT ((resource || jsonb_build_object('resourceType', 'User', 'id', id)) "
    "- 'password' - 'password_hash')::text, active FROM smart.users WHERE id = $1";
static const char pdb_client_sql[] =
    "SELECT ((resource || jsonb_build_object('resourceType', 'Client', 'id', id)) "
    "- 'secret' - 'client_secret')::text, active FROM smart.clients WHERE id = $1";

cJSON *
policydb_roles_load(const char *user_id)
{
	int missing;

	return pdb_cached(&pdb.roles, pdb_roles_sql, user_id, 1, &missing);
}

cJSON *
policydb_user_load(const char *user_id, int *missing)
{
	return pdb_cached(&pdb.users, pdb_user_sql, user_id, 2, missing);
}

cJSON *
policydb_client_load(const char *client_id, int *missing)
{
	return pdb_cached(&pdb.clients, pdb_client_sql, client_id, 2, missing);
}

/* ---- the decision ---- */

static void
pdb_audit_denied(const struct policydb_request *q, const char *uri, const char *why)
{
	cJSON *d = cJSON_CreateObject();

	if (d != NULL) {
		cJSON_AddStringToObject(d, "uri", uri);
		cJSON_AddStringToObject(d, "request-method", q->method != NULL ? q->method : "");
		cJSON_AddStringToObject(d, "reason", why);
	}
	audit_event("denied", "denied", q->user_id, q->client_id, q->remote_addr, d);
	cJSON_Delete(d);
}

enum policydb_outcome
policydb_check(const char *fhir_path, const struct policydb_request *q,
    struct policydb_decision *d)
{
	struct policydb_decision local;
	struct policy_request_info info;
	const cJSON *client = NULL, *user = NULL, *roles = NULL;
	cJSON *tclient = NULL, *tuser = NULL, *troles = NULL, *req = NULL;
	const char *why = NULL, *matched = NULL, *cid, *uid;
	enum policydb_outcome o = POLICYDB_ERROR;
	char *rel = NULL;
	int missing, rc;

	if (d == NULL)
		d = &local;
	memset(d, 0, sizeof(*d));
	if (q == NULL || q->method == NULL) {
		log_err("no request to decide");
		return POLICYDB_ERROR;
	}
	if (policydb_sync() == -1)
		goto dbfail;
	if ((rel = policydb_relative_path(fhir_path, q->path, &why)) == NULL) {
		if (why == pdb_oom)
			return POLICYDB_ERROR;
		d->why = why;
		log_info("refused request path: %s", why);
		pdb_audit_denied(q, "", why);
		return POLICYDB_BAD_PATH;
	}
	snprintf(d->uri, sizeof(d->uri), "%s", rel);

	/* An unknown or inactive caller is no caller: its links never match. */
	cid = q->client_id;
	uid = q->user_id;
	/* Borrowed from the cache: three caches, so no lookup evicts another's value. */
	if (cid != NULL && (client = pdb_peek(&pdb.clients, pdb_client_sql, cid, 2, &missing,
	    &tclient)) == NULL) {
		if (!missing)
			goto dbfail;
		cid = NULL;
	}
	if (uid != NULL && (user = pdb_peek(&pdb.users, pdb_user_sql, uid, 2, &missing,
	    &tuser)) == NULL) {
		if (!missing)
			goto dbfail;
		uid = NULL;
	}
	if (uid != NULL && (roles = pdb_peek(&pdb.roles, pdb_roles_sql, uid, 1, &missing,
	    &troles)) == NULL)
		goto dbfail;

	memset(&info, 0, sizeof(info));
	info.resource_type = q->resource_type;
	info.resource_id = q->resource_id;
	info.route_params = q->route_params;
	info.body = q->body;
	info.user = user;
	info.client = client;
	info.jwt = q->jwt;
	info.scheme = q->scheme;
	info.remote_addr = q->remote_addr;
	/* Everything in info outlives req (freed below): no copies needed. */
	info.borrow = 1;
	if ((req = policy_request_new(rel, q->method, q->query, &info)) == NULL) {
		d->why = "malformed request";
		pdb_audit_denied(q, rel, d->why);
		o = POLICYDB_BAD_PATH;
		goto out;
	}
	rc = policy_set_allows(pdb.set, req, roles, cid, uid, &matched);
	if (rc == 1) {
		snprintf(d->policy_id, sizeof(d->policy_id), "%s", matched != NULL ? matched : "");
		o = POLICYDB_ALLOW;
		goto out;
	}
	d->why = "no AccessPolicy allows the request";
	pdb_audit_denied(q, rel, d->why);
	o = POLICYDB_DENY;
	goto out;
dbfail:
	o = db_unavailable() ? POLICYDB_UNAVAILABLE : POLICYDB_ERROR;
	d->why = "database unavailable";
out:
	cJSON_Delete(req);
	cJSON_Delete(troles);
	cJSON_Delete(tuser);
	cJSON_Delete(tclient);
	free(rel);
	return o;
}
