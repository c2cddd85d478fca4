/*
 * gateway_bundle: batch and transaction bundles (FHIR R4 §3.1.0.11
 * "batch/transaction"; SMART 2.2 §scopes: "authorize each inner request
 * individually").
 *
 * Every entry becomes a struct gw_call and goes through gw_dispatch, so
 * it meets exactly the scope, compartment, constraint and policy checks
 * of the same request sent on its own.  A batch runs its entries
 * independently.  A transaction runs them in one database transaction in
 * the R4 order (DELETE, POST, PUT, GET) and is all or nothing: the first
 * entry that fails rolls everything back and its error is the answer.
 * Creates in a transaction get their ids up front, so references to their
 * urn:uuid fullUrls are rewritten to Type/id before anything is stored.
 *
 * Entries may not nest bundles, call _search by POST, or use conditional
 * interactions (ifNoneExist, conditional URLs): those are refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway_int.h"
#include "json.h"
#include "log.h"
#include "outcome.h"
#include "store.h"

struct gw_urn {
	const char	*urn;		/* borrowed from the bundle */
	char		 ref[150];	/* Type/id */
};

/* Rewrites every "reference": "urn:uuid:..." that names a create. */
static void
gw_rewrite_refs(cJSON *v, const struct gw_urn *map, size_t n, int depth)
{
	cJSON *e;
	size_t i;

	if (v == NULL || depth > JSON_MAX_DEPTH)
		return;
	cJSON_ArrayForEach(e, v) {
		if (cJSON_IsString(e) && e->string != NULL && strcmp(e->string, "reference") == 0) {
			for (i = 0; i < n; i++)
				if (strcmp(e->valuestring, map[i].urn) == 0) {
					cJSON_SetValuestring(e, map[i].ref);
					break;
				}
		} else if (cJSON_IsObject(e) || cJSON_IsArray(e))
			gw_rewrite_refs(e, map, n, depth + 1);
	}
}

/* Runs one entry into out.  0, or -1 (out of memory). */
static int
gw_entry_run(struct gateway *g, struct gw_principal *pr, const cJSON *entry, int in_tx,
    const char *assign_id, struct gw_out *out)
{
	const cJSON *req = json_get_obj(entry, "request");
	const char *method = json_get_str(req, "method"), *url = json_get_str(req, "url");
	const char *why, *base = g->cfg->fhir_base;
	size_t bl = strlen(base);
	struct gw_call c;
	struct form params = { 0 };
	char *path = NULL;
	const char *q;
	enum form_error fe;
	int status, rc = -1;

	memset(&c, 0, sizeof(c));
	if (method == NULL || url == NULL)
		return gw_error(out, 400, "invalid", "each entry needs request.method and request.url");
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
	    strcmp(method, "POST") != 0 && strcmp(method, "PUT") != 0 &&
	    strcmp(method, "DELETE") != 0)
		return gw_error(out, 405, "not-supported", "entry method not supported");
	if (json_get_str(req, "ifNoneExist") != NULL || json_get_str(req, "ifModifiedSince") != NULL)
		return gw_error(out, 400, "not-supported", "conditional interactions are not supported");
	if (strncmp(url, base, bl) == 0 && url[bl] == '/')
		url += bl + 1;
	else if (strstr(url, "://") != NULL)
		return gw_error(out, 400, "invalid", "entry URL is not on this server");
	if (url[0] == '/')
		url++;
	q = strchr(url, '?');
	if ((path = strndup(url, q != NULL ? (size_t)(q - url) : strlen(url))) == NULL)
		goto out;
	if ((status = gw_route_parse_rel(path, 1, &c.rt, &why)) != 0) {
		rc = gw_error(out, status, NULL, why);
		goto out;
	}
	if (c.rt.kind == GW_R_BASE || c.rt.kind == GW_R_METADATA || c.rt.kind == GW_R_TYPE_SEARCH) {
		rc = gw_error(out, 400, "not-supported", "entry URL not supported in a bundle");
		goto out;
	}
	if (q != NULL && (strcmp(method, "PUT") == 0 || strcmp(method, "DELETE") == 0)) {
		rc = gw_error(out, 400, "not-supported", "conditional interactions are not supported");
		goto out;
	}
	if ((fe = form_parse(&params, q != NULL ? q + 1 : "", q != NULL ? strlen(q + 1) : 0)) != FORM_OK) {
		rc = fe == FORM_ENOMEM ? -1 : gw_error(out, 400, "invalid", form_strerror(fe));
		goto out;
	}
	if (asprintf(&c.path, "%s/%s", g->cfg->fhir_path, path) < 0) {
		c.path = NULL;
		goto out;
	}
	c.method = method;
	c.query = q != NULL ? q + 1 : "";
	c.params = &params;
	c.if_match = json_get_str(req, "ifMatch");
	c.if_none_match = json_get_str(req, "ifNoneMatch");
	c.in_tx = in_tx;
	c.assign_id = assign_id;
	if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
		c.body = json_get_obj(entry, "resource");
		if (c.body == NULL) {
			rc = gw_error(out, 400, "invalid", "entry needs a resource");
			goto out;
		}
	}
	rc = gw_dispatch(g, pr, &c, out);
