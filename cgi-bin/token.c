/*
 * token: the token endpoint family (RFC 6749 §3.2, §4.1.3, §4.4, §5, §6;
 * RFC 7662; RFC 7009; SMART App Launch 2.2 §5.4-5.6, §5.9-5.10 and
 * Backend Services).
 *
 *   POST {auth}/token       grant_type=authorization_code | refresh_token |
 *                           client_credentials
 *   POST {auth}/introspect  RFC 7662 introspection (lib/introspect)
 *   POST {auth}/revoke      RFC 7009 revocation (lib/revoke)
 *
 * A request goes through, in order: routing, CORS (browser apps call these
 * endpoints, RFC 9700 §2.6), method (POST; OPTIONS answers the preflight),
 * content type and body (form-urlencoded, capped at max_body), repeated
 * parameters, then per endpoint:
 *   token       grant_type, client authentication (lib/client), the
 *               client's registration for the grant, and the grant handler
 *               (lib/grant), which runs the grant in one transaction and
 *               mints through lib/issue.  For a code or refresh token the
 *               client's record and the grant's read come in one round
 *               trip (token_prefetch), and the grant's write in a second;
 *   introspect  the caller: "Authorization: Bearer" with a token granted
 *               INTROSPECT_SCOPE (any client's tokens), or a confidential
 *               client authenticated as at the token endpoint (its own
 *               tokens, or any when registered with INTROSPECT_SCOPE);
 *   revoke      client authentication as at the token endpoint (public
 *               clients by client_id, RFC 7009 §5), then the revocation.
 * Every answer is JSON with Cache-Control: no-store.
 *
 * Configuration and the signing key are loaded once, before the first
 * request.  This program holds the private signing keys; it never logs a
 * code, token, verifier or secret.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "audit.h"
#include "bearer.h"
#include "client.h"
#include "clientjwt.h"
#include "config.h"
#include "crypto.h"
#include "db.h"
#include "grant.h"
#include "http.h"
#include "introspect.h"
#include "issue.h"
#include "jwk.h"
#include "log.h"
#include "oauth.h"
#include "revoke.h"
#include "serve.h"

struct token {
	struct config	 cfg;
	struct jwk_set	*keys;
	struct grant_env env;
	char		 unsupported[160];	/* description naming the grants served */
};

static struct token tok;

static int
ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/*
 * Answers an OAuth error (no-store; 503 with Retry-After; invalid_client is
 * 401, with WWW-Authenticate only for a request that used the
 * Authorization header, RFC 6749 §5.2).
 */
static int
token_error(struct req *r, struct resp *p, enum oauth_error e, const char *why)
{
	return oauth_error_respond_client(p, e, why, http_header(r, "Authorization"));
}

/*
 * Refuses a request before any grant ran: audits the failure under the
 * client id the request claims (body or Basic; not authenticated), then
 * answers.  Nothing is audited while the database is down.
 */
static int
token_refuse(struct req *r, struct resp *p, const char *grant_type, enum oauth_error e,
    const char *why)
{
	const char *claimed = form_get_nonempty(&r->fparams, "client_id");
	const char *authz = http_header(r, "Authorization");
	char *basic_id = NULL, *basic_secret = NULL;

	if (claimed == NULL && authz != NULL &&
	    client_parse_basic(authz, &basic_id, &basic_secret) == 0) {
		crypto_wipe(basic_secret, strlen(basic_secret));
		claimed = basic_id;
	}
	if (e != OAUTH_TEMPORARILY_UNAVAILABLE)
		grant_audit_failure(grant_type, claimed, r->remote_addr, e, why);
	free(basic_id);
	free(basic_secret);
	return token_error(r, p, e, why);
}

/*
 * RFC 7523 §3 item 7 for a grant authenticated by a client assertion: a
 * successful grant recorded the jti in the statement that wrote it
 * (lib/issue.c); a refused one records it here, so that a captured
 * assertion cannot be tried again, and a replay found here is answered as
 * one.  Then, outside any transaction, the client's expired jti rows are
 * purged now and then.
 */
static void
token_assertion_jti(struct req *r, const struct client *c, const char *grant_type, time_t now,
    struct grant_result *res)
{
	enum oauth_error e;
	const char *why;

