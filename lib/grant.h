/*
 * grant: the grant types of the token endpoint (RFC 6749 §4.1.3, §6) as a
 * table of handlers, so that a new grant (client_credentials, RFC 6749
 * §4.4 with SMART Backend Services) is one more row.
 *
 *   authorization_code  RFC 6749 §4.1.3, RFC 7636 §4.6 (PKCE S256),
 *                       RFC 9700 §4.2.4 (a replayed code revokes what it
 *                       issued), SMART App Launch 2.2 §5.4
 *   refresh_token       RFC 6749 §6, RFC 9700 §4.14.2 (rotation with
 *                       reuse detection), SMART App Launch 2.2 §5.5
 *                       (online_access ends with the login session)
 *   client_credentials  RFC 6749 §4.4, SMART App Launch 2.2 Backend
 *                       Services: system/ scopes within the client's
 *                       registration, no refresh token, no user
 *
 * Each handler runs its whole grant in one database transaction (code or
 * token consumed, token rows written, audit row), and a token is handed
 * back only when that transaction committed.  A failed check on a
 * consumed code commits the burn (and its audit row) and answers the
 * error.  Descriptions are static strings naming the failed rule, never a
 * code, token, verifier or secret.
 *
 * The caller (cgi-bin/token) has already authenticated the client and
 * checked that it may use the grant type.
 */
#ifndef SMARTAUTH_GRANT_H
#define SMARTAUTH_GRANT_H

#include <time.h>

#include <cjson/cJSON.h>

#include "client.h"
#include "config.h"
#include "db.h"
#include "form.h"
#include "jwk.h"
#include "oauth.h"
#include "scope.h"

/* What every grant needs and what is loaded once at start (borrowed). */
struct grant_env {
	const struct config	*cfg;
	const struct jwk	*signer;	/* RS256 key for access and id tokens */
};

/* One token request, client already authenticated (all borrowed). */
struct grant_type;

/*
 * The read of a code or refresh token grant, run before the client is
 * authenticated in the same round trip as the client's own lookup
 * (client_load_stmt).  The grant uses it only when the authenticated
 * client is the one the read assumed; nothing in it is trusted otherwise.
 */
struct grant_prefetch {
	const char		*sql;		/* the read's statement */
	const char		*params[2];
	char			*hash;		/* owned SHA-256 hex of the code or token */
	char			*client_id;	/* owned: the client the read assumed */
	PGresult		*res;		/* owned result, or NULL */
};

/*
 * Fills s with the read of grant type gt (authorization_code and
 * refresh_token only) for the form params and the claimed client_id, and
 * returns 1; 0 when there is nothing to read ahead (pf stays empty), -1 on
 * OOM.  The caller runs s, puts the result into pf->res, and always calls
 * grant_prefetch_clear.
 */
int		 grant_prefetch_stmt(const struct grant_type *gt, const struct form *params,
		    const char *client_id, struct grant_prefetch *pf, struct db_stmt *s);
void		 grant_prefetch_clear(struct grant_prefetch *pf);

struct grant_req {
	const struct grant_env	*env;
	struct grant_prefetch	*prefetch;	/* NULL, or the read done ahead */
	const struct form	*params;	/* the form body */
	const struct client	*client;
	enum client_auth_method	 method;
	const char		*address;	/* REMOTE_ADDR, for the audit trail */
	time_t			 now;
};

/* A handler's outcome. */
struct grant_result {
	enum oauth_error	 error;		/* OAUTH_OK on success */
	const char		*why;		/* static description of a failure */
	cJSON			*body;		/* owned token response on success */
	/* 1 once the client assertion's jti (client->assertion_jti) is
	 * recorded; the caller records it when the grant did not. */
	int			 jti_recorded;
};

struct grant_type {
	const char	*name;			/* grant_type value */
	/* 1 when the client is registered for this grant. */
	int		(*client_allowed)(const struct client *c);
	void		(*run)(const struct grant_req *q, struct grant_result *res);
};

/* The handler for a grant_type value, NULL when unsupported. */
const struct grant_type	*grant_type_lookup(const char *name);

/* NULL-terminated list of the grant types served (for descriptions). */
extern const char *const grant_type_names[];

/*
 * Parameters a token request may carry at most once (RFC 6749 §3.2:
 * "MUST NOT be included more than once"); NULL-terminated.
 */
extern const char *const grant_single_params[];

/*
 * RFC 7636 §4.6 with SMART 2.2 §5.3 (S256 only, "plain" refused) and
 * RFC 9700 §2.1.1 (a verifier without a challenge is refused): NULL when
 * verifier proves the stored challenge (or neither exists), else a
 * static description of why not.  A verifier equal to the challenge
 * is refused (that is the "plain" method under another name).
 */
const char		*grant_pkce_check(const char *challenge, const char *method,
			    const char *verifier);

/*
 * Refresh scope narrowing (RFC 6749 §6): requested may only name scopes
 * the original grant covers (v2 resource scopes by permission bits and
 * type, so patient/Observation.rs narrows a v1 patient wildcard .read scope).  Returns
 * OAUTH_OK with *out an owned scope string (the requested scopes as
 * written), or OAUTH_INVALID_SCOPE with *why set; OAUTH_SERVER_ERROR when
 * out of memory.  requested NULL or "" keeps the original scope.
 */
enum oauth_error	 grant_narrow_scope(const char *original, const char *requested,
			    char **out, const char **why);

/* Longest client_credentials access token a client may ask for (seconds). */
#define GRANT_BACKEND_MAX_LIFETIME	3600

/*
 * The scope a client_credentials request is granted (SMART Backend
 * Services): requested must be non-blank and hold only system/ resource
 * scopes (v1 .read/.write/.* or v2 .cruds, with or without v2 query
 * constraints) and, as the one exception, INTROSPECT_SCOPE; each requested
 * system/ scope must be covered by the registered scope string under
 * scope_set_intersect (same context, a registered scope of that type or
 * "*" granting every permission bit, so a registered wildcard .read scope covers
 * system/Observation.rs; its constraints all among the requested ones);
 * INTROSPECT_SCOPE only when registered verbatim.  A client without a
 * registered scope gets nothing.  Returns OAUTH_OK with *out the granted
 * scope (owned; the requested scopes as written), OAUTH_INVALID_SCOPE with
 * *why, or OAUTH_SERVER_ERROR on out of memory.
 */
enum oauth_error	 grant_backend_scope(const char *registered, const char *requested,
			    char **out, const char **why);

/*
 * Lifetime of a client_credentials access token: the client's
 * auth.client_credentials.access_token_expiration (capped at
 * GRANT_BACKEND_MAX_LIFETIME), else the backend_token_lifetime setting.
 */
long			 grant_backend_lifetime(const struct config *cfg,
			    const struct client *c);

/*
 * Writes a failure to the audit trail (event "token", outcome "failure",
 * detail {grant_type, error, reason}).  client_id may be a claimed,
 * unauthenticated id; it is cut to 128 bytes.
 */
void			 grant_audit_failure(const char *grant_type, const char *client_id,
			    const char *address, enum oauth_error e, const char *why);

#endif
