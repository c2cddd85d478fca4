/*
 * capstmt: CapabilityStatement.  See capstmt.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capstmt.h"
#include "db.h"
#include "log.h"
#include "supported.h"

static const char *const capstmt_interactions[] = {
	"read", "vread", "history-instance", "search-type", "create", "update", "delete", NULL
};

static int
capstmt_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
capstmt_add_url(cJSON *ext, const char *name, const char *base, const char *suffix)
{
	cJSON *e;
	char *u;

	if (asprintf(&u, "%s%s", base, suffix) < 0)
		return -1;
	if ((e = cJSON_CreateObject()) == NULL || !cJSON_AddItemToArray(ext, e)) {
		cJSON_Delete(e);
		free(u);
		return -1;
	}
	if (cJSON_AddStringToObject(e, "url", name) == NULL ||
	    cJSON_AddStringToObject(e, "valueUri", u) == NULL) {
		free(u);
		return -1;
	}
	free(u);
	return 0;
}

/* rest.security: CORS, the SMART service coding, the oauth-uris extension. */
static int
capstmt_security(cJSON *rest, const struct config *cfg)
{
	cJSON *sec, *svc, *coding, *c, *exts, *oauth, *inner;

	if ((sec = cJSON_AddObjectToObject(rest, "security")) == NULL ||
	    !cJSON_AddTrueToObject(sec, "cors") ||
	    (svc = cJSON_AddArrayToObject(sec, "service")) == NULL ||
	    (c = cJSON_CreateObject()) == NULL)
		return -1;
	if (!cJSON_AddItemToArray(svc, c)) {
		cJSON_Delete(c);
		return -1;
	}
	if ((coding = cJSON_AddArrayToObject(c, "coding")) == NULL ||
	    cJSON_AddStringToObject(c, "text", "OAuth2 using SMART-on-FHIR profile "
	    "(see http://docs.smarthealthit.org)") == NULL ||
	    (c = cJSON_CreateObject()) == NULL)
		return -1;
	if (!cJSON_AddItemToArray(coding, c)) {
		cJSON_Delete(c);
		return -1;
	}
	if (cJSON_AddStringToObject(c, "system",
	    "http://terminology.hl7.org/CodeSystem/restful-security-service") == NULL ||
	    cJSON_AddStringToObject(c, "code", "SMART-on-FHIR") == NULL ||
	    cJSON_AddStringToObject(c, "display", "SMART-on-FHIR") == NULL)
		return -1;
	if ((exts = cJSON_AddArrayToObject(sec, "extension")) == NULL ||
	    (oauth = cJSON_CreateObject()) == NULL)
		return -1;
	if (!cJSON_AddItemToArray(exts, oauth)) {
		cJSON_Delete(oauth);
		return -1;
	}
	if (cJSON_AddStringToObject(oauth, "url", CAPSTMT_OAUTH_URIS) == NULL ||
	    (inner = cJSON_AddArrayToObject(oauth, "extension")) == NULL)
		return -1;
	/* The same URLs as lib/wellknown.c's discovery document. */
	if (capstmt_add_url(inner, "authorize", cfg->auth_base, "/authorize") == -1 ||
	    capstmt_add_url(inner, "token", cfg->auth_base, "/token") == -1)
		return -1;
	if (supported_introspection &&
	    capstmt_add_url(inner, "introspect", cfg->auth_base, "/introspect") == -1)
		return -1;
	if (supported_revocation &&
	    capstmt_add_url(inner, "revoke", cfg->auth_base, "/revoke") == -1)
		return -1;
	return 0;
}

static int
capstmt_add_str(cJSON *arr, const char *s)
{
	cJSON *v = cJSON_CreateString(s);

	if (v == NULL || !cJSON_AddItemToArray(arr, v)) {
		cJSON_Delete(v);
		return -1;
	}
	return 0;
}