	if (!res->jti_recorded) {
		if (res->error == OAUTH_OK) {
			/* Cannot happen: every successful grant records it. */
			log_err("client %s: grant succeeded without recording the assertion jti", c->id);
			cJSON_Delete(res->body);
			res->body = NULL;
			res->error = OAUTH_SERVER_ERROR;
			res->why = "internal error";
			return;
		}
		e = clientjwt_record(c->id, c->assertion_jti, c->assertion_until, &why);
		if (e == OAUTH_INVALID_CLIENT) {
			grant_audit_failure(grant_type, c->id, r->remote_addr, e, why);
			res->error = e;
			res->why = why;
		}
	}
	clientjwt_purge_maybe(c->id, now);
}

/*
 * A code or refresh token request by a client that names itself with
 * client_id or Basic: the client's record and the grant's read are
 * fetched in ONE round trip (db_exec_batch) before authentication, then
 * used by client_load and the grant only for that same client.  Anything
 * unusual (an assertion, a failed batch) just leaves the reads to them.
 */
static void
token_prefetch(struct req *r, const struct grant_type *gt, struct grant_prefetch *pf)
{
	const char *cparams[1];
	struct db_stmt v[2];
	char *claimed;

	memset(pf, 0, sizeof(*pf));
	if (form_get(&r->fparams, "client_assertion") != NULL ||
	    form_get(&r->fparams, "client_assertion_type") != NULL ||
	    (claimed = client_claimed_id(r)) == NULL)
		return;
	if (grant_prefetch_stmt(gt, &r->fparams, claimed, pf, &v[1]) == 1) {
		client_load_stmt(claimed, cparams, &v[0]);
		if (db_exec_batch(v, 2) == 0) {
			client_preload(claimed, v[0].res);
			pf->res = v[1].res;
		}
	}
	free(claimed);
}

/* POST {auth}/token. */
static int
token_endpoint(struct req *r, struct resp *p)
{
	const struct grant_type *gt;
	const char *why, *repeated, *grant_type;
	struct client *client = NULL;
	enum client_auth_method method;
	struct grant_result res = { OAUTH_OK, NULL, NULL, 0 };
	struct grant_prefetch pf;
	struct grant_req q;
	enum oauth_error e;
	char desc[96];
	int status, rc;

	if (strcmp(r->method, "POST") != 0)
		return http_resp_method_not_allowed(p, "POST, OPTIONS");

	/* RFC 6749 §4.1.3: application/x-www-form-urlencoded, in the body only. */
	if (!http_content_type_is(r, "application/x-www-form-urlencoded"))
		return token_refuse(r, p, NULL, OAUTH_INVALID_REQUEST,
		    "Content-Type must be application/x-www-form-urlencoded");
	if ((status = http_parse_form(r, (size_t)tok.cfg.max_body, &why)) != 0) {
		if (status >= 500)
			return -1;
		grant_audit_failure(NULL, NULL, r->remote_addr, OAUTH_INVALID_REQUEST, why);
		return http_resp_oauth_error(p, status == 413 ? 413 : 400, "invalid_request", why);
	}
	/* RFC 6749 §3.2: parameters MUST NOT be included more than once. */
	if ((repeated = form_first_repeated(&r->fparams, grant_single_params)) != NULL) {
		snprintf(desc, sizeof(desc), "parameter %s is repeated", repeated);
		return token_refuse(r, p, NULL, OAUTH_INVALID_REQUEST, desc);
	}
	if ((grant_type = form_get_nonempty(&r->fparams, "grant_type")) == NULL)
		return token_refuse(r, p, NULL, OAUTH_INVALID_REQUEST, "grant_type is missing");
	if ((gt = grant_type_lookup(grant_type)) == NULL)
		return token_refuse(r, p, NULL, OAUTH_UNSUPPORTED_GRANT_TYPE, tok.unsupported);

	token_prefetch(r, gt, &pf);
	e = client_authenticate_flags(r, &client, &method, CLIENT_DEFER_JTI, &why);
	client_preload(NULL, NULL);
	if (e != OAUTH_OK) {
		grant_prefetch_clear(&pf);
		return token_refuse(r, p, gt->name, e, why);
	}
	if (!gt->client_allowed(client)) {
		client_free(client);
		grant_prefetch_clear(&pf);
		return token_refuse(r, p, gt->name, OAUTH_UNAUTHORIZED_CLIENT,
		    "this client is not registered for this grant type");
	}

	q.env = &tok.env;
	q.prefetch = &pf;
	q.params = &r->fparams;
	q.client = client;
	q.method = method;
	q.address = r->remote_addr;
	q.now = time(NULL);
	gt->run(&q, &res);
	if (client->assertion_jti != NULL)
		token_assertion_jti(r, client, gt->name, q.now, &res);
	client_free(client);
	grant_prefetch_clear(&pf);

	if (res.error != OAUTH_OK)
		return token_error(r, p, res.error, res.why);
	/* RFC 6749 §5.1: no-store and no-cache on every token response. */
	http_resp_no_store(p);
	rc = http_resp_json(p, 200, res.body);
	cJSON_Delete(res.body);
	return rc;
}

