/*
 * client: client records and authentication.  See client.h.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client.h"
#include "crypto.h"
#include "db.h"
#include "json.h"
#include "log.h"

static char *
client_dup_col(PGresult *res, int col)
{
	if (PQgetisnull(res, 0, col))
		return NULL;
	return strdup(PQgetvalue(res, 0, col));
}

static cJSON *
client_json_col(PGresult *res, int col)
{
	const char *v;

	if (PQgetisnull(res, 0, col))
		return NULL;
	v = PQgetvalue(res, 0, col);
	return json_parse_strict(v, strlen(v), NULL);
}

struct client *
client_load(const char *id, int *missing)
{
	static const char sql[] =
	    "SELECT id, resource, secret_hash, secret_required, active, to_jsonb(grant_types), "
	    "to_jsonb(redirect_uris), launch_uri, scope, jwks, jwks_uri, "
	    "coalesce((resource #>> '{auth,authorization_code,access_token_expiration}')::bigint, 0), "
	    "coalesce((resource #>> '{auth,authorization_code,refresh_token_expiration}')::bigint, 0), "
	    "coalesce((resource #>> '{auth,authorization_code,refresh_token}')::boolean, false) "
	    "FROM smart.clients WHERE id = $1";
	const char *params[1] = { id };
	struct client *c = NULL;
	PGresult *res;

	*missing = 0;
	if ((res = db_exec(sql, 1, params)) == NULL)
		return NULL;
	if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 4), "t") != 0) {
		*missing = 1;
		goto out;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto fail;
	c->id = client_dup_col(res, 0);
	c->resource = client_json_col(res, 1);
	c->secret_hash = client_dup_col(res, 2);
	c->secret_required = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
	c->active = 1;
	c->grant_types = client_json_col(res, 5);
	c->redirect_uris = client_json_col(res, 6);
	c->launch_uri = client_dup_col(res, 7);
	c->scope = client_dup_col(res, 8);
	c->jwks = client_json_col(res, 9);
	c->jwks_uri = client_dup_col(res, 10);
	c->access_token_expiration = strtol(PQgetvalue(res, 0, 11), NULL, 10);
	c->refresh_token_expiration = strtol(PQgetvalue(res, 0, 12), NULL, 10);
	c->refresh_token = strcmp(PQgetvalue(res, 0, 13), "t") == 0;
	if (c->id == NULL || c->resource == NULL || c->grant_types == NULL || c->redirect_uris == NULL)
		goto fail;
	goto out;
fail:
	log_err("out of memory loading a client");
	client_free(c);
	c = NULL;
out:
	PQclear(res);
	return c;
}

void
client_free(struct client *c)
{
	if (c == NULL)
		return;
	free(c->id);
	cJSON_Delete(c->resource);
	free(c->secret_hash);
	cJSON_Delete(c->grant_types);
	cJSON_Delete(c->redirect_uris);
	free(c->launch_uri);
	free(c->scope);
	cJSON_Delete(c->jwks);
	free(c->jwks_uri);
	free(c);
}

static int
client_array_has(const cJSON *a, const char *s)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, a)
		if (cJSON_IsString(e) && strcmp(e->valuestring, s) == 0)
			return 1;
	return 0;
}

int
client_has_grant(const struct client *c, const char *grant)
{
	return client_array_has(c->grant_types, grant);
}

int
client_redirect_registered(const struct client *c, const char *uri)
{
	/* Exact string comparison: no prefix, case or normalisation games. */
	return uri != NULL && client_array_has(c->redirect_uris, uri);
}

int
client_secret_ok(const struct client *c, const char *secret)
{
	if (c->secret_hash == NULL || secret == NULL)
		return 0;
	return crypto_password_verify(secret, c->secret_hash);
}

