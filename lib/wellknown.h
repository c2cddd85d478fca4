/*
 * wellknown: the discovery documents, built from the configuration and
 * the supported-feature lists (supported.h), once per process.
 *
 * - SMART App Launch 2.2 §"Conformance" (.well-known/smart-configuration)
 * - OpenID Connect Discovery 1.0 §3 (.well-known/openid-configuration)
 * Every URL is absolute and derived from fhir_base / auth_base.
 * Returned objects are owned by the caller (cJSON_Delete).
 */
#ifndef SMARTAUTH_WELLKNOWN_H
#define SMARTAUTH_WELLKNOWN_H

#include <cjson/cJSON.h>

#include "config.h"

cJSON	*wellknown_smart(const struct config *cfg);
cJSON	*wellknown_openid(const struct config *cfg);

#endif