/* Parameters introspection and revocation take at most once (RFC 6749 §3.2). */
static const char *const token_admin_single[] = {
	"token", "token_type_hint", "client_id", "client_secret", "client_assertion",
	"client_assertion_type", NULL
};

/* Writes a refused introspection or revocation to the audit trail. */
static void
token_admin_audit(struct req *r, const char *event, const char *client_id,
    enum oauth_error e, const char *why)
{
	char id[129];
	cJSON *d = cJSON_CreateObject();

	if (client_id != NULL)
		snprintf(id, sizeof(id), "%s", client_id);
	if (d != NULL) {
		cJSON_AddStringToObject(d, "error", oauth_error_name(e));
		if (why != NULL)
			cJSON_AddStringToObject(d, "reason", why);
	}
	audit_event(event, "failure", NULL, client_id != NULL ? id : NULL, r->remote_addr, d);
	cJSON_Delete(d);
}

/*
 * The checks introspection and revocation share: POST, a form body, no
 * repeated parameter.  0 when the request may go on; otherwise the answer
 * was written and its return value is in *rc.
 */
static int
token_admin_request(struct req *r, struct resp *p, int *rc)
{
	const char *why, *repeated;
	char desc[96];
	int status;

	if (strcmp(r->method, "POST") != 0) {
		*rc = http_resp_method_not_allowed(p, "POST, OPTIONS");
		return -1;
	}
	/* RFC 7662 §2.1, RFC 7009 §2.1: application/x-www-form-urlencoded. */
	if (!http_content_type_is(r, "application/x-www-form-urlencoded")) {
		*rc = token_error(r, p, OAUTH_INVALID_REQUEST,
		    "Content-Type must be application/x-www-form-urlencoded");
		return -1;
	}
	if ((status = http_parse_form(r, (size_t)tok.cfg.max_body, &why)) != 0) {
		*rc = status >= 500 ? -1 :
		    http_resp_oauth_error(p, status == 413 ? 413 : 400, "invalid_request", why);
		return -1;
	}
	if ((repeated = form_first_repeated(&r->fparams, token_admin_single)) != NULL) {
		snprintf(desc, sizeof(desc), "parameter %s is repeated", repeated);
		*rc = token_error(r, p, OAUTH_INVALID_REQUEST, desc);
		return -1;
	}
	return 0;
}

/* Answers a refused introspection bearer token (RFC 6750 §3.1). */
static int
introspect_bearer_refused(struct req *r, struct resp *p, enum bearer_error be)
{
	char challenge[256];

	if (be == BEARER_DB_UNAVAILABLE || be == BEARER_INTERNAL)
		return token_error(r, p, be == BEARER_DB_UNAVAILABLE ?
		    OAUTH_TEMPORARILY_UNAVAILABLE : OAUTH_SERVER_ERROR, "internal error");
	token_admin_audit(r, "introspect", NULL, OAUTH_INVALID_TOKEN, bearer_strerror(be));
	if (bearer_challenge(be, challenge, sizeof(challenge)) == 0)
		http_resp_header(p, "WWW-Authenticate", challenge);
	return oauth_error_render(p, 401, "invalid_token", bearer_strerror(be));
}

/* Answers a valid bearer token without INTROSPECT_SCOPE (RFC 6750 §3.1: 403). */
static int
introspect_bearer_scope_refused(struct req *r, struct resp *p, const char *client_id)
{
	token_admin_audit(r, "introspect", client_id, OAUTH_INSUFFICIENT_SCOPE,
	    "bearer token lacks the introspection scope");
	http_resp_header(p, "WWW-Authenticate", "Bearer realm=\"smartauth\", "
	    "error=\"insufficient_scope\", scope=\"" INTROSPECT_SCOPE "\"");
	return token_error(r, p, OAUTH_INSUFFICIENT_SCOPE,
	    "the bearer token does not carry the scope " INTROSPECT_SCOPE);
}

