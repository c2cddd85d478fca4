/*
 * pending: the endpoint families whose programs have not landed yet
 * (authorize, token, launch-uri, fhir) answer every request with a clear
 * 501 in their own protocol's error shape, so that the shipped web-server
 * configurations route the whole URL map of DESIGN §1 and can be tested
 * end to end (lighttpd refuses to start when a configured FastCGI program
 * is missing).  Each family replaces this with its real program; the
 * discovery documents advertise none of these capabilities meanwhile.
 *
 * Built four times with PENDING_FAMILY set to the family.
 */
#include <string.h>

#include <cjson/cJSON.h>

#include "http.h"
#include "log.h"
#include "serve.h"

enum family { FAM_AUTHORIZE, FAM_TOKEN, FAM_RPC, FAM_FHIR };

#ifndef PENDING_FAMILY
#error "PENDING_FAMILY must be defined"
#endif

static const struct {
	const char *prog;
	const char *summary;
} families[] = {
	[FAM_AUTHORIZE] = { "authorize", "Authorization endpoint (not yet available in this build)." },
	[FAM_TOKEN] = { "token", "Token, introspection and revocation endpoints (not yet available in this build)." },
	[FAM_RPC] = { "launch-uri", "EHR launch RPC (not yet available in this build)." },
	[FAM_FHIR] = { "fhir", "FHIR resource gateway (not yet available in this build)." },
};

static int
handle(struct req *r, struct resp *p, void *ctx)
{
	cJSON *o = NULL, *issue, *e;
	int rc = -1;

	(void)ctx;
	switch (PENDING_FAMILY) {
	case FAM_AUTHORIZE:
		/* Browsers get a page (never a redirect: no client can be trusted yet). */
		return http_resp_error_page(p, 501, "Not available",
		    "This server does not offer app authorization yet.");
	case FAM_TOKEN:
		http_resp_cors(p);
		if (strcmp(r->method, "OPTIONS") == 0)
			return http_resp_preflight(p, "POST, OPTIONS");
		return http_resp_oauth_error(p, 501, "unsupported_grant_type",
		    "this server does not issue tokens yet");
	case FAM_RPC:
		if ((o = cJSON_CreateObject()) == NULL ||
		    (e = cJSON_AddObjectToObject(o, "error")) == NULL ||
		    cJSON_AddStringToObject(e, "message", "launch RPC not available yet") == NULL)
			break;
		http_resp_no_store(p);
		rc = http_resp_json(p, 501, o);
		break;
	case FAM_FHIR:
		http_resp_cors(p);
		if (strcmp(r->method, "OPTIONS") == 0)
			return http_resp_preflight(p, "GET, POST, PUT, DELETE, OPTIONS");
		if ((o = cJSON_CreateObject()) == NULL ||
		    cJSON_AddStringToObject(o, "resourceType", "OperationOutcome") == NULL ||
		    (e = cJSON_AddArrayToObject(o, "issue")) == NULL ||
		    (issue = cJSON_CreateObject()) == NULL)
			break;
		cJSON_AddItemToArray(e, issue);
		if (cJSON_AddStringToObject(issue, "severity", "error") == NULL ||
		    cJSON_AddStringToObject(issue, "code", "not-supported") == NULL ||
		    cJSON_AddStringToObject(issue, "diagnostics", "the FHIR gateway is not available yet") == NULL)
			break;
		rc = http_resp_json_as(p, 501, o, "application/fhir+json");
		break;
	}
	cJSON_Delete(o);
	return rc;
}

static int
check(void)
{
	return 0;
}

int
main(int argc, char **argv)
{
	int rc;

	log_init(families[PENDING_FAMILY].prog);
	if ((rc = serve_cli(argc, argv, families[PENDING_FAMILY].prog,
	    families[PENDING_FAMILY].summary, check)) >= 0)
		return rc;
	return serve_run(handle, NULL);
}
