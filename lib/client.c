/*
 * client: client records and authentication.  See client.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "client.h"
#include "clientjwt.h"
#include "crypto.h"
#include "db.h"
#include "json.h"
#include "jwksfetch.h"
#include "log.h"

/* Successfully verified secrets, per process (see client.h). */
#define CLIENT_SECRET_SLOTS	64

struct client_secret_slot {
	char		*id;		/* NULL: free */
	char		*hash;		/* the stored bcrypt hash it matched */
	unsigned char	 mac[32];	/* crypto_process_mac(secret) */
	unsigned long	 used;		/* for least-recently-used replacement */
};

static struct client_secret_slot client_secret_cache[CLIENT_SECRET_SLOTS];
static unsigned long client_secret_clock, client_secret_hits;

/* The token endpoint URL, the aud of client assertions (RFC 7523 §3 item 3). */
static char *client_token_url;

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

static const char client_load_sql[] =
    "SELECT id, resource, secret_hash, secret_required, active, to_jsonb(grant_types), "
    "to_jsonb(redirect_uris), launch_uri, scope, jwks, jwks_uri, "
    "coalesce((resource #>> '{auth,authorization_code,access_token_expiration}')::bigint, 0), "
    "coalesce((resource #>> '{auth,authorization_code,refresh_token_expiration}')::bigint, 0), "
    "coalesce((resource #>> '{auth,authorization_code,refresh_token}')::boolean, false) "
    "FROM smart.clients WHERE id = $1";

/* A result of client_load_sql fetched in a batch, for one client_load. */
static char *client_pre_id;
static PGresult *client_pre_res;

void
client_load_stmt(const char *id, const char **params, struct db_stmt *s)
{
	params[0] = id;
	s->sql = client_load_sql;
	s->nparams = 1;
	s->params = params;
	s->res = NULL;
}

void
client_preload(const char *id, PGresult *res)
{
	free(client_pre_id);
	PQclear(client_pre_res);
	client_pre_id = NULL;
	client_pre_res = NULL;
	if (id == NULL || res == NULL || (client_pre_id = strdup(id)) == NULL) {
		PQclear(res);
		return;
	}
	client_pre_res = res;
}

