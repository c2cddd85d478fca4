/*
 * rpc: aidbox.smart/get-launch-uri arguments, result and launch rows.
 * See rpc.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "db.h"
#include "form.h"
#include "json.h"
#include "log.h"
#include "rpc.h"

/* 1 when s is non-empty, at most max bytes and free of control bytes. */
static int
rpc_text_ok(const char *s, size_t max)
{
	size_t n;

	if (s == NULL || *s == '\0')
		return 0;
	for (n = 0; s[n] != '\0'; n++)
		if ((unsigned char)s[n] < 0x20 || s[n] == 0x7f || n >= max)
			return 0;
	return 1;
}

int
rpc_ref_id(const cJSON *v, const char *type, const char **id)
{
	const cJSON *rt, *iv;

	*id = NULL;
	if (cJSON_IsString(v)) {
		*id = v->valuestring;
	} else if (cJSON_IsObject(v)) {
		/* A reference object as Aidbox's callers send it. */
		iv = cJSON_GetObjectItemCaseSensitive(v, "id");
		rt = cJSON_GetObjectItemCaseSensitive(v, "resourceType");
		if (!cJSON_IsString(iv))
			return -1;
		if (rt != NULL && (!cJSON_IsString(rt) || strcmp(rt->valuestring, type) != 0))
			return -1;
		*id = iv->valuestring;
	} else
		return -1;
	if (!rpc_text_ok(*id, RPC_ID_MAX)) {
		*id = NULL;
		return -1;
	}
	return 0;
}

int
rpc_fhir_id_ok(const char *s)
{
	size_t n;

	if (s == NULL)
		return 0;
	for (n = 0; s[n] != '\0'; n++)
		if (n >= 64 || !((s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= 'a' && s[n] <= 'z') ||
		    (s[n] >= '0' && s[n] <= '9') || s[n] == '-' || s[n] == '.'))
			return 0;
	return n > 0;
}

/* Equal, ignoring one trailing '/' on either side. */
static int
rpc_base_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 0 && a[la - 1] == '/')
		la--;
	if (lb > 0 && b[lb - 1] == '/')
		lb--;
	return la == lb && la > 0 && memcmp(a, b, la) == 0;
}

int
rpc_iss_matches(const char *iss, const char *fhir_base)
{
	enum form_error fe;
	char *dec;
	int ok;

	if (iss == NULL || fhir_base == NULL || *iss == '\0')
		return 0;
	if (rpc_base_eq(iss, fhir_base))
		return 1;
	if (strchr(iss, '%') == NULL)
		return 0;
	/* Decoded once only: "%253A" stays "%3A" and does not match. */
	if ((dec = form_decode(iss, strlen(iss), 0, &fe)) == NULL)
		return 0;
	ok = rpc_base_eq(dec, fhir_base);
	free(dec);
	return ok;
}

/*
 * Reads ctx.patient or ctx.encounter: a FHIR id, "Type/id", or a
 * reference object ({"id", "resourceType"} or {"reference": "Type/id"}).
 * Adds the bare id to ctx_out.  0 (also when absent or null), -1 with why.
 */
static int
rpc_ctx_ref(const cJSON *ctx, const char *name, const char *type, cJSON *ctx_out,
    char *why, size_t whysz)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(ctx, name), *ref;
	const char *id = NULL, *s = NULL;
	size_t tl = strlen(type);

	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (cJSON_IsString(v))
		s = v->valuestring;
	else if (cJSON_IsObject(v) && cJSON_IsString(ref = cJSON_GetObjectItemCaseSensitive(v, "reference")))
		s = ref->valuestring;
	else if (cJSON_IsObject(v) && rpc_ref_id(v, type, &id) == 0)
		s = id;
	if (s != NULL && strncmp(s, type, tl) == 0 && s[tl] == '/')
		s += tl + 1;
	if (s == NULL || !rpc_fhir_id_ok(s)) {
		buf_why(why, whysz, "params.ctx.%s must be a %s id or reference", name, type);
		return -1;
	}
	if (cJSON_AddStringToObject(ctx_out, name, s) == NULL) {
		buf_why(why, whysz, "out of memory");
		return -1;
	}
	return 0;
}

