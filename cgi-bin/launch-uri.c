/*
 * launch-uri: the EHR launch RPC (DESIGN §2), Aidbox-compatible.
 *
 *   POST {prefix}/rpc   {"method": "aidbox.smart/get-launch-uri",
 *                        "params": {"user", "iss", "client", "ctx"}}
 *
 * An EHR asks for the URL that opens a SMART app in its context (SMART App
 * Launch 2.2 "EHR launch": launch_uri?iss=...&launch=...).  A request goes
 * through, in order: routing, method (POST), content type (JSON), body
 * (capped), caller authentication (HTTP Basic client credentials, or one
 * of our own Bearer access tokens: lib/bearer), strict JSON parsing, the
 * AccessPolicy decision on the request object (lib/policydb; default
 * deny), the arguments (lib/rpc), the existence of the target user,
 * client, Patient and Encounter, and finally the launch row (a random id
 * stored only as its SHA-256, single use, short lived).
 *
 * Every answer is JSON with Cache-Control: no-store; errors are
 * {"error": {"message": ...}} with the status saying which kind.  Every
 * launch and every refusal is audited (denials by lib/policydb as
 * "denied", the rest as "rpc").  This program holds only the public
 * halves of the signing keys; it never logs a launch id, a secret or a
 * token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "audit.h"
#include "bearer.h"
#include "client.h"
#include "config.h"
#include "crypto.h"
#include "db.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "policydb.h"
#include "rpc.h"
#include "serve.h"

/* Seconds a caller should wait when the database is down. */
#define RETRY_AFTER	"5"

struct launch_uri {
	struct config	 cfg;
	struct jwk_set	*keys;		/* public halves only */
};

/* Who is calling, once authenticated. */
struct caller {
	const char	*client_id;	/* authenticated or claimed client (audit) */
	const char	*user_id;	/* the bearer token's user, or NULL */
	const cJSON	*jwt;		/* the bearer token's claims, or NULL */
	struct client	*client;	/* Basic: owned */
	struct bearer	*bearer;	/* Bearer: owned */
	char		*basic_id;	/* owned */
};

static struct launch_uri lu;

static void
caller_clear(struct caller *c)
{
	client_free(c->client);
	bearer_free(c->bearer);
	free(c->basic_id);
	memset(c, 0, sizeof(*c));
}

/* Answers {"error": {"message"}} with status (no-store). */
static int
answer_error(struct resp *p, int status, const char *message)
{
	cJSON *o;
	int rc;

	if ((o = rpc_error(message)) == NULL)
		return -1;
	http_resp_no_store(p);
	if (status == 503)
		http_resp_header(p, "Retry-After", RETRY_AFTER);
	rc = http_resp_json(p, status, o);
	cJSON_Delete(o);
	return rc;
}

/* Audits a refusal (not when the database is down: it cannot be written). */
static int
refuse(struct req *r, struct resp *p, const struct caller *c, int status, const char *message)
{
	cJSON *d;

	if (status != 503) {
		if ((d = cJSON_CreateObject()) != NULL) {
			cJSON_AddNumberToObject(d, "status", status);
			cJSON_AddStringToObject(d, "reason", message);
		}
		audit_event("rpc", "failure", c != NULL ? c->user_id : NULL,
		    c != NULL ? c->client_id : NULL, r->remote_addr, d);
		cJSON_Delete(d);
	}
	return answer_error(p, status, message);
}

/* 503 or 500 after a failed database call. */
static int
refuse_db(struct req *r, struct resp *p, const struct caller *c)
{
	if (db_unavailable())
		return refuse(r, p, c, 503, "service temporarily unavailable; retry later");
	return -1;
}

/*
 * Authenticates the caller into c.  Returns 0 when authenticated, 1 when
 * the response (401/503) is already built, -1 on internal failure.
 */
static int
authenticate(struct req *r, struct resp *p, struct caller *c)
{
	const char *authz = http_header(r, "Authorization");
	char challenge[192], *secret = NULL;
	enum bearer_error be;
	int missing, rc = 1;

	if (bearer_is_bearer(authz)) {
		be = bearer_authenticate(authz, lu.keys, lu.cfg.fhir_base, time(NULL), &c->bearer);
		if (be == BEARER_OK) {
			c->client_id = c->bearer->client_id;
			c->user_id = c->bearer->user_id;
			c->jwt = c->bearer->claims;
			return 0;
		}
		if (be == BEARER_INTERNAL)
			return -1;
		if (be != BEARER_DB_UNAVAILABLE && bearer_challenge(be, challenge, sizeof(challenge)) == 0)
			http_resp_header(p, "WWW-Authenticate", challenge);
		return refuse(r, p, c, bearer_status(be), bearer_strerror(be)) == -1 ? -1 : 1;
	}
	http_resp_header(p, "WWW-Authenticate", "Basic realm=\"smartauth\"");
	if (authz == NULL || *authz == '\0') {
		http_resp_header(p, "WWW-Authenticate", "Bearer realm=\"smartauth\"");
		return refuse(r, p, c, 401, "authentication required (Basic client credentials "
		    "or a Bearer token)") == -1 ? -1 : 1;
	}
	if (client_parse_basic(authz, &c->basic_id, &secret) == -1)
		return refuse(r, p, c, 401, "malformed Basic authorization header") == -1 ? -1 : 1;
	c->client_id = c->basic_id;
	if ((c->client = client_load(c->basic_id, &missing)) == NULL) {
		if (!missing)
			rc = refuse_db(r, p, c) == -1 ? -1 : 1;
		else
			rc = refuse(r, p, c, 401, "client authentication failed") == -1 ? -1 : 1;
		goto out;
	}
	if (!client_secret_ok(c->client, secret)) {
		rc = refuse(r, p, c, 401, "client authentication failed") == -1 ? -1 : 1;
		goto out;
	}
	c->client_id = c->client->id;
	rc = 0;
out:
	crypto_wipe(secret, strlen(secret));
	free(secret);
	return rc;
}