/*
 * Authenticates the caller of introspection: a bearer token holding
 * INTROSPECT_SCOPE, or a confidential client.  On success fills c (its
 * client_id is owned by *owned_id), sets *by_secret when the client
 * authenticated with a secret (Basic or client_secret_post), and returns
 * 0; otherwise answers.
 */
static int
introspect_caller(struct req *r, struct resp *p, struct introspect_caller *c,
    char **owned_id, int *by_secret, int *rc)
{
	const char *authz = http_header(r, "Authorization"), *why;
	enum client_auth_method method;
	struct client *client = NULL;
	struct bearer *b = NULL;
	enum bearer_error be;
	enum oauth_error e;

	memset(c, 0, sizeof(*c));
	*owned_id = NULL;
	*by_secret = 0;
	if (bearer_is_bearer(authz)) {
		/* SMART 2.2 §5.9: a bearer token with a suitable scope SHALL work. */
		be = bearer_authenticate(authz, tok.keys, tok.cfg.fhir_base, time(NULL), &b);
		if (be != BEARER_OK) {
			*rc = introspect_bearer_refused(r, p, be);
			return -1;
		}
		if (!introspect_scope_grants(b->scope)) {
			*rc = introspect_bearer_scope_refused(r, p, b->client_id);
			bearer_free(b);
			return -1;
		}
		*owned_id = b->client_id;
		b->client_id = NULL;
		c->client_id = *owned_id;
		c->any_client = 1;
		bearer_free(b);
		return 0;
	}
	if ((e = client_authenticate(r, &client, &method, &why)) != OAUTH_OK) {
		if (e != OAUTH_TEMPORARILY_UNAVAILABLE)
			token_admin_audit(r, "introspect", form_get_nonempty(&r->fparams,
			    "client_id"), e, why);
		*rc = token_error(r, p, e, why);
		return -1;
	}
	/* RFC 7662 §2.1: the caller must be authorized; public clients are not. */
	if (method == CLIENT_AUTH_NONE) {
		token_admin_audit(r, "introspect", client->id, OAUTH_INVALID_CLIENT,
		    "introspection requires client authentication");
		client_free(client);
		*rc = token_error(r, p, OAUTH_INVALID_CLIENT,
		    "introspection requires client authentication (Basic, client_secret_post, "
		    "private_key_jwt) or a bearer token with the introspection scope");
		return -1;
	}
	*by_secret = method == CLIENT_AUTH_BASIC || method == CLIENT_AUTH_POST;
	c->any_client = introspect_scope_grants(client->scope);
	*owned_id = client->id;
	client->id = NULL;
	c->client_id = *owned_id;
	client_free(client);
	return 0;
}

/*
 * The credential text of a request that authenticates with a client
 * secret and nothing else: the Basic header value, or "post" + client_id
 * + client_secret of a client_secret_post body.  Owned (wipe and free);
 * NULL for any other request, which then always takes the full path.
 */
static char *
introspect_credential(struct req *r, size_t *len)
{
	const char *authz = http_header(r, "Authorization");
	const char *id = form_get(&r->fparams, "client_id");
	const char *secret = form_get(&r->fparams, "client_secret");
	char *cred = NULL;

	if (form_get(&r->fparams, "client_assertion") != NULL ||
	    form_get(&r->fparams, "client_assertion_type") != NULL)
		return NULL;
	if (authz != NULL) {
		if (id != NULL || secret != NULL || strncasecmp(authz, "Basic ", 6) != 0)
			return NULL;
		cred = strdup(authz);
	} else if (id != NULL && secret != NULL && *id != '\0' && *secret != '\0') {
		if (asprintf(&cred, "post\n%s\n%s", id, secret) < 0)
			cred = NULL;
	}
	*len = cred != NULL ? strlen(cred) : 0;
	return cred;
}

static void
introspect_credential_free(char *cred, size_t len)
{
	if (cred != NULL) {
		crypto_wipe(cred, len);
		free(cred);
	}
}

/* Answers an introspection result (RFC 7662 §2.2; never cached, §4). */
static int
introspect_respond(struct resp *p, cJSON *body)
{
	int rc;

	http_resp_no_store(p);
	rc = http_resp_json(p, 200, body);
	cJSON_Delete(body);
	return rc;
}