out:
	free(c.path);
	free(path);
	form_clear(&params);
	return rc;
}

/* Appends the response entry of one outcome. */
static int
gw_entry_response(struct buf *b, int first, const struct gw_out *r)
{
	char status[64], date[32];

	snprintf(status, sizeof(status), "%d %s", r->status, http_reason(r->status));
	buf_puts(b, first ? "{" : ",{");
	if (r->status < 300 && r->location[0] != '\0' && r->body.len > 0 && !r->is_outcome) {
		/* fullUrl: the location without its _history part. */
		char full[sizeof(r->location)];
		const char *h = strstr(r->location, "/_history/");

		snprintf(full, sizeof(full), "%.*s",
		    (int)(h != NULL ? (size_t)(h - r->location) : strlen(r->location)), r->location);
		buf_puts(b, "\"fullUrl\":");
		gw_json_str(b, full);
		buf_puts(b, ",");
	}
	buf_puts(b, "\"response\":{\"status\":");
	gw_json_str(b, status);
	if (r->location[0] != '\0') {
		buf_puts(b, ",\"location\":");
		gw_json_str(b, r->location);
	}
	if (r->etag[0] != '\0') {
		buf_puts(b, ",\"etag\":");
		gw_json_str(b, r->etag);
	}
	if (r->updated > 0) {
		gw_iso_date(r->updated, date, sizeof(date));
		buf_printf(b, ",\"lastModified\":\"%s\"", date);
	}
	if (r->is_outcome && r->body.len > 0) {
		buf_puts(b, ",\"outcome\":");
		buf_append(b, r->body.data, r->body.len);
	}
	buf_puts(b, "}");
	if (!r->is_outcome && r->body.len > 0) {
		buf_puts(b, ",\"resource\":");
		buf_append(b, r->body.data, r->body.len);
	}
	return buf_puts(b, "}");
}

/* R4 transaction order: DELETE, POST, PUT, then GET/HEAD. */
static int
gw_tx_rank(const cJSON *entry)
{
	const char *m = json_get_str(json_get_obj(entry, "request"), "method");

	if (m == NULL)
		return 0;
	if (strcmp(m, "DELETE") == 0)
		return 0;
	if (strcmp(m, "POST") == 0)
		return 1;
	if (strcmp(m, "PUT") == 0)
		return 2;
	return 3;
}

