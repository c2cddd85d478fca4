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
	NULL
};

const char *const supported_grant_types[] = {
	NULL
};

const char *const supported_response_types[] = {
	NULL
};

const char *const supported_token_auth_methods[] = {
	NULL
};

const char *const supported_token_auth_signing_algs[] = {
	NULL
};

const char *const supported_scopes[] = {
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
const int supported_authorization_response_iss = 0;

int
supported_has(const char *const *list, const char *s)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return 1;
	return 0;
}
