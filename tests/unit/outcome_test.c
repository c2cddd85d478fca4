/*
 * outcome_test: OperationOutcome responses (lib/outcome): the JSON
 * shape, IssueType codes per status, FHIR media type, CORS and no-store,
 * and the RFC 6750 WWW-Authenticate challenge, whose values must never
 * carry a quote, backslash, CR or LF from the caller (header injection).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "outcome.h"
#include "t.h"

static const char *
header(const struct resp *p, const char *name, char *out, size_t outsz)
{
	char key[64];
	const char *h, *e;

	snprintf(key, sizeof(key), "%s: ", name);
	if (p->headers.data == NULL || (h = strstr(p->headers.data, key)) == NULL)
		return NULL;
	h += strlen(key);
	e = strstr(h, "\r\n");
	snprintf(out, outsz, "%.*s", (int)(e - h), h);
	return out;
}

int
main(void)
{
	struct resp p;
	cJSON *o;
	const cJSON *issue;
	char h[300];

	http_resp_init(&p);
	T_EQ_INT(outcome_respond(&p, 404, NULL, "Patient/x is not known \"<b>\""), 0, "respond");
	T_EQ_INT(p.status, 404, "status");
	o = json_parse_strict(p.body.data, p.body.len, NULL);
	T_OK(o != NULL, "body is strict JSON");
	T_EQ_STR(json_get_str(o, "resourceType"), "OperationOutcome", "resourceType");
	issue = cJSON_GetArrayItem(json_get_arr(o, "issue"), 0);
	T_EQ_STR(json_get_str(issue, "severity"), "error", "severity");
	T_EQ_STR(json_get_str(issue, "code"), "not-found", "code from status");
	T_EQ_STR(json_get_str(issue, "diagnostics"), "Patient/x is not known \"<b>\"", "diagnostics kept");
	T_EQ_STR(header(&p, "Content-Type", h, sizeof(h)), OUTCOME_FHIR_JSON, "FHIR media type");
	T_EQ_STR(header(&p, "Access-Control-Allow-Origin", h, sizeof(h)), "*", "CORS");
	T_EQ_STR(header(&p, "Cache-Control", h, sizeof(h)), "no-store", "no-store");
	cJSON_Delete(o);
	http_resp_free(&p);

	http_resp_init(&p);
	outcome_respond_bearer(&p, 401, "smartauth", "invalid_token", "expired\"\r\nX-Evil: 1\\");
	T_EQ_INT(p.status, 401, "401");
	T_EQ_STR(header(&p, "WWW-Authenticate", h, sizeof(h)),
	    "Bearer realm=\"smartauth\", error=\"invalid_token\", error_description=\"expiredX-Evil: 1\"",
	    "challenge with quotes, CR, LF and backslash dropped");
	T_OK(strstr(p.headers.data, "\r\nX-Evil") == NULL, "no injected header");
	http_resp_free(&p);

	http_resp_init(&p);
	outcome_respond_bearer(&p, 403, "smartauth", "insufficient_scope", "no scope");
	T_EQ_STR(header(&p, "WWW-Authenticate", h, sizeof(h)),
	    "Bearer realm=\"smartauth\", error=\"insufficient_scope\", error_description=\"no scope\"",
	    "403 insufficient_scope");
	http_resp_free(&p);

	T_EQ_STR(outcome_code_for_status(410), "deleted", "410 deleted");
	T_EQ_STR(outcome_code_for_status(412), "conflict", "412 conflict");
	T_EQ_STR(outcome_code_for_status(503), "transient", "503 transient");
	T_EQ_STR(outcome_code_for_status(418), "processing", "other status: processing");
	return t_done();
}
