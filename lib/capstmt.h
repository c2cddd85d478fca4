/*
 * capstmt: the CapabilityStatement of the FHIR gateway (GET [base]/metadata,
 * FHIR R4 §3.1.0.11 "capabilities"; SMART App Launch 2.2 §conformance,
 * "Declaring support for OAuth2 endpoints").
 *
 * Lists the resource types the built-in store serves (every type named
 * in smart.search_params plus every type holding data), the interactions
 * the gateway implements for each, their search parameters, includes and
 * revincludes, and the batch/transaction system interactions.
 * rest.security carries the SMART-on-FHIR service coding and the
 * oauth-uris extension whose authorize, token, introspect and revoke
 * URLs are built exactly as lib/wellknown builds the discovery document
 * (cfg->auth_base + "/authorize" ...; introspect and revoke only when
 * lib/supported says they exist), so the two can never disagree.
 *
 * Built once when the program starts; owns nothing afterwards.  Never
 * advertises what lib/supported or the gateway does not implement.
 */
#ifndef SMARTAUTH_CAPSTMT_H
#define SMARTAUTH_CAPSTMT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "fhirsearch.h"

#define CAPSTMT_OAUTH_URIS \
	"http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"

/*
 * Owned CapabilityStatement for the types of reg (other than "Resource")
 * and data_types (may hold duplicates; n of them), or NULL on out of
 * memory.  date is the FHIR dateTime to state.
 */
cJSON	*capstmt_new(const struct config *cfg, const struct fs_registry *reg,
	    const char *const *data_types, size_t n, const char *date);

/*
 * The distinct resource types holding current data in the store: an
 * owned array of n owned strings (capstmt_types_free), or -1 when the
 * database failed.
 */
int	 capstmt_types_load(char ***types, size_t *n);
void	 capstmt_types_free(char **types, size_t n);

#endif