int
client_parse_basic(const char *header, char **id, char **secret)
{
	unsigned char *raw = NULL;
	size_t rawlen;
	const char *colon;
	enum form_error fe;

	*id = *secret = NULL;
	if (strncasecmp(header, "Basic ", 6) != 0)
		return -1;
	header += 6;
	while (*header == ' ')
		header++;
	if ((raw = b64_decode(header, strlen(header), &rawlen)) == NULL)
		return -1;
	if (memchr(raw, '\0', rawlen) != NULL ||
	    (colon = memchr(raw, ':', rawlen)) == NULL)
		goto fail;
	/* RFC 6749 §2.3.1: both parts are application/x-www-form-urlencoded. */
	if ((*id = form_decode((char *)raw, (size_t)(colon - (char *)raw), 1, &fe)) == NULL ||
	    (*secret = form_decode(colon + 1, rawlen - (size_t)(colon + 1 - (char *)raw), 1, &fe)) == NULL ||
	    **id == '\0')
		goto fail;
	crypto_wipe(raw, rawlen);
	free(raw);
	return 0;
fail:
	crypto_wipe(raw, rawlen);
	free(raw);
	free(*id);
	if (*secret != NULL) {
		crypto_wipe(*secret, strlen(*secret));
		free(*secret);
	}
	*id = *secret = NULL;
	return -1;
}

enum oauth_error
client_authenticate(struct req *r, struct client **out, enum client_auth_method *method,
    const char **why)
{
	const char *authz = http_header(r, "Authorization");
	const char *body_id = form_get_nonempty(&r->fparams, "client_id");
	const char *body_secret = form_get_nonempty(&r->fparams, "client_secret");
	const char *assertion = form_get_nonempty(&r->fparams, "client_assertion");
	char *basic_id = NULL, *basic_secret = NULL;
	const char *id, *secret;
	struct client *c = NULL;
	enum oauth_error e = OAUTH_INVALID_CLIENT;
	int missing, methods = 0;

	*out = NULL;
	*method = CLIENT_AUTH_NONE;
	if (authz != NULL && *authz != '\0') {
		if (client_parse_basic(authz, &basic_id, &basic_secret) == -1) {
			*why = "malformed Basic authorization header";
			goto out;
		}
		methods++;
	}
	if (body_secret != NULL)
		methods++;
	if (assertion != NULL)
		methods++;
	if (methods > 1) {
		*why = "more than one client authentication method used";
		e = OAUTH_INVALID_REQUEST;
		goto out;
	}
	if (assertion != NULL) {
		*why = "client assertions (private_key_jwt) are not supported";
		goto out;
	}
	id = basic_id != NULL ? basic_id : body_id;
	secret = basic_id != NULL ? basic_secret : body_secret;
	if (id == NULL) {
		*why = "client authentication required (client_id missing)";
		goto out;
	}
	if (basic_id != NULL && body_id != NULL && strcmp(basic_id, body_id) != 0) {
		*why = "client_id in the body differs from the authenticated client";
		e = OAUTH_INVALID_REQUEST;
		goto out;
	}
	if ((c = client_load(id, &missing)) == NULL) {
		if (missing)
			*why = "unknown client";
		else {
			*why = "database unavailable";
			e = db_unavailable() ? OAUTH_TEMPORARILY_UNAVAILABLE : OAUTH_SERVER_ERROR;
		}
		goto out;
	}
	if (secret != NULL) {
		if (!client_secret_ok(c, secret)) {
			*why = "client authentication failed";
			goto out;
		}
		*method = basic_id != NULL ? CLIENT_AUTH_BASIC : CLIENT_AUTH_POST;
	} else if (c->secret_required) {
		/* A confidential client must authenticate (RFC 6749 §3.2.1). */
		*why = "client authentication required for this client";
		goto out;
	}
	*out = c;
	c = NULL;
	e = OAUTH_OK;
out:
	client_free(c);
	free(basic_id);
	if (basic_secret != NULL) {
		crypto_wipe(basic_secret, strlen(basic_secret));
		free(basic_secret);
	}
	return e;
}
