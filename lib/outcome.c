/*
 * outcome: OperationOutcome responses.  See outcome.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "outcome.h"

cJSON *
outcome_new(const char *severity, const char *code, const char *diagnostics)
{
	cJSON *o, *issues, *issue;

	if ((o = cJSON_CreateObject()) == NULL)
		return NULL;
	if (cJSON_AddStringToObject(o, "resourceType", "OperationOutcome") == NULL ||
	    (issues = cJSON_AddArrayToObject(o, "issue")) == NULL ||
	    (issue = cJSON_CreateObject()) == NULL)
		goto fail;
	if (!cJSON_AddItemToArray(issues, issue))
		goto fail_issue;
	if (cJSON_AddStringToObject(issue, "severity", severity) == NULL ||
	    cJSON_AddStringToObject(issue, "code", code) == NULL)
		goto fail;
	if (diagnostics != NULL &&
	    cJSON_AddStringToObject(issue, "diagnostics", diagnostics) == NULL)
		goto fail;
	return o;
fail_issue:
	cJSON_Delete(issue);
fail:
	cJSON_Delete(o);
	return NULL;
}

const char *
outcome_code_for_status(int status)
{
	switch (status) {
	case 400:	return "invalid";
	case 401:	return "login";
	case 403:	return "forbidden";
	case 404:	return "not-found";
	case 405:	return "not-supported";
	case 406:	return "not-supported";
	case 409:	return "conflict";
	case 410:	return "deleted";
	case 412:	return "conflict";
	case 413:	return "too-costly";
	case 415:	return "not-supported";
	case 422:	return "processing";
	case 500:	return "exception";
	case 501:	return "not-supported";
	case 503:	return "transient";
	}
	return "processing";
}

int
outcome_append(struct buf *b, const char *code, const char *diagnostics)
{
	cJSON *o;
	char *s;
	int rc;

	if ((o = outcome_new("error", code, diagnostics)) == NULL) {
		log_err("out of memory");
		return -1;
	}
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (s == NULL) {
		log_err("out of memory");
		return -1;
	}
	rc = buf_puts(b, s);
	cJSON_free(s);
	return rc;
}

int
outcome_respond(struct resp *p, int status, const char *code, const char *diagnostics)
{
	struct buf b = { 0 };
	int rc;

	if (code == NULL)
		code = outcome_code_for_status(status);
	if (outcome_append(&b, code, diagnostics) == -1) {
		buf_free(&b);
		return -1;
	}
	http_resp_cors(p);
	http_resp_no_store(p);
	rc = http_resp_body(p, status, OUTCOME_FHIR_JSON, b.data, b.len);
	buf_free(&b);
	return rc;
}

/* Copies s into out keeping only bytes that are safe in a quoted-string. */
static void
outcome_qs(char *out, size_t outsz, const char *s)
{
	size_t o = 0;

	for (; s != NULL && *s != '\0' && o + 1 < outsz; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			out[o++] = (char)c;
	}
	out[o] = '\0';
}

int
outcome_respond_bearer(struct resp *p, int status, const char *realm,
    const char *error, const char *why)
{
	char hdr[512], r[200], e[40], w[200];

	outcome_qs(r, sizeof(r), realm);
	if (error == NULL)
		snprintf(hdr, sizeof(hdr), "Bearer realm=\"%s\"", r);
	else {
		outcome_qs(e, sizeof(e), error);
		outcome_qs(w, sizeof(w), why);
		snprintf(hdr, sizeof(hdr), "Bearer realm=\"%s\", error=\"%s\", "
		    "error_description=\"%s\"", r, e, w);
	}
	if (http_resp_header(p, "WWW-Authenticate", hdr) == -1)
		return -1;
	return outcome_respond(p, status, status == 401 ? "login" : "forbidden", why);
}
