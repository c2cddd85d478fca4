/*
 * oauth: error names and rendering.  See oauth.h.
 */
#include <stddef.h>

#include <cjson/cJSON.h>

#include "oauth.h"

static const char *const oauth_names[] = {
	[OAUTH_OK] = "ok",
	[OAUTH_INVALID_REQUEST] = "invalid_request",
	[OAUTH_INVALID_CLIENT] = "invalid_client",
	[OAUTH_INVALID_GRANT] = "invalid_grant",
	[OAUTH_UNAUTHORIZED_CLIENT] = "unauthorized_client",
	[OAUTH_UNSUPPORTED_GRANT_TYPE] = "unsupported_grant_type",
	[OAUTH_INVALID_SCOPE] = "invalid_scope",
	[OAUTH_ACCESS_DENIED] = "access_denied",
	[OAUTH_UNSUPPORTED_RESPONSE_TYPE] = "unsupported_response_type",
	[OAUTH_SERVER_ERROR] = "server_error",
	[OAUTH_TEMPORARILY_UNAVAILABLE] = "temporarily_unavailable",
	[OAUTH_LOGIN_REQUIRED] = "login_required",
	[OAUTH_CONSENT_REQUIRED] = "consent_required",
	[OAUTH_INTERACTION_REQUIRED] = "interaction_required",
	[OAUTH_INVALID_TOKEN] = "invalid_token",
	[OAUTH_INSUFFICIENT_SCOPE] = "insufficient_scope",
};

const char *
oauth_error_name(enum oauth_error e)
{
	if ((size_t)e >= sizeof(oauth_names) / sizeof(oauth_names[0]))
		return "server_error";
	return oauth_names[e];
}

int
oauth_error_status(enum oauth_error e)
{
	switch (e) {
	case OAUTH_OK:				return 200;
	case OAUTH_INVALID_CLIENT:
	case OAUTH_INVALID_TOKEN:		return 401;
	case OAUTH_INSUFFICIENT_SCOPE:		return 403;
	case OAUTH_SERVER_ERROR:		return 500;
	case OAUTH_TEMPORARILY_UNAVAILABLE:	return 503;
	default:				return 400;
	}
}

int
oauth_error_respond(struct resp *p, enum oauth_error e, const char *description)
{
	if (e == OAUTH_TEMPORARILY_UNAVAILABLE)
		return http_resp_unavailable(p, 2);
	return http_resp_oauth_error(p, oauth_error_status(e), oauth_error_name(e), description);
}

int
oauth_error_render(struct resp *p, int status, const char *error, const char *description)
{
	cJSON *o;
	int rc = -1;

	if ((o = cJSON_CreateObject()) == NULL)
		return -1;
	if (cJSON_AddStringToObject(o, "error", error) == NULL ||
	    (description != NULL &&
	    cJSON_AddStringToObject(o, "error_description", description) == NULL))
		goto out;
	http_resp_no_store(p);
	rc = http_resp_json(p, status, o);
out:
	cJSON_Delete(o);
	return rc;
}

int
oauth_error_respond_client(struct resp *p, enum oauth_error e, const char *description,
    const char *authorization)
{
	if (e != OAUTH_INVALID_CLIENT)
		return oauth_error_respond(p, e, description);
	/*
	 * RFC 6749 §5.2: a client that authenticated via the Authorization
	 * header gets 401 with a challenge for the scheme the endpoint takes
	 * there (Basic); any other client gets 401 without one (client
	 * libraries treat a challenge as a request to authenticate over HTTP,
	 * not as an OAuth error).
	 */
	if (authorization != NULL && *authorization != '\0')
		http_resp_header(p, "WWW-Authenticate", "Basic realm=\"smartauth\"");
	return oauth_error_render(p, 401, oauth_error_name(e), description);
}