/*
 * Introspection by a bearer token (SMART 2.2 §5.9): both offline checks
 * (the bearer's and the token's signatures) first, then the bearer's own
 * row and the token's lookup in ONE round trip (db_exec_batch).
 */
static int
introspect_bearer(struct req *r, struct resp *p, const char *token, time_t now)
{
	struct introspect_caller caller;
	struct introspect_pending ip;
	struct bearer_pending bp;
	struct db_stmt v[2];
	struct bearer *b = NULL;
	enum bearer_error be;
	cJSON *body = NULL;
	long long version;
	int rc;

	memset(&ip, 0, sizeof(ip));
	memset(v, 0, sizeof(v));
	if ((be = bearer_check_offline(http_header(r, "Authorization"), tok.keys,
	    tok.cfg.fhir_base, now, &bp)) != BEARER_OK)
		return introspect_bearer_refused(r, p, be);
	if (introspect_prepare(&tok.cfg, tok.keys, token, now, &ip) == -1) {
		rc = token_error(r, p, OAUTH_SERVER_ERROR, "internal error");
		goto out;
	}
	bearer_row_stmt(&bp, &v[0]);
	introspect_stmt(&ip, &v[1]);
	if (db_exec_batch(v, 2) == -1)
		v[0].res = v[1].res = NULL;	/* bearer_check_result reports it */
	if ((be = bearer_check_result(&bp, v[0].res, &b)) != BEARER_OK) {
		rc = introspect_bearer_refused(r, p, be);
		goto out;
	}
	if (!introspect_scope_grants(b->scope)) {
		rc = introspect_bearer_scope_refused(r, p, b->client_id);
		goto out;
	}
	caller.client_id = b->client_id;
	caller.any_client = 1;
	if (introspect_result(&tok.cfg, &caller, &ip, v[1].res, &body, &version) != 0) {
		rc = token_error(r, p, db_unavailable() ? OAUTH_TEMPORARILY_UNAVAILABLE :
		    OAUTH_SERVER_ERROR, "internal error");
		goto out;
	}
	rc = introspect_respond(p, body);
out:
	PQclear(v[0].res);
	PQclear(v[1].res);
	bearer_free(b);
	bearer_pending_clear(&bp);
	introspect_pending_clear(&ip);
	return rc;
}

/* POST {auth}/introspect (RFC 7662 §2). */
static int
introspect_endpoint(struct req *r, struct resp *p)
{
	struct introspect_caller caller;
	long long remembered, version, before = -1;
	cJSON *body = NULL;
	char *caller_id = NULL, *cred = NULL;
	const char *token;
	size_t credlen = 0;
	time_t now = time(NULL);
	int rc, by_secret;

	if (token_admin_request(r, p, &rc) != 0)
		return rc;
	token = form_get(&r->fparams, "token");
	if (token != NULL && bearer_is_bearer(http_header(r, "Authorization")))
		return introspect_bearer(r, p, token, now);
	cred = introspect_credential(r, &credlen);

	/*
	 * The fast path: a caller that authenticated with the same secret
	 * before, and no Client changed since (config_version comes back with
	 * the token), is answered after one round trip.
	 */
	if (token != NULL && introspect_memo_get(cred, credlen, now, &caller, &remembered)) {
		if (introspect_token(&tok.cfg, tok.keys, &caller, token, now, &body, &version) == 0 &&
		    version == remembered) {
			introspect_credential_free(cred, credlen);
			return introspect_respond(p, body);
		}
		cJSON_Delete(body);
		body = NULL;
		introspect_memo_forget(cred, credlen);
	}

	/* The version read before authenticating is what a memo entry may claim. */
	if (cred != NULL && introspect_config_version(&before) == -1)
		before = -1;
	if (introspect_caller(r, p, &caller, &caller_id, &by_secret, &rc) != 0) {
		introspect_credential_free(cred, credlen);
		return rc;
	}
	if (token == NULL) {
		rc = token_error(r, p, OAUTH_INVALID_REQUEST, "token is missing");
		goto out;
	}
	if (introspect_token(&tok.cfg, tok.keys, &caller, token, now, &body, &version) != 0) {
		rc = token_error(r, p, db_unavailable() ? OAUTH_TEMPORARILY_UNAVAILABLE :
		    OAUTH_SERVER_ERROR, "internal error");
		goto out;
	}
	if (by_secret && before >= 0)
		introspect_memo_put(cred, credlen, now, &caller, before);
	rc = introspect_respond(p, body);
out:
	introspect_credential_free(cred, credlen);
	free(caller_id);
	return rc;
}

