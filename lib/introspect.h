/*
 * introspect: RFC 7662 token introspection with the SMART App Launch 2.2
 * launch-context members (§5.9 "Token Introspection": active, scope,
 * client_id, exp, plus iat, sub, iss, aud, token_type, patient,
 * encounter, fhirContext, fhirUser; "iss" and "sub" equal those of the
 * id_token when one was issued, which holds by construction: both carry
 * iss = FHIR base and sub = user id).
 *
 * Tokens it knows:
 *   - access tokens (RFC 9068 JWTs signed by this server): the signature
 *     is verified with the server's keys (lib/bearer's offline check,
 *     which remembers verified tokens), then ONE query reads the
 *     smart.access_tokens row by jti, already filtered for revocation,
 *     expiry by the database clock, and an active client and user;
 *   - refresh tokens: by SHA-256 hash in smart.refresh_tokens, live only
 *     while unused (rotation), unrevoked, unexpired, client and user
 *     active and, for online_access, the login session alive.
 * Anything else (unknown, expired, revoked, malformed, another client's
 * token for a caller who may not see it) is exactly {"active": false}
 * (RFC 7662 §2.2: no hint why).
 *
 * Who may introspect what (decided here, enforced by introspect_token):
 * a confidential client its own tokens; a caller holding
 * INTROSPECT_SCOPE (a client registered with it in its "scope", or a
 * bearer token granted it) every client's tokens.
 *
 * Owns nothing between calls; reads only.  Never logs a token.
 */
#ifndef SMARTAUTH_INTROSPECT_H
#define SMARTAUTH_INTROSPECT_H

#include <time.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "db.h"
#include "jwk.h"

/*
 * The scope that lets its holder introspect any client's tokens.  Not a
 * FHIR scope: it is granted only by client_credentials, and only to a
 * client whose registered "scope" lists it.
 */
#define INTROSPECT_SCOPE	"smartauth/introspect"

/* The authenticated caller (borrowed). */
struct introspect_caller {
	const char	*client_id;
	int		 any_client;	/* holds INTROSPECT_SCOPE */
};

/* What an active response is built from (all borrowed). */
struct introspect_row {
	int		 access;	/* 1 access token, 0 refresh token */
	const char	*client_id;
	const char	*user_id;	/* NULL: backend token (sub = client_id) */
	const char	*scope;
	const cJSON	*launch_context; /* object or NULL */
	long long	 iat;
	long long	 exp;
};

/* 1 when the space-separated scope string holds INTROSPECT_SCOPE. */
int	 introspect_scope_grants(const char *scope);

/* Owned {"active": false}; NULL on OOM. */
cJSON	*introspect_inactive(void);

/*
 * Owned active response for row: active, scope, client_id, exp, iat, sub,
 * iss, aud (FHIR base), token_type ("Bearer", or "refresh_token" for a
 * refresh token), and from the launch context patient, encounter (strings),
 * fhirContext (array of objects) and fhirUser (absolute URL).  NULL on OOM.
 */
cJSON	*introspect_active(const struct config *cfg, const struct introspect_row *row);

/*
 * Introspects token for caller.  keys verifies access tokens.  Returns 0
 * with *out the owned response (active or not) and *config_version the
 * smart.config_version read in the same statement (so a caller
 * remembered by introspect_memo_* can be re-checked without another round
 * trip), or -1 when the database failed or memory ran out
 * (db_unavailable() tells whether to answer 503).
 */
int	 introspect_token(const struct config *cfg, const struct jwk_set *keys,
	    const struct introspect_caller *caller, const char *token, time_t now,
	    cJSON **out, long long *config_version);

/*
 * The same in three steps, so that the lookup can share a round trip with
 * another statement (db_exec_batch): introspect_prepare checks the token
 * offline (an access token's signature and claims, with lib/bearer's
 * memory of verified tokens; a refresh token's hash) and never touches the
 * database; introspect_stmt gives the lookup (parameters borrowed from
 * pd); introspect_result builds the answer from its result (NULL: the
 * statement failed, -1).  Clear pd with introspect_pending_clear.
 */
struct introspect_pending {
	int		 access;	/* access-token shaped */
	cJSON		*claims;	/* owned: verified access token claims, or NULL */
	char		*hash;		/* owned: refresh token hash, or NULL */
	const char	*params[1];	/* the lookup's parameter */
};

int	 introspect_prepare(const struct config *cfg, const struct jwk_set *keys,
	    const char *token, time_t now, struct introspect_pending *pd);
void	 introspect_stmt(struct introspect_pending *pd, struct db_stmt *s);
int	 introspect_result(const struct config *cfg, const struct introspect_caller *caller,
	    struct introspect_pending *pd, PGresult *res, cJSON **out, long long *config_version);
void	 introspect_pending_clear(struct introspect_pending *pd);

/* The current smart.config_version into *v; 0, or -1 (database failed). */
int	 introspect_config_version(long long *v);

/*
 * A small per-process memo of callers that authenticated with a client
 * secret (resource servers introspect with the same credentials on every
 * request; a full authentication costs a database round trip and a
 * bcrypt check).  An entry is keyed by HMAC-SHA256 of the credential
 * text (the whole Basic header value, or client id and secret of a
 * client_secret_post request) under a random per-process key, so no
 * secret is kept; it holds the caller and the config_version read BEFORE
 * the full authentication, and it lives at most INTROSPECT_MEMO_TTL
 * seconds.  Every Client change through smart.put/delete bumps
 * config_version, which introspect_token reads with the token, so a hit
 * whose version no longer matches is dropped (introspect_memo_forget) and
 * the caller authenticated again before anything is answered.  Nothing
 * but successful secret authentications is ever remembered.
 */
#define INTROSPECT_MEMO_TTL	300

/*
 * On a hit fills caller (client_id borrowed from the memo until the next
 * memo call) and *version, and returns 1; 0 on a miss.
 */
int	 introspect_memo_get(const char *credential, size_t len, time_t now,
	    struct introspect_caller *caller, long long *version);
/* Remembers an authenticated caller under credential; best effort. */
void	 introspect_memo_put(const char *credential, size_t len, time_t now,
	    const struct introspect_caller *caller, long long version);
/* Forgets credential (after a version mismatch). */
void	 introspect_memo_forget(const char *credential, size_t len);

#endif
