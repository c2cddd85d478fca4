/*
 * outcome: FHIR OperationOutcome error responses (FHIR R4 §3.1.0.4 "HTTP
 * status codes" and OperationOutcome) for the resource gateway.
 *
 * Every error the gateway answers carries one OperationOutcome issue
 * (severity "error", an IssueType code and a plain-English diagnostics
 * string), the FHIR JSON media type, CORS headers and Cache-Control:
 * no-store.  Token failures also carry the RFC 6750 §3 WWW-Authenticate
 * challenge with realm, error and error_description.
 *
 * Owns nothing.  Never puts request data in a response header; the
 * diagnostics text goes only into the JSON body (built by cJSON, so it
 * is escaped), and callers must not pass tokens or secrets in it.
 */
#ifndef SMARTAUTH_OUTCOME_H
#define SMARTAUTH_OUTCOME_H

#include <cjson/cJSON.h>

#include "buf.h"
#include "http.h"

/* The FHIR JSON media type of every gateway body. */
#define OUTCOME_FHIR_JSON	"application/fhir+json; charset=utf-8"

/*
 * Owned OperationOutcome with one issue: severity ("error", "warning",
 * "information"), code (an IssueType: "invalid", "not-found", ...) and
 * diagnostics (may be NULL).  NULL on out of memory.
 */
cJSON		*outcome_new(const char *severity, const char *code, const char *diagnostics);

/* The IssueType code that fits an HTTP error status ("processing" otherwise). */
const char	*outcome_code_for_status(int status);

/*
 * Appends the JSON text of an error OperationOutcome to b.  0, or -1 on
 * out of memory.
 */
int		 outcome_append(struct buf *b, const char *code, const char *diagnostics);

/*
 * Answers status with an OperationOutcome (code from the status when
 * code is NULL), FHIR JSON, CORS, no-store.  0, or -1 on out of memory.
 */
int		 outcome_respond(struct resp *p, int status, const char *code,
		    const char *diagnostics);

/*
 * 401 or 403 for a bearer-token failure (RFC 6750 §3.1): the OperationOutcome
 * plus WWW-Authenticate: Bearer realm="<realm>", error="<error>",
 * error_description="<why>".  error is "invalid_token" (401),
 * "insufficient_scope" (403) or NULL (401 without a token: the challenge
 * names only the realm, §3.1).  why must be static text without quotes
 * or backslashes (other bytes are dropped from the header).
 */
int		 outcome_respond_bearer(struct resp *p, int status, const char *realm,
		    const char *error, const char *why);

#endif
