/*
 * clientjwt: private_key_jwt client authentication, the JWT bearer client
 * assertion of RFC 7523 §2.2 and §3 as profiled by SMART App Launch 2.2
 * ("client-confidential-asymmetric", Backend Services authentication).
 *
 * Rules (every failure is invalid_client, RFC 7523 §3.2, with a static
 * error_description naming the rule; the assertion is never echoed or
 * logged):
 *   - client_assertion_type is exactly
 *     urn:ietf:params:oauth:client-assertion-type:jwt-bearer;
 *   - a compact JWS (lib/jwt rules: strict base64url, duplicate-free JSON,
 *     no "crit"); header "alg" one of RS256, RS384, RS512, ES256, ES384,
 *     ES512 (never none, HS*, PS*); "typ", when present, "JWT" (any case);
 *     "jku", when present, exactly the client's registered jwks_uri;
 *   - iss and sub both present and equal: that is the client id; a
 *     client_id form parameter, when sent, must equal it;
 *   - the key: the client's inline jwks or the set at its jwks_uri
 *     (lib/jwksfetch).  With a "kid", exactly one registered key must
 *     carry it (none: unknown kid, which refetches a jwks_uri set once to
 *     pick up a rotated key; two or more: refused as ambiguous), and that
 *     key must fit alg (kty, curve, its own "alg").  Without a "kid", the
 *     registered set must hold exactly one key fitting alg;
 *   - the signature verifies under that key;
 *   - aud is (or, as an array, contains) the token endpoint URL exactly;
 *     exp is in the future and at most CLIENTJWT_MAX_EXP seconds ahead,
 *     each with CLIENTJWT_SKEW seconds of clock skew; nbf, if present, not
 *     in the future; iat is not required; jti is required, at most
 *     CLIENTJWT_MAX_JTI bytes, and never seen before for that client:
 *     smart.jwt_ids keeps it until the assertion could no longer be
 *     accepted (exp + skew); a second use is a replay.
 *
 * Owns, between calls, only a per-process cache of parsed inline key sets
 * (keyed by SHA-256 of client id and jwks text, so a re-registered jwks is
 * parsed afresh); jwks_uri sets are cached by lib/jwksfetch.  The caller
 * (lib/client) loads the client between clientjwt_parse and
 * clientjwt_verify.
 */
#ifndef SMARTAUTH_CLIENTJWT_H
#define SMARTAUTH_CLIENTJWT_H

#include <time.h>

#include "client.h"
#include "jwk.h"
#include "jwt.h"
#include "oauth.h"

#define CLIENTJWT_TYPE	"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#define CLIENTJWT_SKEW		30	/* seconds */
#define CLIENTJWT_MAX_EXP	300	/* exp at most 5 minutes ahead */
#define CLIENTJWT_MAX_JTI	255	/* bytes */

/*
 * Checks what can be checked before the client is known: the assertion
 * type, the JWS syntax, the header (alg, typ) and iss = sub, and that
 * body_client_id (NULL when not sent) names the same client.  Returns the
 * owned parsed token with *client_id borrowed from it, or NULL with *why.
 */
struct jwt	*clientjwt_parse(const char *type, const char *assertion,
		    const char *body_client_id, const char **client_id,
		    const char **why);

/*
 * Checks jwt, issued by client c, at time now for the token endpoint
 * token_url: jku, key selection, signature and claims (everything but
 * the jti's novelty).  OAUTH_OK, or OAUTH_INVALID_CLIENT with *why.
 */
enum oauth_error clientjwt_verify(const struct jwt *jwt, const struct client *c,
		    const char *token_url, time_t now, const char **why);

/*
 * Borrowed key of set for a JWS header's kid (NULL when absent) and alg,
 * by the rules above.  NULL with *why when none; *unknown_kid is set to 1
 * when a kid was given and no key carries it (worth a refetch).
 */
const struct jwk *clientjwt_select_key(const struct jwk_set *set, const char *kid,
		    const char *alg, int *unknown_kid, const char **why);

/* The description of a replayed assertion, wherever it is found out. */
#define CLIENTJWT_REPLAY_WHY	"client assertion jti was already used (replay)"

/*
 * The jti of a verified assertion (borrowed from jwt) and until when it
 * must be remembered (epoch seconds: exp plus the skew).  0, or -1 with
 * *why.
 */
int		 clientjwt_jti_of(const struct jwt *jwt, const char **jti, long long *until,
		    const char **why);

/*
 * Records the jti of a verified assertion (one INSERT; clientjwt_record_jti
 * also purges the client's expired ids now and then).  OAUTH_OK when new;
 * OAUTH_INVALID_CLIENT when already seen (replay);
 * OAUTH_TEMPORARILY_UNAVAILABLE or OAUTH_SERVER_ERROR when the database
 * failed.  *why is set on failure.  clientjwt_record takes the jti as
 * clientjwt_jti_of gives it, and may run inside a transaction; the token
 * endpoint's grants record it in the statement that writes the grant
 * (lib/issue.c), else with clientjwt_record, and purge afterwards.
 */
enum oauth_error clientjwt_record_jti(const struct jwt *jwt, const char *client_id,
		    time_t now, const char **why);
enum oauth_error clientjwt_record(const char *client_id, const char *jti, long long until,
		    const char **why);

/* Deletes the client's expired jti rows, at most once a minute per process. */
void		 clientjwt_purge_maybe(const char *client_id, time_t now);

#endif
