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
	"client-public", "client-confidential-symmetric", "client-confidential-asymmetric",
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
	"authorization_code", "refresh_token", "client_credentials", NULL
};

const char *const supported_response_types[] = {
	"code", NULL
};

const char *const supported_token_auth_methods[] = {
	"client_secret_basic", "client_secret_post", "private_key_jwt", NULL
};

/*
 * Client assertions (SMART 2.2 §client-confidential-asymmetric: RS384 and
 * ES384 SHALL be supported; the others are accepted too).
 */
const char *const supported_token_auth_signing_algs[] = {
	"RS384", "ES384", "RS256", "ES256", "RS512", "ES512", NULL
};

/*
 * RFC 7662 §2.1 and RFC 8414 §2: a caller of /introspect authenticates as
 * a confidential client (or with a bearer token carrying the introspection
 * scope, which has no registered method name); /revoke also takes public
 * clients by client_id (RFC 7009 §2.1, "none").
 */
const char *const supported_introspection_auth_methods[] = {
	"client_secret_basic", "client_secret_post", "private_key_jwt", NULL
};

const char *const supported_revocation_auth_methods[] = {
	"client_secret_basic", "client_secret_post", "private_key_jwt", "none", NULL
};

const char *const supported_scopes[] = {
	"openid", "fhirUser", "profile", "launch", "launch/patient", "launch/encounter",
	"offline_access", "online_access",
	"patient/*.rs", "user/*.rs", "patient/*.cruds", "user/*.cruds",
	"patient/*.read", "user/*.read", "patient/*.write", "user/*.write",
	"system/*.rs", "system/*.cruds", "system/*.read", "system/*.write",
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

const int supported_introspection = 1;
const int supported_revocation = 1;
const int supported_authorization_response_iss = 1;

int
supported_has(const char *const *list, const char *s)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return 1;
	return 0;
}
