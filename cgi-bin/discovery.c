/*
 * discovery: the public, read-only documents of the server.
 *
 *   GET {fhir}/.well-known/smart-configuration   SMART App Launch 2.2 §conformance
 *   GET {fhir}/.well-known/openid-configuration  OpenID Connect Discovery 1.0
 *   GET {auth}/jwks                              public signing keys (RFC 7517)
 *   GET {auth}/health                            200 when the database takes writes, else 503
 *
 * The three documents are built once at start from the configuration, the
 * feature lists and the key directory, with a strong ETag each, and so is
 * each one's whole 200 response (headers and body, serialised): a GET or
 * HEAD only writes those bytes out (serve_prebuilt), the path a load
 * balancer or an app polling the JWKS takes.  This program holds the
 * signing keys only to publish their public halves, and never signs
 * anything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "crypto.h"
#include "db.h"
#include "http.h"
#include "jwk.h"
#include "log.h"
#include "serve.h"
#include "wellknown.h"

struct doc {
	char	*body;		/* owned JSON text */
	char	 etag[40];	/* "\"<32 hex>\"" */
	const char *cache;	/* Cache-Control value */
	struct buf wire;	/* the whole 200 response, serialised */
	size_t	 head_len;	/* its header part, for HEAD */
};

struct discovery {
	struct config	cfg;
	struct doc	smart, openid, jwks;
};

/* The headers every answer about document d carries. */
static void
doc_headers(struct resp *p, const struct doc *d)
{
	http_resp_cors(p);
	http_resp_header(p, "Cache-Control", d->cache);
	http_resp_header(p, "ETag", d->etag);
	http_resp_header(p, "X-Content-Type-Options", "nosniff");
}

static int
doc_set(struct doc *d, cJSON *v, const char *cache)
{
	struct resp p;
	char *hex;
	int rc;

	if (v == NULL || (d->body = cJSON_PrintUnformatted(v)) == NULL) {
		cJSON_Delete(v);
		return -1;
	}
	cJSON_Delete(v);
	if ((hex = crypto_sha256_hex(d->body)) == NULL)
		return -1;
	snprintf(d->etag, sizeof(d->etag), "\"%.32s\"", hex);
	free(hex);
	d->cache = cache;

	http_resp_init(&p);
	doc_headers(&p, d);
	rc = http_resp_body(&p, 200, "application/json", d->body, strlen(d->body));
	if (rc == 0)
		rc = http_resp_serialize(&p, &d->wire);
	if (rc == 0)
		d->head_len = d->wire.len - p.body.len;
	http_resp_free(&p);
	return rc;
}

/* Serves a prebuilt document, honouring If-None-Match. */
static int
doc_serve(struct req *r, struct resp *p, const struct doc *d)
{
	const char *inm = http_header(r, "If-None-Match");

	if (inm != NULL && strstr(inm, d->etag) != NULL) {
		doc_headers(p, d);
		http_resp_status(p, 304);
		return 0;
	}
	serve_prebuilt(d->wire.data, p->head_only ? d->head_len : d->wire.len);
	return 0;
}

/*
 * The load balancer's probe, polled every few seconds: one round trip.
 * A node is healthy only when its database takes writes: every grant and
 * every authorization request writes, so a node left on a read-only
 * database (a hot standby after a failover, default_transaction_read_only)
 * must be taken out of rotation, not only a node that cannot connect.
 * The body names the cause; it never carries the database's own message.
 */
static int
health(struct req *r, struct resp *p)
{
	static const char ok[] = "{\"status\":\"pass\"}";
	static const char down[] = "{\"status\":\"fail\",\"database\":\"unavailable\"}";
	static const char ro[] = "{\"status\":\"fail\",\"database\":\"read-only\"}";

	(void)r;
	http_resp_cors(p);
	http_resp_no_store(p);
	if (db_ping_writable() == 0)
		return http_resp_body(p, 200, "application/json", ok, sizeof(ok) - 1);
	http_resp_header(p, "Retry-After", "5");
	if (strcmp(db_last_sqlstate(), "25006") == 0)
		return http_resp_body(p, 503, "application/json", ro, sizeof(ro) - 1);
	return http_resp_body(p, 503, "application/json", down, sizeof(down) - 1);
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int
handle(struct req *r, struct resp *p, void *ctx)
{
	struct discovery *d = ctx;
	const struct doc *doc = NULL;
	int is_health = 0;

	/* The web server sends us only our URLs; match them by their tails. */
	if (ends_with(r->path, "/.well-known/smart-configuration"))
		doc = &d->smart;
	else if (ends_with(r->path, "/.well-known/openid-configuration"))
		doc = &d->openid;
	else if (ends_with(r->path, "/jwks"))
		doc = &d->jwks;
	else if (ends_with(r->path, "/health"))
		is_health = 1;
	else {
		http_resp_cors(p);
		return http_resp_oauth_error(p, 404, "invalid_request", "no such endpoint");
	}

	if (strcmp(r->method, "OPTIONS") == 0)
		return http_resp_preflight(p, "GET, HEAD, OPTIONS");
	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
		http_resp_cors(p);
		return http_resp_method_not_allowed(p, "GET, HEAD, OPTIONS");
	}
	if (is_health)
		return health(r, p);
	return doc_serve(r, p, doc);
}

static struct discovery disc;

static int
start(void)
{
	char err[512];
	struct jwk_set *keys;

	if (config_load(&disc.cfg, NULL, NULL, err, sizeof(err)) == -1) {
		log_err("configuration: %s", err);
		return -1;
	}
	if ((keys = jwk_set_load_dir(disc.cfg.key_dir)) == NULL)
		return -1;	/* logged, naming the file */
	if (doc_set(&disc.smart, wellknown_smart(&disc.cfg), "public, max-age=3600") == -1 ||
	    doc_set(&disc.openid, wellknown_openid(&disc.cfg), "public, max-age=3600") == -1 ||
	    doc_set(&disc.jwks, jwk_set_public_json(keys), "public, max-age=600") == -1) {
		log_err("cannot build the discovery documents");
		jwk_set_free(keys);
		return -1;
	}
	jwk_set_free(keys);	/* private halves are not kept */
	return db_init(disc.cfg.database, "smartauth-discovery", disc.cfg.db_connect_timeout);
}

int
main(int argc, char **argv)
{
	int rc;

	log_init("discovery");
	if ((rc = serve_cli(argc, argv, "discovery",
	    "Serves the SMART and OpenID discovery documents, the public signing keys\n"
	    "(JWKS) and the health check.", start)) >= 0)
		return rc;
	if (start() == -1)
		return 1;
	/*
	 * Never shed (serve.h): a prebuilt document costs no more than a
	 * refusal, and the health check must report the database, not the queue.
	 */
	serve_shed_setup(0, SERVE_SHAPE_NONE);
	return serve_run(handle, &disc);
}