/* The AccessPolicy decision; 0 when allowed, else as authenticate(). */
static int
authorize_call(struct req *r, struct resp *p, const struct caller *c, const cJSON *body,
    char *policy_id, size_t policy_idsz)
{
	struct policydb_request q;
	struct policydb_decision d;

	memset(&q, 0, sizeof(q));
	q.path = r->path;
	q.method = r->method;
	q.query = r->query;
	q.body = body;
	q.client_id = c->client_id;
	q.user_id = c->user_id;
	q.jwt = c->jwt;
	q.scheme = r->https ? "https" : "http";
	q.remote_addr = r->remote_addr;
	switch (policydb_check(lu.cfg.fhir_path, &q, &d)) {
	case POLICYDB_ALLOW:
		snprintf(policy_id, policy_idsz, "%s", d.policy_id);
		return 0;
	case POLICYDB_DENY:
		/* Audited by policydb as "denied". */
		return answer_error(p, 403, "no AccessPolicy allows this caller to use this method")
		    == -1 ? -1 : 1;
	case POLICYDB_BAD_PATH:
		return answer_error(p, 400, d.why != NULL ? d.why : "malformed request") == -1 ? -1 : 1;
	case POLICYDB_UNAVAILABLE:
		return answer_error(p, 503, "service temporarily unavailable; retry later") == -1 ? -1 : 1;
	case POLICYDB_ERROR:
		break;
	}
	return -1;
}

/*
 * The targets of the launch: active user, active client with a launch
 * URI, and (with the built-in FHIR store) the Patient and Encounter.
 * 0 with *target (owned) when all hold, else as authenticate().
 */
static int
check_targets(struct req *r, struct resp *p, const struct caller *c,
    const struct rpc_launch *l, struct client **target)
{
	enum rpc_lookup lk;
	char *enc_patient = NULL, msg[160];
	int missing, rc = 1;

	*target = NULL;
	if ((lk = rpc_user_exists(l->user_id)) != RPC_FOUND)
		return (lk == RPC_DB_ERROR ? refuse_db(r, p, c) :
		    refuse(r, p, c, 404, "params.user: no such active User")) == -1 ? -1 : 1;
	if ((*target = client_load(l->client_id, &missing)) == NULL)
		return (missing ? refuse(r, p, c, 404, "params.client: no such active Client") :
		    refuse_db(r, p, c)) == -1 ? -1 : 1;
	if ((*target)->launch_uri == NULL || *(*target)->launch_uri == '\0') {
		rc = refuse(r, p, c, 400, "params.client has no smart.launch_uri registered");
		goto fail;
	}
	/* An upstream FHIR server holds its own resources: only the builtin store is checked. */
	if (strcmp(lu.cfg.fhir_backend, "builtin") != 0)
		return 0;
	if (l->patient != NULL && (lk = rpc_fhir_exists("Patient", l->patient, NULL)) != RPC_FOUND) {
		rc = lk == RPC_DB_ERROR ? refuse_db(r, p, c) :
		    refuse(r, p, c, 404, "params.ctx.patient: no such Patient");
		goto fail;
	}
	if (l->encounter != NULL) {
		if ((lk = rpc_fhir_exists("Encounter", l->encounter, &enc_patient)) != RPC_FOUND) {
			rc = lk == RPC_DB_ERROR ? refuse_db(r, p, c) :
			    refuse(r, p, c, 404, "params.ctx.encounter: no such Encounter");
			goto fail;
		}
		if (l->patient != NULL && enc_patient != NULL && strcmp(enc_patient, l->patient) != 0) {
			snprintf(msg, sizeof(msg), "params.ctx.encounter is not an encounter of "
			    "Patient %s", l->patient);
			rc = refuse(r, p, c, 400, msg);
			goto fail;
		}
		free(enc_patient);
	}
	return 0;
fail:
	free(enc_patient);
	client_free(*target);
	*target = NULL;
	return rc == -1 ? -1 : 1;
}