/* POST {auth}/revoke (RFC 7009 §2). */
static int
revoke_endpoint(struct req *r, struct resp *p)
{
	enum client_auth_method method;
	struct client *client = NULL;
	struct revoke_outcome o;
	const char *token, *why;
	enum oauth_error e;
	cJSON *body;
	int rc;

	if (token_admin_request(r, p, &rc) != 0)
		return rc;
	/* RFC 7009 §2.1: client authentication as at the token endpoint. */
	if ((e = client_authenticate(r, &client, &method, &why)) != OAUTH_OK) {
		if (e != OAUTH_TEMPORARILY_UNAVAILABLE)
			token_admin_audit(r, "revoke", form_get_nonempty(&r->fparams, "client_id"),
			    e, why);
		return token_error(r, p, e, why);
	}
	if ((token = form_get(&r->fparams, "token")) == NULL) {
		client_free(client);
		return token_error(r, p, OAUTH_INVALID_REQUEST, "token is missing");
	}
	rc = revoke_token(&tok.cfg, tok.keys, client->id, token, r->remote_addr, time(NULL), &o);
	client_free(client);
	if (rc != 0)
		return token_error(r, p, db_unavailable() ? OAUTH_TEMPORARILY_UNAVAILABLE :
		    OAUTH_SERVER_ERROR, "internal error");
	/* RFC 7009 §2.2: 200 whether or not the token was valid; body ignored. */
	http_resp_no_store(p);
	if ((body = cJSON_CreateObject()) == NULL)
		return -1;
	rc = http_resp_json(p, 200, body);
	cJSON_Delete(body);
	return rc;
}

static int
handle(struct req *r, struct resp *p, void *ctx)
{
	int token = ends_with(r->path, "/token");
	int introspect = ends_with(r->path, "/introspect");
	int revoke = ends_with(r->path, "/revoke");

	(void)ctx;
	if ((token || introspect || revoke) && strcmp(r->method, "OPTIONS") == 0)
		return http_resp_preflight(p, "POST, OPTIONS");	/* with CORS */
	http_resp_cors(p);
	if (token)
		return token_endpoint(r, p);
	if (introspect)
		return introspect_endpoint(r, p);
	if (revoke)
		return revoke_endpoint(r, p);
	return http_resp_oauth_error(p, 404, "invalid_request", "no such endpoint");
}

static int
start(void)
{
	char err[512];
	size_t i, o;

	o = (size_t)snprintf(tok.unsupported, sizeof(tok.unsupported), "grant_type must be one of");
	for (i = 0; grant_type_names[i] != NULL && o < sizeof(tok.unsupported); i++)
		o += (size_t)snprintf(tok.unsupported + o, sizeof(tok.unsupported) - o, "%s %s",
		    i > 0 ? "," : ":", grant_type_names[i]);
	if (config_load(&tok.cfg, NULL, NULL, err, sizeof(err)) == -1) {
		log_err("configuration: %s", err);
		return -1;
	}
	if ((tok.keys = jwk_set_load_dir(tok.cfg.key_dir)) == NULL)
		return -1;	/* logged, naming the file */
	if ((tok.env.signer = jwk_set_signer(tok.keys, ISSUE_ALG)) == NULL) {
		log_err("key_dir %s holds no RSA key: tokens are signed with %s",
		    tok.cfg.key_dir, ISSUE_ALG);
		return -1;
	}
	tok.env.cfg = &tok.cfg;
	if (client_auth_init(&tok.cfg) == -1)	/* assertion aud; libcurl */
		return -1;
	return db_init(tok.cfg.database, "smartauth-token", tok.cfg.db_connect_timeout);
}

int
main(int argc, char **argv)
{
	int rc;

	log_init("token");
	if ((rc = serve_cli(argc, argv, "token",
	    "Token endpoint: authorization_code, refresh_token and client_credentials\n"
	    "grants (SMART App Launch 2.2, RFC 6749), signing access tokens and\n"
	    "id_tokens; RFC 7662 introspection and RFC 7009 revocation.", start)) >= 0)
		return rc;
	if (start() == -1)
		return 1;
	serve_shed_setup(tok.cfg.max_queue_wait_ms, SERVE_SHAPE_OAUTH);
	return serve_run(handle, &tok);
}
