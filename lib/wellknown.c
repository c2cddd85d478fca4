/*
 * wellknown: discovery documents.  See wellknown.h.
 */
#include <stdio.h>
#include <stdlib.h>

#include "supported.h"
#include "log.h"
#include "wellknown.h"

static int
wk_add_list(cJSON *o, const char *name, const char *const *list)
{
	cJSON *a;

	if ((a = cJSON_AddArrayToObject(o, name)) == NULL)
		return -1;
	for (; *list != NULL; list++)
		if (!cJSON_AddItemToArray(a, cJSON_CreateString(*list)))
			return -1;
	return 0;
}

static int
wk_add_url(cJSON *o, const char *name, const char *base, const char *suffix)
{
	char *u;
	int rc;

	if (asprintf(&u, "%s%s", base, suffix) < 0)
		return -1;
	rc = cJSON_AddStringToObject(o, name, u) != NULL ? 0 : -1;
	free(u);
	return rc;
}

/* Members shared by both documents. */
static int
wk_common(cJSON *o, const struct config *cfg)
{
	if (wk_add_url(o, "authorization_endpoint", cfg->auth_base, "/authorize") == -1 ||
	    wk_add_url(o, "token_endpoint", cfg->auth_base, "/token") == -1 ||
	    wk_add_url(o, "jwks_uri", cfg->auth_base, "/jwks") == -1 ||
	    wk_add_list(o, "grant_types_supported", supported_grant_types) == -1 ||
	    wk_add_list(o, "response_types_supported", supported_response_types) == -1 ||
	    wk_add_list(o, "token_endpoint_auth_methods_supported", supported_token_auth_methods) == -1 ||
	    wk_add_list(o, "scopes_supported", supported_scopes) == -1 ||
	    wk_add_list(o, "code_challenge_methods_supported", supported_code_challenge_methods) == -1)
		return -1;
	if (supported_has(supported_token_auth_methods, "private_key_jwt") &&
	    wk_add_list(o, "token_endpoint_auth_signing_alg_values_supported",
	    supported_token_auth_signing_algs) == -1)
		return -1;
	if (supported_introspection &&
	    (wk_add_url(o, "introspection_endpoint", cfg->auth_base, "/introspect") == -1 ||
	    wk_add_list(o, "introspection_endpoint_auth_methods_supported",
	    supported_introspection_auth_methods) == -1))
		return -1;
	if (supported_revocation &&
	    (wk_add_url(o, "revocation_endpoint", cfg->auth_base, "/revoke") == -1 ||
	    wk_add_list(o, "revocation_endpoint_auth_methods_supported",
	    supported_revocation_auth_methods) == -1))
		return -1;
	if (supported_authorization_response_iss &&
	    !cJSON_AddTrueToObject(o, "authorization_response_iss_parameter_supported"))
		return -1;
	return 0;
}

cJSON *
wellknown_smart(const struct config *cfg)
{
	cJSON *o;

	if ((o = cJSON_CreateObject()) == NULL)
		goto fail;
	/*
	 * SMART 2.2: issuer is required with sso-openid-connect and should
	 * otherwise be omitted (Inferno warns when it is present without it).
	 */
	if (supported_has(supported_capabilities, "sso-openid-connect") &&
	    cJSON_AddStringToObject(o, "issuer", cfg->fhir_base) == NULL)
		goto fail;
	if (wk_common(o, cfg) == -1 ||
	    wk_add_list(o, "capabilities", supported_capabilities) == -1)
		goto fail;
	return o;
fail:
	log_err("out of memory");
	cJSON_Delete(o);
	return NULL;
}

cJSON *
wellknown_openid(const struct config *cfg)
{
	static const char *const subject_types[] = { "public", NULL };
	cJSON *o;

	if ((o = cJSON_CreateObject()) == NULL)
		goto fail;
	/* OIDC Discovery §3: issuer is exactly the iss of our id_tokens. */
	if (cJSON_AddStringToObject(o, "issuer", cfg->fhir_base) == NULL ||
	    wk_common(o, cfg) == -1 ||
	    wk_add_list(o, "subject_types_supported", subject_types) == -1 ||
	    wk_add_list(o, "id_token_signing_alg_values_supported", supported_id_token_algs) == -1 ||
	    wk_add_list(o, "claims_supported", supported_claims) == -1 ||
	    !cJSON_AddFalseToObject(o, "request_parameter_supported") ||
	    !cJSON_AddFalseToObject(o, "request_uri_parameter_supported"))
		goto fail;
	return o;
fail:
	log_err("out of memory");
	cJSON_Delete(o);
	return NULL;
}
