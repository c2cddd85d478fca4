/*
 * revoke: RFC 7009 token revocation on behalf of an authenticated client.
 *
 *   - an access token (a JWT signed by this server) sets revoked_at on its
 *     smart.access_tokens row; the FHIR gateway (lib/bearer) reads that
 *     column on every request, so the token stops working at once;
 *   - a refresh token revokes its whole grant family: every refresh token
 *     and every access token issued from it (RFC 7009 §2.1: "SHOULD also
 *     invalidate all access tokens based on the same authorization grant").
 *
 * A client revokes only its own tokens: another client's token, an unknown,
 * expired or malformed one changes nothing and still answers 200 (RFC 7009
 * §2.2: "invalid tokens do not cause an error response"), so the endpoint
 * is no oracle for which tokens exist.  The token's shape tells its kind;
 * token_type_hint is ignored, whatever its value (§2.1: the server may
 * ignore it; we never answer unsupported_token_type because both kinds are
 * revocable).
 *
 * Every call that changed something, or was asked about a token it could
 * not revoke, writes one "revoke" row to the audit trail in the same
 * transaction.  Owns nothing between calls; never logs a token.
 */
#ifndef SMARTAUTH_REVOKE_H
#define SMARTAUTH_REVOKE_H

#include <time.h>

#include "config.h"
#include "jwk.h"

/* What one revocation did. */
struct revoke_outcome {
	int	access;		/* 1: the token was access-token shaped */
	long	access_revoked;	/* rows that went from live to revoked */
	long	refresh_revoked;
};

/*
 * Revokes token for client_id (authenticated by the caller).  keys
 * verifies access tokens.  Returns 0 (whatever was found; *o says what
 * happened), or -1 when the database failed (db_unavailable() tells
 * whether to answer 503) or memory ran out.
 */
int	revoke_token(const struct config *cfg, const struct jwk_set *keys,
	    const char *client_id, const char *token, const char *address, time_t now,
	    struct revoke_outcome *o);

#endif
