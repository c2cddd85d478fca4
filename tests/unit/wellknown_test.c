/*
 * wellknown_test: discovery documents field by field, and their
 * agreement with the feature lists (nothing advertised that is not in
 * supported.c, every URL absolute and under the configured bases).
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "supported.h"
#include "t.h"
#include "wellknown.h"

static const char *
getenv_fake(const char *name)
{
	if (strcmp(name, "SMARTAUTH_DATABASE") == 0)
		return "dbname=x";
	if (strcmp(name, "SMARTAUTH_KEY_DIR") == 0)
		return "/tmp";
	if (strcmp(name, "SMARTAUTH_FHIR_BASE") == 0)
		return "https://ehr.example.org/smart/fhir";
	return NULL;
}

static int
list_equals(const cJSON *a, const char *const *list)
{
	int i = 0;
	const cJSON *e;

	if (!cJSON_IsArray(a))
		return 0;
	cJSON_ArrayForEach(e, a) {
		if (!cJSON_IsString(e) || list[i] == NULL || strcmp(e->valuestring, list[i]) != 0)
			return 0;
		i++;
	}
	return list[i] == NULL;
}

static const char *
str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int
main(void)
{
	struct config cfg;
	char err[256];
	cJSON *s, *o;

	if (config_load(&cfg, "/nonexistent", getenv_fake, err, sizeof(err)) != 0 &&
	    config_load(&cfg, NULL, getenv_fake, err, sizeof(err)) != 0) {
		printf("not ok 1 - config: %s\n1..1\n", err);
		return 1;
	}
	s = wellknown_smart(&cfg);
	o = wellknown_openid(&cfg);
	T_OK(s != NULL && o != NULL, "documents built");
	T_EQ_STR(str(s, "authorization_endpoint"), "https://ehr.example.org/smart/auth/authorize",
	    "authorization_endpoint absolute, under the prefix");
	T_EQ_STR(str(s, "token_endpoint"), "https://ehr.example.org/smart/auth/token", "token_endpoint");
	T_EQ_STR(str(s, "jwks_uri"), "https://ehr.example.org/smart/auth/jwks", "jwks_uri");
	T_OK(list_equals(cJSON_GetObjectItem(s, "capabilities"), supported_capabilities),
	    "capabilities are exactly the implemented ones");
	T_OK(list_equals(cJSON_GetObjectItem(s, "grant_types_supported"), supported_grant_types),
	    "grant types are exactly the implemented ones");
	T_OK(list_equals(cJSON_GetObjectItem(s, "code_challenge_methods_supported"),
	    (const char *const[]){ "S256", NULL }), "PKCE: S256 only, never plain");
	T_OK(list_equals(cJSON_GetObjectItem(s, "token_endpoint_auth_methods_supported"),
	    supported_token_auth_methods), "token auth methods from features");
	T_OK(list_equals(cJSON_GetObjectItem(s, "scopes_supported"), supported_scopes), "scopes from features");
	T_OK(list_equals(cJSON_GetObjectItem(s, "response_types_supported"), supported_response_types),
	    "response types from features");
	T_OK((cJSON_GetObjectItem(s, "issuer") != NULL) ==
	    supported_has(supported_capabilities, "sso-openid-connect"),
	    "issuer present exactly when sso-openid-connect is advertised");
	T_OK((cJSON_GetObjectItem(s, "introspection_endpoint") != NULL) == supported_introspection,
	    "introspection endpoint only when implemented");
	T_OK((cJSON_GetObjectItem(s, "revocation_endpoint") != NULL) == supported_revocation,
	    "revocation endpoint only when implemented");
	T_OK((cJSON_GetObjectItem(s, "token_endpoint_auth_signing_alg_values_supported") != NULL) ==
	    supported_has(supported_token_auth_methods, "private_key_jwt"),
	    "signing algs only with private_key_jwt");

	T_EQ_STR(str(o, "issuer"), "https://ehr.example.org/smart/fhir", "OIDC issuer is the FHIR base");
	T_EQ_STR(str(o, "jwks_uri"), str(s, "jwks_uri"), "same jwks_uri in both documents");
	T_EQ_STR(str(o, "token_endpoint"), str(s, "token_endpoint"), "same token endpoint in both");
	T_OK(list_equals(cJSON_GetObjectItem(o, "id_token_signing_alg_values_supported"),
	    (const char *const[]){ "RS256", NULL }), "id tokens RS256");
	T_OK(list_equals(cJSON_GetObjectItem(o, "subject_types_supported"),
	    (const char *const[]){ "public", NULL }), "public subjects");
	T_OK(cJSON_IsArray(cJSON_GetObjectItem(o, "claims_supported")), "claims_supported listed");
	T_OK(supported_has(supported_claims, "fhirUser"), "fhirUser claim supported");
	cJSON_Delete(s);
	cJSON_Delete(o);
	config_free(&cfg);
	return t_done();
}