/* Creates the launch and answers 200. */
static int
launch(struct req *r, struct resp *p, const struct caller *c, const struct rpc_launch *l,
    const struct client *target, const char *policy_id)
{
	cJSON *result = NULL, *d = NULL;
	char *id;
	int rc = -1;

	if ((id = crypto_token_new()) == NULL)
		return -1;
	if (rpc_launch_store(id, target->id, l->user_id, l->context, lu.cfg.launch_lifetime) == -1) {
		rc = refuse_db(r, p, c);
		goto out;
	}
	if ((result = rpc_result(target->launch_uri, lu.cfg.fhir_base, id)) == NULL)
		goto out;
	if ((d = cJSON_CreateObject()) != NULL) {
		cJSON_AddStringToObject(d, "caller_client", c->client_id);
		if (c->user_id != NULL)
			cJSON_AddStringToObject(d, "caller_user", c->user_id);
		if (l->patient != NULL)
			cJSON_AddStringToObject(d, "patient", l->patient);
		if (l->encounter != NULL)
			cJSON_AddStringToObject(d, "encounter", l->encounter);
		cJSON_AddStringToObject(d, "policy", policy_id);
	}
	audit_event("rpc", "success", l->user_id, target->id, r->remote_addr, d);
	http_resp_no_store(p);
	rc = http_resp_json(p, 200, result);
out:
	cJSON_Delete(d);
	cJSON_Delete(result);
	crypto_wipe(id, strlen(id));
	free(id);
	return rc;
}

static int
handle(struct req *r, struct resp *p, void *ctx)
{
	struct caller c;
	struct rpc_launch l;
	struct client *target = NULL;
	enum http_body_error be;
	cJSON *body = NULL;
	const char *why = NULL;
	char *rel, msg[256], policy_id[128];
	size_t cap;
	int rc;

	(void)ctx;
	memset(&c, 0, sizeof(c));
	memset(&l, 0, sizeof(l));

	/* Routing: the web server sends only {prefix}/rpc here. */
	if ((rel = policydb_relative_path(lu.cfg.fhir_path, r->path, &why)) == NULL)
		return refuse(r, p, NULL, 400, why != NULL ? why : "malformed path");
	rc = strcmp(rel, "/rpc");
	free(rel);
	if (rc != 0)
		return refuse(r, p, NULL, 404, "no such endpoint");
	if (strcmp(r->method, "POST") != 0) {
		http_resp_header(p, "Allow", "POST");
		return refuse(r, p, NULL, 405, "method not allowed; use POST");
	}
	if (!http_content_type_is(r, "application/json"))
		return refuse(r, p, NULL, 415, "Content-Type must be application/json");
	cap = lu.cfg.max_body > 0 && (size_t)lu.cfg.max_body < RPC_MAX_BODY ?
	    (size_t)lu.cfg.max_body : RPC_MAX_BODY;
	if ((be = http_read_body(r, cap, 1)) != HTTP_BODY_OK) {
		if (be == HTTP_BODY_ENOMEM)
			return -1;
		return refuse(r, p, NULL, http_body_status(be), http_body_strerror(be));
	}

	if ((rc = authenticate(r, p, &c)) != 0)
		goto out;
	if ((body = json_parse_strict(r->body, r->body_len, &why)) == NULL) {
		snprintf(msg, sizeof(msg), "the body is not valid JSON (%s)", why != NULL ? why : "parse error");
		rc = refuse(r, p, &c, 400, msg);
		goto out;
	}
	if (!cJSON_IsObject(body)) {
		rc = refuse(r, p, &c, 400, "the body must be a JSON object");
		goto out;
	}
	if ((rc = authorize_call(r, p, &c, body, policy_id, sizeof(policy_id))) != 0)
		goto out;
	if (rpc_launch_parse(body, lu.cfg.fhir_base, &l, msg, sizeof(msg)) != 0) {
		rc = refuse(r, p, &c, 400, msg);
		goto out;
	}
	if ((rc = check_targets(r, p, &c, &l, &target)) != 0)
		goto out;
	rc = launch(r, p, &c, &l, target, policy_id);
out:
	client_free(target);
	rpc_launch_clear(&l);
	cJSON_Delete(body);
	caller_clear(&c);
	return rc == -1 ? -1 : 0;
}

static int
start(void)
{
	char err[512];

	if (config_load(&lu.cfg, NULL, NULL, err, sizeof(err)) == -1) {
		log_err("configuration: %s", err);
		return -1;
	}
	if ((lu.keys = bearer_keys_load(lu.cfg.key_dir)) == NULL)
		return -1;	/* logged, naming the file */
	return db_init(lu.cfg.database, "smartauth-launch-uri", lu.cfg.db_connect_timeout);
}

int
main(int argc, char **argv)
{
	int rc;

	log_init("launch-uri");
	if ((rc = serve_cli(argc, argv, "launch-uri",
	    "EHR launch RPC (POST /rpc, aidbox.smart/get-launch-uri): creates a launch id\n"
	    "bound to a user, a client and a context, for callers an AccessPolicy allows.",
	    start)) >= 0)
		return rc;
	if (start() == -1)
		return 1;
	serve_shed_setup(lu.cfg.max_queue_wait_ms, SERVE_SHAPE_RPC);
	return serve_run(handle, &lu);
}
