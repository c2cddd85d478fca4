/*
 * supported: the advertised feature lists.  See supported.h.
 *
 * Keep every entry true: a test checks each advertised grant type and
 * method against the endpoint that should honour it.
 */
#include <stddef.h>
#include <string.h>

#include "supported.h"

const char *const supported_capabilities[] = {
	"launch-ehr", "launch-standalone", "authorize-post",
	"client-public", "client-confidential-symmetric",
	"sso-openid-connect",
	"context-banner", "context-style",
	"context-ehr-patient", "context-ehr-encounter",
	"context-standalone-patient", "context-standalone-encounter",
	"permission-offline", "permission-online",
	"permission-patient", "permission-user",
	"permission-v1", "permission-v2",
	NULL
};

const char *const supported_grant_types[] = {
	"authorization_code", "refresh_token", NULL
};

const char *const supported_response_types[] = {
	"code", NULL
};

const char *const supported_token_auth_methods[] = {
	"client_secret_basic", "client_secret_post", NULL
};

const char *const supported_token_auth_signing_algs[] = {
	NULL
};

const char *const supported_scopes[] = {
	"openid", "fhirUser", "profile", "launch", "launch/patient", "launch/encounter",
	"offline_access", "online_access",
	"patient/*.rs", "user/*.rs", "patient/*.cruds", "user/*.cruds",
	"patient/*.read", "user/*.read", "patient/*.write", "user/*.write",
	NULL
};

/* SMART 2.2 §5.3: S256 only; "plain" SHALL NOT be supported. */
const char *const supported_code_challenge_methods[] = {
	"S256", NULL
};

/* DESIGN §5: id_tokens are RS256. */
const char *const supported_id_token_algs[] = {
	"RS256", NULL
};

const char *const supported_claims[] = {
	"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "fhirUser", NULL
};

const int supported_introspection = 0;
const int supported_revocation = 0;
const int supported_authorization_response_iss = 1;

int
supported_has(const char *const *list, const char *s)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return 1;
	return 0;
}