static int
capstmt_search_params(cJSON *res, const struct fs_registry *reg, const char *type)
{
	cJSON *sp, *inc, *rev, *p;
	char buf[200];
	size_t i, pass;

	if ((sp = cJSON_AddArrayToObject(res, "searchParam")) == NULL ||
	    (inc = cJSON_AddArrayToObject(res, "searchInclude")) == NULL ||
	    (rev = cJSON_AddArrayToObject(res, "searchRevInclude")) == NULL)
		return -1;
	/* The type's own parameters, then the common ones it does not override. */
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < reg->n; i++) {
			const struct fs_def *d = &reg->v[i];

			if (strcmp(d->rtype, pass == 0 ? type : "Resource") != 0)
				continue;
			if (pass == 1 && fs_registry_find(reg, type, d->name) != d)
				continue;
			if (d->type != FS_TOKEN && d->type != FS_REFERENCE &&
			    d->type != FS_STRING && d->type != FS_DATE && d->type != FS_URI)
				continue;	/* not searchable here: not advertised */
			if ((p = cJSON_CreateObject()) == NULL || !cJSON_AddItemToArray(sp, p)) {
				cJSON_Delete(p);
				return -1;
			}
			if (cJSON_AddStringToObject(p, "name", d->name) == NULL ||
			    cJSON_AddStringToObject(p, "type", fs_type_name(d->type)) == NULL)
				return -1;
			if (d->type == FS_REFERENCE) {
				snprintf(buf, sizeof(buf), "%s:%s", type, d->name);
				if (capstmt_add_str(inc, buf) == -1)
					return -1;
			}
		}
	/* Reference parameters of other types that may point here. */
	for (i = 0; i < reg->n; i++) {
		const struct fs_def *d = &reg->v[i];

		if (d->type != FS_REFERENCE || strcmp(d->rtype, "Resource") == 0 ||
		    (d->target != NULL && strcmp(d->target, type) != 0))
			continue;
		snprintf(buf, sizeof(buf), "%s:%s", d->rtype, d->name);
		if (capstmt_add_str(rev, buf) == -1)
			return -1;
	}
	return 0;
}

static int
capstmt_resource(cJSON *arr, const struct fs_registry *reg, const char *type)
{
	cJSON *res, *ia, *i;
	size_t k;

	if ((res = cJSON_CreateObject()) == NULL || !cJSON_AddItemToArray(arr, res)) {
		cJSON_Delete(res);
		return -1;
	}
	if (cJSON_AddStringToObject(res, "type", type) == NULL ||
	    (ia = cJSON_AddArrayToObject(res, "interaction")) == NULL)
		return -1;
	for (k = 0; capstmt_interactions[k] != NULL; k++) {
		if ((i = cJSON_CreateObject()) == NULL || !cJSON_AddItemToArray(ia, i)) {
			cJSON_Delete(i);
			return -1;
		}
		if (cJSON_AddStringToObject(i, "code", capstmt_interactions[k]) == NULL)
			return -1;
	}
	if (cJSON_AddStringToObject(res, "versioning", "versioned-update") == NULL ||
	    !cJSON_AddTrueToObject(res, "readHistory") ||
	    !cJSON_AddTrueToObject(res, "updateCreate") ||
	    !cJSON_AddFalseToObject(res, "conditionalCreate") ||
	    cJSON_AddStringToObject(res, "conditionalRead", "not-supported") == NULL ||
	    !cJSON_AddFalseToObject(res, "conditionalUpdate") ||
	    cJSON_AddStringToObject(res, "conditionalDelete", "not-supported") == NULL)
		return -1;
	return capstmt_search_params(res, reg, type);
}