static int
rpc_ctx_fhir_context(const cJSON *ctx, cJSON *ctx_out, char *why, size_t whysz)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(ctx, "fhirContext"), *it;
	const char *ref, *role;
	cJSON *arr, *o;
	int i = 0;

	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsArray(v)) {
		buf_why(why, whysz, "params.ctx.fhirContext must be an array");
		return -1;
	}
	if (cJSON_GetArraySize(v) > RPC_FHIR_CONTEXT_MAX) {
		buf_why(why, whysz, "params.ctx.fhirContext has more than %d entries",
		    RPC_FHIR_CONTEXT_MAX);
		return -1;
	}
	if ((arr = cJSON_AddArrayToObject(ctx_out, "fhirContext")) == NULL)
		goto nomem;
	cJSON_ArrayForEach(it, v) {
		ref = json_get_str(it, "reference");
		if (!cJSON_IsObject(it) || !rpc_text_ok(ref, RPC_REF_MAX)) {
			buf_why(why, whysz, "params.ctx.fhirContext[%d] must be an object "
			    "with a string \"reference\"", i);
			return -1;
		}
		role = json_get_str(it, "role");
		if (cJSON_GetObjectItemCaseSensitive(it, "role") != NULL && !rpc_text_ok(role, RPC_REF_MAX)) {
			buf_why(why, whysz, "params.ctx.fhirContext[%d].role must be a string", i);
			return -1;
		}
		if ((o = cJSON_CreateObject()) == NULL)
			goto nomem;
		cJSON_AddItemToArray(arr, o);
		if (cJSON_AddStringToObject(o, "reference", ref) == NULL ||
		    (role != NULL && cJSON_AddStringToObject(o, "role", role) == NULL))
			goto nomem;
		i++;
	}
	return 0;
nomem:
	buf_why(why, whysz, "out of memory");
	return -1;
}

/* Builds the stored launch context from params.ctx (may be NULL). */
static cJSON *
rpc_context_new(const cJSON *ctx, char *why, size_t whysz)
{
	const cJSON *v;
	cJSON *out;

	if ((out = cJSON_CreateObject()) == NULL) {
		buf_why(why, whysz, "out of memory");
		return NULL;
	}
	if (ctx == NULL || cJSON_IsNull(ctx))
		return out;
	if (!cJSON_IsObject(ctx)) {
		buf_why(why, whysz, "params.ctx must be an object");
		goto fail;
	}
	if (rpc_ctx_ref(ctx, "patient", "Patient", out, why, whysz) != 0 ||
	    rpc_ctx_ref(ctx, "encounter", "Encounter", out, why, whysz) != 0 ||
	    rpc_ctx_fhir_context(ctx, out, why, whysz) != 0)
		goto fail;
	v = cJSON_GetObjectItemCaseSensitive(ctx, "intent");
	if (v != NULL && !cJSON_IsNull(v)) {
		if (!cJSON_IsString(v) || !rpc_text_ok(v->valuestring, RPC_REF_MAX)) {
			buf_why(why, whysz, "params.ctx.intent must be a non-empty string");
			goto fail;
		}
		if (cJSON_AddStringToObject(out, "intent", v->valuestring) == NULL)
			goto nomem;
	}
	v = cJSON_GetObjectItemCaseSensitive(ctx, "need_patient_banner");
	if (v != NULL && !cJSON_IsNull(v)) {
		if (!cJSON_IsBool(v)) {
			buf_why(why, whysz, "params.ctx.need_patient_banner must be a boolean");
			goto fail;
		}
		if (cJSON_AddBoolToObject(out, "need_patient_banner", cJSON_IsTrue(v)) == NULL)
			goto nomem;
	}
	return out;
nomem:
	buf_why(why, whysz, "out of memory");
fail:
	cJSON_Delete(out);
	return NULL;
}