int
gw_bundle(struct gateway *g, struct gw_principal *pr, const cJSON *bundle, struct gw_out *o)
{
	const char *rtype = json_get_str(bundle, "resourceType"), *btype = json_get_str(bundle, "type");
	cJSON *entries = NULL, *e;
	struct gw_out *outs = NULL;
	struct gw_urn *map = NULL;
	char (*ids)[40] = NULL;
	size_t n, i, nmap = 0;
	int tx, rank, rc = -1, began = 0, failed = -1;

	if (rtype == NULL || strcmp(rtype, "Bundle") != 0 || btype == NULL ||
	    (strcmp(btype, "batch") != 0 && strcmp(btype, "transaction") != 0))
		return gw_error(o, 400, "invalid", "POST to the base takes a Bundle of type batch or transaction");
	tx = strcmp(btype, "transaction") == 0;
	if (cJSON_GetObjectItemCaseSensitive(bundle, "entry") != NULL &&
	    json_get_arr(bundle, "entry") == NULL)
		return gw_error(o, 400, "invalid", "Bundle.entry must be an array");
	if ((entries = cJSON_Duplicate(json_get_arr(bundle, "entry"), 1)) == NULL &&
	    json_get_arr(bundle, "entry") != NULL)
		return -1;
	if (entries == NULL && (entries = cJSON_CreateArray()) == NULL)
		return -1;
	n = (size_t)cJSON_GetArraySize(entries);
	if (n > GW_BUNDLE_MAX) {
		cJSON_Delete(entries);
		return gw_error(o, 400, "too-costly", "at most 100 entries per bundle");
	}
	if ((outs = calloc(n + 1, sizeof(*outs))) == NULL || (map = calloc(n + 1, sizeof(*map))) == NULL ||
	    (ids = calloc(n + 1, sizeof(*ids))) == NULL)
		goto out;
	for (i = 0; i < n; i++)
		gw_out_init(&outs[i]);

	if (tx) {
		/* Ids for creates first, so urn:uuid references can point at them. */
		i = 0;
		cJSON_ArrayForEach(e, entries) {
			const char *m = json_get_str(json_get_obj(e, "request"), "method");
			const char *full = json_get_str(e, "fullUrl");
			const char *t = json_get_str(json_get_obj(e, "resource"), "resourceType");

			if (!cJSON_IsObject(e)) {
				rc = gw_error(o, 400, "invalid", "each entry must be an object");
				goto out;
			}
			if (m != NULL && strcmp(m, "POST") == 0) {
				if (store_new_id(ids[i], sizeof(ids[i])) == -1)
					goto out;
				if (full != NULL && strncmp(full, "urn:uuid:", 9) == 0 && t != NULL &&
				    fs_valid_type(t)) {
					map[nmap].urn = full;
					snprintf(map[nmap].ref, sizeof(map[nmap].ref), "%s/%s", t, ids[i]);
					nmap++;
				}
			}
			i++;
		}
		if (nmap > 0) {
			cJSON_ArrayForEach(e, entries) {
				cJSON *res = cJSON_GetObjectItemCaseSensitive(e, "resource");

				if (cJSON_IsObject(res))
					gw_rewrite_refs(res, map, nmap, 0);
			}
		}
		if (store_begin() == -1) {
			rc = gw_db_error(o);
			goto out;
		}
		began = 1;
		for (rank = 0; rank < 4 && failed < 0; rank++) {
			i = 0;
			cJSON_ArrayForEach(e, entries) {
				if (gw_tx_rank(e) == rank) {
					if (gw_entry_run(g, pr, e, 1, ids[i][0] ? ids[i] : NULL, &outs[i]) == -1)
						goto out;
					if (outs[i].status >= 400) {
						failed = (int)i;
						break;
					}
				}
				i++;
			}
		}
		if (failed >= 0) {
			/* All or nothing: the failing entry's error is the answer. */
			store_rollback();
			began = 0;
			o->status = outs[failed].status;
			o->is_outcome = 1;
			o->bearer_error = outs[failed].bearer_error;
			o->retry_after = outs[failed].retry_after;
			buf_reset(&o->body);
			buf_append(&o->body, outs[failed].body.data, outs[failed].body.len);
			rc = o->body.failed ? -1 : 0;
			goto out;
		}
		began = 0;
		if (store_commit() == -1) {
			rc = gw_db_error(o);
			goto out;
		}
	} else {
		i = 0;
		cJSON_ArrayForEach(e, entries) {
			if (!cJSON_IsObject(e))
				rc = gw_error(&outs[i], 400, "invalid", "each entry must be an object");
			else
				rc = gw_entry_run(g, pr, e, 0, NULL, &outs[i]);
			if (rc == -1)
				goto out;
			i++;
		}
	}

	if (gw_bundle_open(&o->body, tx ? "transaction-response" : "batch-response", -1) == -1)
		goto out;
	buf_puts(&o->body, ",\"entry\":[");
	for (i = 0; i < n; i++)
		gw_entry_response(&o->body, i == 0, &outs[i]);
	buf_puts(&o->body, "]}");
	o->status = 200;
	rc = o->body.failed ? -1 : 0;
out:
	if (began)
		store_rollback();
	for (i = 0; outs != NULL && i < n; i++)
		gw_out_free(&outs[i]);
	free(outs);
	free(map);
	free(ids);
	cJSON_Delete(entries);
	return rc;
}
