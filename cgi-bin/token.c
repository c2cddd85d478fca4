/*
 * token: the token endpoint (RFC 6749 §3.2, §4.1.3, §5, §6; SMART App
 * Launch 2.2 §5.4-5.6).
 *
 *   POST {auth}/token       grant_type=authorization_code | refresh_token
 *   POST {auth}/introspect  404 until RFC 7662 introspection lands
 *   POST {auth}/revoke      404 until RFC 7009 revocation lands
 *
 * A request goes through, in order: routing, CORS (browser apps call this
 * endpoint, RFC 9700 §2.6), method (POST; OPTIONS answers the preflight),
 * content type and body (form-urlencoded, capped at max_body), repeated
 * parameters, grant_type, client authentication (lib/client), the
 * client's registration for the grant, and then the grant handler
 * (lib/grant), which runs the grant in one transaction and mints through
 * lib/issue.  Every answer is JSON with Cache-Control: no-store.
 *
 * Configuration and the signing key are loaded once, before the first
 * request.  This program holds the private signing keys; it never logs a
 * code, token, verifier or secret.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "client.h"
#include "config.h"
#include "crypto.h"
#include "db.h"
#include "grant.h"
#include "http.h"
#include "issue.h"
#include "jwk.h"
#include "log.h"
#include "oauth.h"
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

/* Answers an OAuth error (no-store; 401 with WWW-Authenticate; 503 with Retry-After). */
static int
token_error(struct resp *p, enum oauth_error e, const char *why)
{
	return oauth_error_respond(p, e, why);
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
	return token_error(p, e, why);
}

/* POST {auth}/token. */
static int
token_endpoint(struct req *r, struct resp *p)
{
	const struct grant_type *gt;
	const char *why, *repeated, *grant_type;
	struct client *client = NULL;
	enum client_auth_method method;
	struct grant_result res = { OAUTH_OK, NULL, NULL };
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

	if ((e = client_authenticate(r, &client, &method, &why)) != OAUTH_OK)
		return token_refuse(r, p, gt->name, e, why);
	if (!gt->client_allowed(client)) {
		client_free(client);
		return token_refuse(r, p, gt->name, OAUTH_UNAUTHORIZED_CLIENT,
		    "this client is not registered for this grant type");
	}

	q.env = &tok.env;
	q.params = &r->fparams;
	q.client = client;
	q.method = method;
	q.address = r->remote_addr;
	q.now = time(NULL);
	gt->run(&q, &res);
	client_free(client);

	if (res.error != OAUTH_OK)
		return token_error(p, res.error, res.why);
	/* RFC 6749 §5.1: no-store and no-cache on every token response. */
	http_resp_no_store(p);
	rc = http_resp_json(p, 200, res.body);
	cJSON_Delete(res.body);
	return rc;
}

static int
handle(struct req *r, struct resp *p, void *ctx)
{
	(void)ctx;
	if (ends_with(r->path, "/token") && strcmp(r->method, "OPTIONS") == 0)
		return http_resp_preflight(p, "POST, OPTIONS");	/* with CORS */
	http_resp_cors(p);
	if (ends_with(r->path, "/token"))
		return token_endpoint(r, p);
	/* RFC 7662 introspection and RFC 7009 revocation come later. */
	if (ends_with(r->path, "/introspect") || ends_with(r->path, "/revoke"))
		return http_resp_oauth_error(p, 404, "invalid_request", "not available");
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
	return db_init(tok.cfg.database, "smartauth-token", tok.cfg.db_connect_timeout);
}

int
main(int argc, char **argv)
{
	int rc;

	log_init("token");
	if ((rc = serve_cli(argc, argv, "token",
	    "Token endpoint: authorization_code and refresh_token grants (SMART App\n"
	    "Launch 2.2, RFC 6749), signing access tokens and id_tokens.", start)) >= 0)
		return rc;
	if (start() == -1)
		return 1;
	return serve_run(handle, &tok);
}