void
rpc_launch_clear(struct rpc_launch *l)
{
	if (l == NULL)
		return;
	cJSON_Delete(l->context);
	memset(l, 0, sizeof(*l));
}

int
rpc_launch_parse(const cJSON *body, const char *fhir_base, struct rpc_launch *out,
    char *why, size_t whysz)
{
	const cJSON *method, *params, *v;
	const char *iss;

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(body)) {
		buf_why(why, whysz, "the body must be a JSON object");
		return -1;
	}
	method = cJSON_GetObjectItemCaseSensitive(body, "method");
	if (!cJSON_IsString(method)) {
		buf_why(why, whysz, "method is missing or not a string");
		return -1;
	}
	if (strcmp(method->valuestring, RPC_METHOD_LAUNCH) != 0) {
		buf_why(why, whysz, "unknown method; this endpoint serves %s", RPC_METHOD_LAUNCH);
		return -1;
	}
	params = cJSON_GetObjectItemCaseSensitive(body, "params");
	if (!cJSON_IsObject(params)) {
		buf_why(why, whysz, "params is missing or not an object");
		return -1;
	}
	v = cJSON_GetObjectItemCaseSensitive(params, "user");
	if (v == NULL || cJSON_IsNull(v)) {
		buf_why(why, whysz, "params.user is missing");
		return -1;
	}
	if (rpc_ref_id(v, "User", &out->user_id) != 0) {
		buf_why(why, whysz, "params.user must be a User id or reference");
		return -1;
	}
	v = cJSON_GetObjectItemCaseSensitive(params, "client");
	if (v == NULL || cJSON_IsNull(v)) {
		buf_why(why, whysz, "params.client is missing");
		return -1;
	}
	if (rpc_ref_id(v, "Client", &out->client_id) != 0) {
		buf_why(why, whysz, "params.client must be a Client id or reference");
		return -1;
	}
	v = cJSON_GetObjectItemCaseSensitive(params, "iss");
	if (v == NULL || cJSON_IsNull(v)) {
		buf_why(why, whysz, "params.iss is missing");
		return -1;
	}
	iss = cJSON_IsString(v) ? v->valuestring : NULL;
	if (iss == NULL) {
		buf_why(why, whysz, "params.iss must be a string");
		return -1;
	}
	if (!rpc_iss_matches(iss, fhir_base)) {
		buf_why(why, whysz, "params.iss does not name this server's FHIR base (%s)",
		    fhir_base);
		return -1;
	}
	if ((out->context = rpc_context_new(cJSON_GetObjectItemCaseSensitive(params, "ctx"),
	    why, whysz)) == NULL)
		return -1;
	out->patient = json_get_str(out->context, "patient");
	out->encounter = json_get_str(out->context, "encounter");
	return 0;
}

char *
rpc_launch_url(const char *launch_uri, const char *fhir_base, const char *launch)
{
	const char *frag, *sep;
	char *iss = NULL, *lid = NULL, *url = NULL;
	size_t base, n;
	int w;

	if ((iss = form_encode(fhir_base)) == NULL || (lid = form_encode(launch)) == NULL)
		goto out;
	/* The query goes before a fragment (RFC 3986 §3). */
	frag = strchr(launch_uri, '#');
	base = frag != NULL ? (size_t)(frag - launch_uri) : strlen(launch_uri);
	if (memchr(launch_uri, '?', base) == NULL)
		sep = "?";
	else if (launch_uri[base - 1] == '?' || launch_uri[base - 1] == '&')
		sep = "";
	else
		sep = "&";
	n = strlen(launch_uri) + strlen(iss) + strlen(lid) + 16;
	if ((url = malloc(n)) == NULL)
		goto out;
	w = snprintf(url, n, "%.*s%siss=%s&launch=%s%s", (int)base, launch_uri, sep,
	    iss, lid, frag != NULL ? frag : "");
	if (w < 0 || (size_t)w >= n) {
		free(url);
		url = NULL;
	}
out:
	if (url == NULL)
		log_err("out of memory");
	free(iss);
	free(lid);
	return url;
}

