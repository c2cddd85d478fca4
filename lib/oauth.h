/*
 * oauth: the protocol outcomes of RFC 6749 §4.1.2.1 and §5.2, OpenID
 * Connect Core §3.1.2.6 and RFC 6750 §3.1 as one typed enum with a names
 * table, rendered by one function.
 *
 * Never puts secrets into descriptions: callers describe the failed rule
 * ("code_verifier does not match"), not the values involved.
 */
#ifndef SMARTAUTH_OAUTH_H
#define SMARTAUTH_OAUTH_H

#include "http.h"

enum oauth_error {
	OAUTH_OK = 0,
	OAUTH_INVALID_REQUEST,
	OAUTH_INVALID_CLIENT,
	OAUTH_INVALID_GRANT,
	OAUTH_UNAUTHORIZED_CLIENT,
	OAUTH_UNSUPPORTED_GRANT_TYPE,
	OAUTH_INVALID_SCOPE,
	OAUTH_ACCESS_DENIED,
	OAUTH_UNSUPPORTED_RESPONSE_TYPE,
	OAUTH_SERVER_ERROR,
	OAUTH_TEMPORARILY_UNAVAILABLE,
	OAUTH_LOGIN_REQUIRED,
	OAUTH_CONSENT_REQUIRED,
	OAUTH_INTERACTION_REQUIRED,
	OAUTH_INVALID_TOKEN,
	OAUTH_INSUFFICIENT_SCOPE
};

/* The wire name ("invalid_grant"). */
const char	*oauth_error_name(enum oauth_error e);
/* The token endpoint's HTTP status for e (400, 401 for invalid_client, 503, 500). */
int		 oauth_error_status(enum oauth_error e);
/*
 * Renders e as the token endpoint's JSON error (RFC 6749 §5.2) with
 * no-store; invalid_client is 401 with WWW-Authenticate, unavailable is 503
 * with Retry-After.
 */
int		 oauth_error_respond(struct resp *p, enum oauth_error e, const char *description);

/*
 * As oauth_error_respond, for an endpoint that authenticates clients
 * (token, introspection, revocation): invalid_client is 401 with
 * "WWW-Authenticate: Basic" only when the request carried an Authorization
 * header (authorization, NULL when absent), RFC 6749 §5.2.
 */
int		 oauth_error_respond_client(struct resp *p, enum oauth_error e,
		    const char *description, const char *authorization);

/* The RFC 6749 §5.2 JSON error body with no-store, and no WWW-Authenticate
 * (the caller sets the challenge it needs). */
int		 oauth_error_render(struct resp *p, int status, const char *error,
		    const char *description);

#endif
