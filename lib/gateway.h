/*
 * gateway: the FHIR resource gateway (DESIGN §1 "/fhir/..." and §4 "Who may do
 * what"): every request under the FHIR base that is not discovery.
 *
 * GET [base]/metadata is public (the CapabilityStatement, lib/capstmt).
 * Everything else needs "Authorization: Bearer" with one of this
 * server's access tokens (lib/bearer: signature, iss/aud = FHIR base,
 * exp, typ at+jwt, and the smart.access_tokens row, so a revoked token
 * stops working at once), then SMART scopes (v1 and v2, v2 query
 * constraints, patient/ compartments), then the AccessPolicies
 * (lib/policydb, default deny) on the request, confined to the
 * compartment first for patient-scoped searches.  The built-in store
 * (lib/store) answers FHIR R4 JSON: read, vread, instance history,
 * search (GET and POST _search), create, update (If-Match, update as
 * create), delete, batch and transaction bundles.
 *
 *   401 + WWW-Authenticate: Bearer error="invalid_token"    no or bad token
 *   403 + WWW-Authenticate: Bearer error="insufficient_scope"  not allowed
 *   404 for resources a compartment or constraint hides (the same answer
 *       whether or not they exist: no existence oracle)
 *   503 + Retry-After                                       database down
 * Every response carries CORS headers; errors are OperationOutcomes.
 *
 * Owns the public signing keys, the search parameter registry and the
 * CapabilityStatement text.  Never logs tokens, bodies or query strings.
 */
#ifndef SMARTAUTH_GATEWAY_H
#define SMARTAUTH_GATEWAY_H

#include "config.h"
#include "http.h"

struct gateway;

/*
 * Loads what the gateway needs before the first request: the public
 * halves of the keys in cfg->key_dir, and (when the database answers) the
 * search parameters and the CapabilityStatement; both are retried on
 * demand when the database is down at start.  cfg is borrowed for the
 * gateway's lifetime.  NULL on failure (logged).
 */
struct gateway	*gateway_new(const struct config *cfg);
void		 gateway_free(struct gateway *g);

/* The serve_handler of the fhir program (ctx is the struct gateway). */
int		 gateway_handle(struct req *r, struct resp *p, void *ctx);

#endif