cJSON *
rpc_result(const char *launch_uri, const char *fhir_base, const char *launch)
{
	cJSON *o, *r;
	char *url;

	if ((url = rpc_launch_url(launch_uri, fhir_base, launch)) == NULL)
		return NULL;
	if ((o = cJSON_CreateObject()) == NULL ||
	    (r = cJSON_AddObjectToObject(o, "result")) == NULL ||
	    cJSON_AddStringToObject(r, "uri", url) == NULL ||
	    cJSON_AddStringToObject(r, "launch", launch) == NULL ||
	    cJSON_AddStringToObject(r, "iss", fhir_base) == NULL ||
	    cJSON_AddStringToObject(r, "launch-uri", launch_uri) == NULL) {
		log_err("out of memory");
		cJSON_Delete(o);
		o = NULL;
	}
	free(url);
	return o;
}

cJSON *
rpc_error(const char *message)
{
	cJSON *o, *e;

	if ((o = cJSON_CreateObject()) == NULL ||
	    (e = cJSON_AddObjectToObject(o, "error")) == NULL ||
	    cJSON_AddStringToObject(e, "message", message) == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* ---- database ---- */

enum rpc_lookup
rpc_user_exists(const char *user_id)
{
	static const char sql[] = "SELECT active FROM smart.users WHERE id = $1";
	const char *params[1] = { user_id };
	enum rpc_lookup l;
	PGresult *res;

	if ((res = db_exec(sql, 1, params)) == NULL)
		return RPC_DB_ERROR;
	l = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0 ?
	    RPC_FOUND : RPC_NOT_FOUND;
	PQclear(res);
	return l;
}

enum rpc_lookup
rpc_fhir_exists(const char *type, const char *id, char **patient_of)
{
	static const char sql[] =
	    "SELECT patient_id FROM smart.fhir_resources "
	    "WHERE resource_type = $1 AND id = $2 AND NOT deleted";
	const char *params[2] = { type, id };
	enum rpc_lookup l = RPC_NOT_FOUND;
	PGresult *res;

	if (patient_of != NULL)
		*patient_of = NULL;
	if ((res = db_exec(sql, 2, params)) == NULL)
		return RPC_DB_ERROR;
	if (PQntuples(res) == 1) {
		l = RPC_FOUND;
		if (patient_of != NULL && !PQgetisnull(res, 0, 0) &&
		    (*patient_of = strdup(PQgetvalue(res, 0, 0))) == NULL) {
			log_err("out of memory");
			l = RPC_DB_ERROR;
		}
	}
	PQclear(res);
	return l;
}

int
rpc_launch_store(const char *launch, const char *client_id, const char *user_id,
    const cJSON *context, long lifetime)
{
	static const char sql[] =
	    "INSERT INTO smart.launch_contexts (launch_hash, client_id, user_id, context, expires_at) "
	    "VALUES ($1, $2, $3, $4::jsonb, now() + make_interval(secs => $5::bigint))";
	const char *params[5];
	char *hash = NULL, *ctx = NULL, secs[24];
	int rc = -1;

	if ((hash = crypto_sha256_hex(launch)) == NULL ||
	    (ctx = cJSON_PrintUnformatted(context)) == NULL) {
		log_err("out of memory");
		goto out;
	}
	snprintf(secs, sizeof(secs), "%ld", lifetime);
	params[0] = hash;
	params[1] = client_id;
	params[2] = user_id;
	params[3] = ctx;
	params[4] = secs;
	rc = db_exec_cmd(sql, 5, params);
out:
	cJSON_free(ctx);
	free(hash);
	return rc;
}
