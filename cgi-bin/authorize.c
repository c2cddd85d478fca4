/*
 * authorize: the browser-facing endpoints under the auth mount.
 *
 *   GET, POST {auth}/authorize   authorization endpoint (RFC 6749 §4.1, SMART App
 *                                Launch 2.2): login, patient and encounter pickers,
 *                                consent, redirect with code, state and iss
 *   GET, POST {auth}/logout      confirm, then end the login session
 *   GET, POST {auth}/consents    a signed-in user's remembered consents, revocable
 *   GET {auth}/style             the smart_style_url document
 *
 * The web server sends every {auth}/... path other than jwks, health, token,
 * introspect and revoke here; paths are matched by their tail after the
 * auth mount (the path of auth_base) and anything else is a 404 page.
 * Configuration and the database settings are loaded before the first
 * request.  This program holds no signing key: codes are random values
 * whose hashes it stores for the token program.
 */
#include <string.h>

#include "authacct.h"
#include "authflow.h"
#include "config.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "pages.h"
#include "serve.h"

static struct config cfg;
static struct authflow_cfg acfg;

/* The part of path after the auth mount, or NULL when it is not under it. */
static const char *
tail_of(const char *path)
{
	size_t n = strlen(acfg.auth_path);

	if (strncmp(path, acfg.auth_path, n) != 0 || path[n] != '/')
		return NULL;
	return path + n;
}

static int
style(struct req *r, struct resp *p)
{
	if (strcmp(r->method, "OPTIONS") == 0)
		return http_resp_preflight(p, "GET, HEAD, OPTIONS");
	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
		http_resp_header(p, "Allow", "GET, HEAD, OPTIONS");
		return pages_error(p, 405, "Method not allowed", "Use GET.", NULL);
	}
	return pages_style(p);
}

static int
handle(struct req *r, struct resp *p, void *ctx)
{
	const char *tail = tail_of(r->path);
	int rc;

	(void)ctx;
	if (tail == NULL)
		rc = pages_error(p, 404, "Not found", "There is no such page here.", NULL);
	else if (strcmp(tail, "/authorize") == 0)
		rc = authflow_authorize(r, p, &acfg);
	else if (strcmp(tail, "/logout") == 0)
		rc = authacct_logout(r, p, &acfg);
	else if (strcmp(tail, "/consents") == 0)
		rc = authacct_consents(r, p, &acfg);
	else if (strcmp(tail, "/style") == 0)
		rc = style(r, p);
	else
		rc = pages_error(p, 404, "Not found", "There is no such page here.", NULL);
	if (rc == -1 || p->headers.failed || p->body.failed) {
		/* A browser gets a page, not the generic JSON error. */
		http_resp_free(p);
		http_resp_init(p);
		p->head_only = strcmp(r->method, "HEAD") == 0;
		rc = pages_error(p, 500, "Something went wrong",
		    "The sign-in service failed. Please go back to the app and try again.", NULL);
	}
	return rc;
}

static int
start(void)
{
	char err[512];

	if (config_load(&cfg, NULL, NULL, err, sizeof(err)) == -1) {
		log_err("configuration: %s", err);
		return -1;
	}
	if (authflow_init(&acfg, &cfg) == -1)
		return -1;
	return db_init(cfg.database, "smartauth-authorize", cfg.db_connect_timeout);
}

int
main(int argc, char **argv)
{
	int rc;

	log_init("authorize");
	if ((rc = serve_cli(argc, argv, "authorize",
	    "Serves the authorization endpoint (login, patient picker, consent and the\n"
	    "redirect with an authorization code), logout, remembered consents and the\n"
	    "SMART style document.", start)) >= 0)
		return rc;
	if (start() == -1)
		return 1;
	serve_shed_setup(cfg.max_queue_wait_ms, SERVE_SHAPE_PAGE);
	return serve_run(handle, NULL);
}