struct client *
client_load(const char *id, int *missing)
{
	const char *params[1] = { id };
	struct client *c = NULL;
	PGresult *res = NULL;

	*missing = 0;
	if (client_pre_res != NULL && strcmp(client_pre_id, id) == 0) {
		res = client_pre_res;		/* taken: used once */
		client_pre_res = NULL;
	}
	client_preload(NULL, NULL);
	if (res == NULL && (res = db_exec(client_load_sql, 1, params)) == NULL)
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
	free(c->assertion_jti);
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


static void
client_secret_remember(const char *id, const char *hash, const unsigned char mac[32])
{
	struct client_secret_slot *s, *victim = NULL;
	size_t i;

	for (i = 0; i < CLIENT_SECRET_SLOTS; i++) {
		s = &client_secret_cache[i];
		if (s->id != NULL && strcmp(s->id, id) == 0) {
			victim = s;
			break;
		}
		if (victim == NULL || (victim->id != NULL && (s->id == NULL || s->used < victim->used)))
			victim = s;
	}
	free(victim->id);
	free(victim->hash);
	victim->id = strdup(id);
	victim->hash = strdup(hash);
	if (victim->id == NULL || victim->hash == NULL) {
		free(victim->id);
		free(victim->hash);
		memset(victim, 0, sizeof(*victim));
		return;
	}
	memcpy(victim->mac, mac, 32);
	victim->used = ++client_secret_clock;
}

int
client_secret_ok(const struct client *c, const char *secret)
{
	struct client_secret_slot *s;
	unsigned char mac[32];
	int have_mac, ok;
	size_t i;

	if (c->secret_hash == NULL || secret == NULL || c->id == NULL)
		return 0;
	have_mac = crypto_process_mac(secret, strlen(secret), mac) == 0;
	for (i = 0; have_mac && i < CLIENT_SECRET_SLOTS; i++) {
		s = &client_secret_cache[i];
		/* A hit needs the same stored hash (a changed secret misses) and
		 * the same presented secret (MACs compared in constant time). */
		if (s->id != NULL && strcmp(s->id, c->id) == 0 &&
		    strcmp(s->hash, c->secret_hash) == 0 && crypto_ct_equal(s->mac, mac, 32)) {
			s->used = ++client_secret_clock;
			client_secret_hits++;
			crypto_wipe(mac, sizeof(mac));
			return 1;
		}
	}
	/* A miss, or a different secret: bcrypt decides (it also answers for
	 * secrets that differ only beyond bcrypt's 72 bytes, as before). */
	if ((ok = crypto_password_verify(secret, c->secret_hash)) && have_mac)
		client_secret_remember(c->id, c->secret_hash, mac);
	crypto_wipe(mac, sizeof(mac));
	return ok;
}

unsigned long
client_secret_cache_hits(void)
{
	return client_secret_hits;
}

int
client_auth_init(const struct config *cfg)
{
	char *u;

	if (asprintf(&u, "%s%s", cfg->auth_base, "/token") < 0) {
		log_err("out of memory");
		return -1;
	}
	free(client_token_url);
	client_token_url = u;
	/* libcurl's global initialisation is not thread-safe: do it at start. */
	return jwksfetch_init();
}

/* The token endpoint URL; loads the configuration when client_auth_init was not called. */
static const char *
client_token_endpoint(void)
{
	struct config cfg;
	char err[512];

	if (client_token_url != NULL)
		return client_token_url;
	memset(&cfg, 0, sizeof(cfg));
	if (config_load(&cfg, NULL, NULL, err, sizeof(err)) == -1) {
		log_err("configuration: %s", err);
		return NULL;
	}
	client_auth_init(&cfg);
	config_free(&cfg);
	return client_token_url;
}

/*
 * private_key_jwt (RFC 7523 §2.2, §3; SMART App Launch 2.2): the
 * client is the assertion's iss; see lib/clientjwt for every rule.
 */
static enum oauth_error
client_authenticate_jwt(struct req *r, struct client **out, int flags, const char **why)
{
	const char *type = form_get_nonempty(&r->fparams, "client_assertion_type");
	const char *assertion = form_get_nonempty(&r->fparams, "client_assertion");
	const char *body_id = form_get_nonempty(&r->fparams, "client_id");
	const char *id, *url, *jti;
	struct client *c = NULL;
	struct jwt *jwt;
	enum oauth_error e = OAUTH_INVALID_CLIENT;
	time_t now = time(NULL);
	int missing;

	/*
	 * RFC 6749 §5.2: a missing or unknown client_assertion_type is a
	 * request with an unsupported parameter value (400 invalid_request,
	 * what ONC's (g)(10) kit expects); a bad assertion of the right type
	 * is failed client authentication (401 invalid_client).
	 */
	if (type == NULL || strcmp(type, CLIENTJWT_TYPE) != 0) {
		(void)clientjwt_parse(type, assertion, body_id, &id, why);
		return OAUTH_INVALID_REQUEST;
	}
	if ((jwt = clientjwt_parse(type, assertion, body_id, &id, why)) == NULL)
		return OAUTH_INVALID_CLIENT;
	if ((url = client_token_endpoint()) == NULL) {
		*why = "server configuration error";
		e = OAUTH_SERVER_ERROR;
		goto out;
	}
	if ((c = client_load(id, &missing)) == NULL) {
		if (missing)
			*why = "unknown client (client assertion iss)";
		else {
			*why = "database unavailable";
			e = db_unavailable() ? OAUTH_TEMPORARILY_UNAVAILABLE : OAUTH_SERVER_ERROR;
		}
		goto out;
	}
	if ((e = clientjwt_verify(jwt, c, url, now, why)) != OAUTH_OK)
		goto refused;
	if (flags & CLIENT_DEFER_JTI) {
		/* RFC 7523 §3 item 7 is kept by the caller: see client.h. */
		if (clientjwt_jti_of(jwt, &jti, &c->assertion_until, why) == -1) {
			e = OAUTH_INVALID_CLIENT;
			goto refused;
		}
		if ((c->assertion_jti = strdup(jti)) == NULL) {
			*why = "out of memory";
			e = OAUTH_SERVER_ERROR;
			goto out;
		}
	} else if ((e = clientjwt_record_jti(jwt, c->id, now, why)) != OAUTH_OK)
		goto refused;
	*out = c;
	c = NULL;
	goto out;
refused:
	log_info("client %s: client assertion refused: %s", c->id, *why);
out:
	client_free(c);
	jwt_free(jwt);
	return e;
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

char *
client_claimed_id(struct req *r)
{
	const char *id = form_get_nonempty(&r->fparams, "client_id");
	const char *authz = http_header(r, "Authorization");
	const char *assertion = form_get_nonempty(&r->fparams, "client_assertion");
	char *basic_id = NULL, *basic_secret = NULL, *out = NULL;
	struct jwt *jwt;

	if (id != NULL)
		return strdup(id);
	if (authz != NULL && client_parse_basic(authz, &basic_id, &basic_secret) == 0) {
		crypto_wipe(basic_secret, strlen(basic_secret));
		free(basic_secret);
		return basic_id;
	}
	if (assertion != NULL && (jwt = jwt_parse(assertion, strlen(assertion))) != NULL) {
		if ((id = json_get_str(jwt->claims, "iss")) != NULL && *id != '\0')
			out = strdup(id);
		jwt_free(jwt);
	}
	return out;
}

enum oauth_error
client_authenticate(struct req *r, struct client **out, enum client_auth_method *method,
    const char **why)
{
	return client_authenticate_flags(r, out, method, 0, why);
}

enum oauth_error
client_authenticate_flags(struct req *r, struct client **out, enum client_auth_method *method,
    int flags, const char **why)
{
	const char *authz = http_header(r, "Authorization");
	const char *body_id = form_get_nonempty(&r->fparams, "client_id");
	const char *body_secret = form_get_nonempty(&r->fparams, "client_secret");
	const char *assertion = form_get_nonempty(&r->fparams, "client_assertion");
	const char *assertion_type = form_get_nonempty(&r->fparams, "client_assertion_type");
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
	if (assertion != NULL || assertion_type != NULL)
		methods++;
	if (methods > 1) {
		*why = "more than one client authentication method used";
		e = OAUTH_INVALID_REQUEST;
		goto out;
	}
	if (assertion != NULL || assertion_type != NULL) {
		if ((e = client_authenticate_jwt(r, out, flags, why)) == OAUTH_OK)
			*method = CLIENT_AUTH_JWT;
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
	} else if (c->jwks != NULL || c->jwks_uri != NULL) {
		/* Registered keys make it confidential (client-confidential-asymmetric). */
		*why = "this client must authenticate with a client assertion (private_key_jwt)";
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