cJSON *
capstmt_new(const struct config *cfg, const struct fs_registry *reg,
    const char *const *data_types, size_t n, const char *date)
{
	const char **types = NULL;
	size_t ntypes = 0, i, k;
	cJSON *cs = NULL, *a, *rest, *o, *resources, *ia;

	if ((types = calloc(reg->n + n + 1, sizeof(*types))) == NULL)
		goto fail;
	for (i = 0; i < reg->n; i++)
		if (strcmp(reg->v[i].rtype, "Resource") != 0)
			types[ntypes++] = reg->v[i].rtype;
	for (i = 0; i < n; i++)
		types[ntypes++] = data_types[i];
	qsort(types, ntypes, sizeof(*types), capstmt_cmp);

	if ((cs = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(cs, "resourceType", "CapabilityStatement") == NULL ||
	    cJSON_AddStringToObject(cs, "status", "active") == NULL ||
	    cJSON_AddStringToObject(cs, "date", date) == NULL ||
	    cJSON_AddStringToObject(cs, "publisher", "smartauth") == NULL ||
	    cJSON_AddStringToObject(cs, "kind", "instance") == NULL ||
	    (o = cJSON_AddObjectToObject(cs, "software")) == NULL ||
	    cJSON_AddStringToObject(o, "name", "smartauth") == NULL ||
	    cJSON_AddStringToObject(o, "version", SMARTAUTH_VERSION) == NULL ||
	    (o = cJSON_AddObjectToObject(cs, "implementation")) == NULL ||
	    cJSON_AddStringToObject(o, "description", "smartauth FHIR gateway") == NULL ||
	    cJSON_AddStringToObject(o, "url", cfg->fhir_base) == NULL ||
	    cJSON_AddStringToObject(cs, "fhirVersion", "4.0.1") == NULL ||
	    (a = cJSON_AddArrayToObject(cs, "format")) == NULL ||
	    capstmt_add_str(a, "application/fhir+json") == -1 || capstmt_add_str(a, "json") == -1 ||
	    (a = cJSON_AddArrayToObject(cs, "rest")) == NULL ||
	    (rest = cJSON_CreateObject()) == NULL)
		goto fail;
	if (!cJSON_AddItemToArray(a, rest)) {
		cJSON_Delete(rest);
		goto fail;
	}
	if (cJSON_AddStringToObject(rest, "mode", "server") == NULL ||
	    capstmt_security(rest, cfg) == -1 ||
	    (resources = cJSON_AddArrayToObject(rest, "resource")) == NULL)
		goto fail;
	for (i = 0; i < ntypes; i++) {
		if (i > 0 && strcmp(types[i], types[i - 1]) == 0)
			continue;
		if (capstmt_resource(resources, reg, types[i]) == -1)
			goto fail;
	}
	if ((ia = cJSON_AddArrayToObject(rest, "interaction")) == NULL)
		goto fail;
	for (k = 0; k < 2; k++) {
		if ((o = cJSON_CreateObject()) == NULL || !cJSON_AddItemToArray(ia, o)) {
			cJSON_Delete(o);
			goto fail;
		}
		if (cJSON_AddStringToObject(o, "code", k == 0 ? "batch" : "transaction") == NULL)
			goto fail;
	}
	free(types);
	return cs;
fail:
	log_err("out of memory");
	free(types);
	cJSON_Delete(cs);
	return NULL;
}

int
capstmt_types_load(char ***types, size_t *n)
{
	PGresult *res;
	char **v;
	int i, rows;

	*types = NULL;
	*n = 0;
	res = db_exec("SELECT DISTINCT resource_type FROM smart.fhir_resources WHERE NOT deleted "
	    "ORDER BY 1", 0, NULL);
	if (res == NULL)
		return -1;
	rows = PQntuples(res);
	if ((v = calloc((size_t)rows + 1, sizeof(*v))) == NULL) {
		PQclear(res);
		log_err("out of memory");
		return -1;
	}
	for (i = 0; i < rows; i++)
		if ((v[i] = strdup(PQgetvalue(res, i, 0))) == NULL) {
			PQclear(res);
			capstmt_types_free(v, (size_t)i);
			log_err("out of memory");
			return -1;
		}
	PQclear(res);
	*types = v;
	*n = (size_t)rows;
	return 0;
}

void
capstmt_types_free(char **types, size_t n)
{
	size_t i;

	for (i = 0; types != NULL && i < n; i++)
		free(types[i]);
	free(types);
}
